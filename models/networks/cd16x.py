"""16×-compressed VGG-19 encoders and decoders, levels relu1_1 … relu5_1.

From Collaborative Distillation (Wang et al., CVPR 2020): each level is its own small
encoder distilled from VGG-19 (the files differ per level, so a level's features come from
its own encoder), paired with a decoder trained to invert it. Module names match the
weight files (``conv0``, ``conv11`` …, ``convXY_aux``) so state dicts load with
``strict=True``.

Input: RGB in [0, 1], shape (N, 3, H, W). ``conv0`` plays the same fixed colour-space role
as index 0 of the normalised VGG. The networks are meant to run channels-last (the
``Stylizer`` converts them): oneDNN's convolutions and max-pooling are 2–8× faster on
that layout with these narrow (16–128 channel) maps, and every op here keeps it.
"""

from typing import Literal

import torch
from torch import nn

from models.networks.layers import (
    conv3x3,
    fold_affine,
    max_pool2,
    upsample2_bilinear_reflect_pad1,
    upsample2_reflect_pad1,
)

Upsample = Literal["nearest", "bilinear"]

LEVELS = (1, 2, 3, 4, 5)
# (name, in, out) per 3×3 conv, in forward order; "pool" marks a 2×2 max-pool.
_ENCODER_PLAN: tuple[tuple[str, int, int] | str, ...] = (
    ("conv11", 3, 16), ("conv12", 16, 16), "pool",
    ("conv21", 16, 32), ("conv22", 32, 32), "pool",
    ("conv31", 32, 64), ("conv32", 64, 64), ("conv33", 64, 64), ("conv34", 64, 64), "pool",
    ("conv41", 64, 128), ("conv42", 128, 128), ("conv43", 128, 128), ("conv44", 128, 128), "pool",
    ("conv51", 128, 128),
)  # fmt: skip
CHANNELS = {1: 24, 2: 32, 3: 64, 4: 128, 5: 128}  # width of the compressed relu{level}_1
VGG_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}  # width the *_aux convs map to


def _plan(level: int) -> list[tuple[str, int, int] | str]:
    end = next(
        i for i, step in enumerate(_ENCODER_PLAN) if step != "pool" and step[0] == f"conv{level}1"
    )
    plan = list(_ENCODER_PLAN[: end + 1])
    if level == 1:  # the level-1 file is wider: conv11 has 24 channels
        plan = [("conv11", 3, 24)]
    return plan


class CompressedEncoder(nn.Module):
    """RGB → compressed relu{level}_1 features (N, CHANNELS[level], H/2^(level-1), W/2^(level-1))."""

    def __init__(self, level: int) -> None:
        super().__init__()
        if level not in LEVELS:
            raise ValueError(f"compressed encoders exist for levels {LEVELS}, not {level}")
        self.level = level
        self.plan = _plan(level)
        self.conv0 = nn.Conv2d(3, 3, 1)
        for step in self.plan:
            if step != "pool":
                name, cin, cout = step
                self.add_module(name, nn.Conv2d(cin, cout, 3))
        # 1×1 convs onto VGG-19's widths, kept from distillation: approximate VGG features.
        for lv in range(1, level + 1):
            self.add_module(
                f"conv{lv}1_aux",
                nn.Conv2d(CHANNELS[lv] if lv == level else _width(lv), VGG_CHANNELS[lv], 1),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[-1]

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Compressed relu1_1 … relu{level}_1 in one pass, shallow first, in the
        network's dtype (an image comes in as float32: cast here, three channels are cheap)."""
        x = self.conv0(x.to(self.conv11.weight.dtype))
        out = []
        for step in self.plan:
            if step == "pool":
                x = max_pool2(x)
                continue
            x = conv3x3(x, getattr(self, step[0]))
            if step[0].endswith("1"):
                out.append(x)
        return out

    @torch.no_grad()
    def fold_input_conv(self) -> None:
        """Merge the 1×1 ``conv0`` into ``conv11``: one full-resolution pass fewer.

        Exact up to float rounding: a per-pixel affine map commutes with reflection
        padding, so conv11(pad(W₀x + b₀)) = (conv11 ∘ W₀)(pad(x)) + conv11's taps · b₀.
        The state dict no longer matches the weight file afterwards (no ``conv0``).
        """
        if isinstance(self.conv0, nn.Identity):
            return
        w0, b0 = self.conv0.weight[:, :, 0, 0], self.conv0.bias  # (3 out, 3 in), (3,)
        conv = self.conv11
        conv.bias.add_(torch.einsum("oikl,i->o", conv.weight, b0))
        conv.weight.copy_(torch.einsum("oikl,ij->ojkl", conv.weight, w0))
        self.conv0 = nn.Identity()

    def vgg_features(self, x: torch.Tensor, levels: tuple[int, ...]) -> dict[int, torch.Tensor]:
        """Approximate VGG-19 relu{level}_1 for each of ``levels``, through the ``*_aux``
        projections (Gatys uses them where the real VGG-19 weights end, at levels 4 and 5)."""
        compressed = self.features(x)
        return {lv: getattr(self, f"conv{lv}1_aux")(compressed[lv - 1]) for lv in levels}


def _width(level: int) -> int:
    """Width of relu{level}_1 inside a deeper encoder (only level 1 differs: 16, not 24)."""
    return 16 if level == 1 else CHANNELS[level]


class CompressedDecoder(nn.Module):
    """Compressed relu{level}_1 features → RGB, ×2 upsampling after conv51/41/31/21.

    The decoders were trained with nearest upsampling; ``upsample="bilinear"`` runs the
    same weights with bilinear, which leaves no block grid in flat areas. The last conv
    has no ReLU; callers clamp the image to [0, 1].
    """

    def __init__(self, level: int) -> None:
        super().__init__()
        if level not in LEVELS:
            raise ValueError(f"compressed decoders exist for levels {LEVELS}, not {level}")
        self.level = level
        convs = [s for s in _plan(level) if s != "pool"]
        # Mirror the encoder: conv{XY} maps the encoder's output width back to its input width.
        self.order = [name for name, _, _ in reversed(convs)]
        for name, cin, cout in convs:
            self.add_module(name, nn.Conv2d(cout, cin if name != "conv11" else 3, 3))

    def forward(
        self,
        x: torch.Tensor,
        affine: tuple[torch.Tensor, torch.Tensor] | None = None,
        upsample: Upsample = "nearest",
    ) -> torch.Tensor:
        """Decode ``x``; ``affine`` = (M, b) decodes M·x + b instead, M folded into the
        first conv (``fold_affine``) so that the transformed features are never written.

        Runs in the network's dtype and returns the image in float32 whatever it is: the
        steps after a decoder (detail, shading, video's blends) work on float32 images.
        """
        grow = upsample2_bilinear_reflect_pad1 if upsample == "bilinear" else upsample2_reflect_pad1
        x = x.to(self.conv11.weight.dtype)
        padded = False
        for i, name in enumerate(self.order):
            conv = getattr(self, name)
            params = fold_affine(conv, *affine) if i == 0 and affine is not None else None
            x = conv3x3(x, conv, relu=name != "conv11", padded=padded, params=params)
            # After conv51/41/31/21: ×2, upsampled straight into the next pad.
            padded = name in ("conv51", "conv41", "conv31", "conv21")
            if padded:
                x = grow(x)
        return x.float()
