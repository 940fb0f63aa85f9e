"""Pixels ↔ tensors, padding for the encoders' strides, and colour-space helpers."""

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

# ITU-R BT.601 full-range RGB → YCbCr (JPEG's convention), rows: Y, Cb, Cr.
_RGB_TO_YCBCR = torch.tensor(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
)


def to_tensor(image: Image.Image, device: torch.device | str = "cpu") -> torch.Tensor:
    """RGB PIL image → (1, 3, H, W) float32 in [0, 1], channels-last (the pixels' own order).

    The bytes are converted by torch, not numpy: one multi-threaded pass instead of two
    single-threaded ones (a 4096² poster: 0.8 s before).
    """
    array = np.array(image.convert("RGB"))  # writable: torch refuses to share a read-only one
    tensor = torch.from_numpy(array).to(device).permute(2, 0, 1).unsqueeze(0)
    return tensor.to(torch.float32).div_(255.0).contiguous(memory_format=torch.channels_last)


def to_image(tensor: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) tensor → RGB PIL image, clamped and rounded (not truncated) to 8 bits."""
    array = tensor.detach().float().clamp(0, 1).mul_(255).round_().byte()[0].permute(1, 2, 0)
    return Image.fromarray(array.cpu().numpy(), "RGB")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad (bottom, right) so H and W are multiples of ``multiple`` and at least 2·multiple.

    Each 2×2 pooling halves the map; the deepest reflection pad needs ≥ 2 pixels. Padding
    and cropping afterwards keeps the output at exactly the input's size. Returns the padded
    tensor and the original (H, W).
    """
    h, w = x.shape[-2:]
    th = max(-(-h // multiple) * multiple, 2 * multiple)
    tw = max(-(-w // multiple) * multiple, 2 * multiple)
    ph, pw = th - h, tw - w
    if ph == 0 and pw == 0:
        return x, (h, w)
    # Reflection looks natural at borders but needs the pad to be smaller than the side.
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


def crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return x[..., : size[0], : size[1]]


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] → Y in [0, 1], Cb/Cr centred on 0."""
    return torch.einsum("ij,njhw->nihw", _RGB_TO_YCBCR.to(x), x)


def ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,njhw->nihw", torch.linalg.inv(_RGB_TO_YCBCR).to(x), x)


def preserve_color(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Luminance-only transfer (Gatys et al. 2016): the style's luminance, the content's chroma.

    Stylized Y is first matched to the content's luminance mean and spread, so that a dark
    painting does not darken the photo while its brush-work is kept.
    """
    s, c = rgb_to_ycbcr(stylized), rgb_to_ycbcr(content)
    y_s, y_c = s[:, :1], c[:, :1]
    y = (y_s - y_s.mean()) / (y_s.std() + 1e-6) * y_c.std() + y_c.mean()
    return ycbcr_to_rgb(torch.cat([y, c[:, 1:]], dim=1)).clamp(0, 1)
