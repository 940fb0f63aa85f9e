"""The compressed networks' building blocks, written for speed on a CPU, same results.

At 512 px the cascade spends about a third of its time outside the convolutions, in
passes over full-resolution maps that only move memory: ReLU, 2×2 max-pooling, ×2
upsampling and the reflection pad in front of every 3×3 conv. Each helper here saves
one such pass (measured per 16-channel 512² map on 2 cores):

- ``conv3x3``: ReLU fused into oneDNN's convolution when no gradient is needed (the
  in-place ReLU pass was ~1 ms); with autograd (Gatys) it is the plain conv + ReLU.
- ``max_pool2``: the maximum of the four strided views (1.2 ms) instead of
  ``F.max_pool2d``, which also computes the argmax indices (2.6 ms).
- ``upsample2_reflect_pad1``: nearest ×2 upsampling written straight into the padded
  buffer of the next conv: one copy where interpolate + pad made two.

All of them keep channels-last maps channels-last. ``tests/models/test_fast_paths.py``
holds each against the plain PyTorch operation.
"""

import torch
from torch import nn
from torch.nn import functional as F


def _fused_relu_conv_available() -> bool:
    ops = getattr(torch.ops, "mkldnn", None)
    return torch.backends.mkldnn.is_available() and hasattr(ops, "_convolution_pointwise")


_FUSED = _fused_relu_conv_available()


def conv3x3(
    x: torch.Tensor,
    conv: nn.Conv2d,
    *,
    relu: bool = True,
    padded: bool = False,
    params: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """``relu(conv(reflect_pad1(x)))``; ``padded=True`` when ``x`` already carries its pad.

    ``params``: (weight, bias) to use instead of ``conv``'s (``fold_affine``'s output).
    """
    if not padded:
        x = reflect_pad1(x)
    weight, bias = params if params is not None else (conv.weight, conv.bias)
    if relu and _can_fuse(x, weight):
        return torch.ops.mkldnn._convolution_pointwise(
            x, weight, bias, [0, 0], [1, 1], [1, 1], 1, "relu", [], ""
        )
    out = F.conv2d(x, weight, bias)
    return F.relu_(out) if relu else out


def _can_fuse(x: torch.Tensor, weight: torch.Tensor) -> bool:
    # The fused op has no autograd formula: Gatys differentiates through the encoders.
    needs_grad = torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)
    return (
        _FUSED
        and not needs_grad
        and x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.bfloat16)
        and weight.dtype == x.dtype
    )


def fold_affine(
    conv: nn.Conv2d, matrix: torch.Tensor, shift: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of ``conv ∘ (x ↦ M·x + b)``, M (Cin, Cin) and b (Cin, 1).

    Exact up to rounding for a reflection-padded conv: a per-pixel affine map commutes
    with the padding. Lets a feature transform ride on the next convolution instead of
    costing a pass of its own over the (C, H, W) map.
    """
    w = conv.weight.to(matrix.dtype)
    weight = torch.einsum("ojkl,ji->oikl", w, matrix)
    bias = conv.bias.to(matrix.dtype) + torch.einsum("ojkl,j->o", w, shift[:, 0])
    return weight.to(conv.weight), bias.to(conv.bias)


def max_pool2(x: torch.Tensor) -> torch.Tensor:
    """``F.max_pool2d(x, 2, 2, ceil_mode=True)``: odd sides go through PyTorch's kernel."""
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        return F.max_pool2d(x, 2, 2, ceil_mode=True)
    top = torch.maximum(x[..., 0::2, 0::2], x[..., 0::2, 1::2])
    bottom = torch.maximum(x[..., 1::2, 0::2], x[..., 1::2, 1::2])
    if top.requires_grad or bottom.requires_grad:
        return torch.maximum(top, bottom)
    return torch.maximum(top, bottom, out=top)


def upsample2_reflect_pad1(x: torch.Tensor) -> torch.Tensor:
    """``reflect_pad1(F.interpolate(x, scale_factor=2, mode="nearest"))`` in one copy."""
    n, c, h, w = x.shape
    out = torch.empty(
        (n, c, 2 * h + 2, 2 * w + 2),
        dtype=x.dtype,
        device=x.device,
        memory_format=torch.channels_last,
    )
    inner = out[:, :, 1:-1, 1:-1].unflatten(2, (h, 2)).unflatten(4, (w, 2))
    inner.copy_(x[:, :, :, None, :, None].expand(n, c, h, 2, w, 2))
    return fill_reflect_border(out)


def upsample2_bilinear_reflect_pad1(x: torch.Tensor) -> torch.Tensor:
    """``reflect_pad1(F.interpolate(x, scale_factor=2, mode="bilinear"))``, half-pixel centres.

    Nearest ×2 repeats each pixel into a 2×2 block; the compressed decoders do not fully
    smooth those blocks out, and after three of them a faint 8-px grid shows in flat areas
    (sky, bokeh). Bilinear interpolation leaves no blocks to smooth.
    """
    return reflect_pad1(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))


def reflect_pad1(x: torch.Tensor) -> torch.Tensor:
    """``F.pad(x, (1, 1, 1, 1), mode="reflect")`` for (N, C, H ≥ 2, W ≥ 2), kept channels-last.

    Every 3×3 conv of the encoders and decoders is preceded by this pad, so its cost is
    paid ~20 times per cascade level. ``F.pad``'s reflection kernel is ~4× slower than
    one copy on channels-last maps (measured: 20 ms vs 5 ms on 16×768×1024); this is one
    copy plus four one-pixel strips, with the same result bit for bit.
    """
    n, c, h, w = x.shape
    out = torch.empty(
        (n, c, h + 2, w + 2), dtype=x.dtype, device=x.device, memory_format=torch.channels_last
    )
    out[:, :, 1:-1, 1:-1] = x
    return fill_reflect_border(out)


def fill_reflect_border(out: torch.Tensor) -> torch.Tensor:
    """Write the one-pixel reflection border of ``out`` from its interior, in place."""
    out[:, :, 0, 1:-1] = out[:, :, 2, 1:-1]
    out[:, :, -1, 1:-1] = out[:, :, -3, 1:-1]
    out[:, :, :, 0] = out[:, :, :, 2]
    out[:, :, :, -1] = out[:, :, :, -3]
    return out
