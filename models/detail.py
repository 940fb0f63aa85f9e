"""Restoring the content's structure after decoding, on the luminance only.

The compressed decoders redraw every edge from features: thin lines, text and texture of
the photo come back blurred or replaced by the style's strokes, and with a flat,
few-colour style the photo's shading breaks into blotches of the style's tones. Four
fixes work on the image, at a few per cent of the cascade's cost:

- ``transfer_detail``: a two-band split of the luminance (a Gaussian low-pass and the
  rest, i.e. the top of a Laplacian pyramid): the output's fine band is blended toward
  the content's. Colour and coarse shading stay the stylization's.
- ``ShadingTransfer``: the other band: the output's coarse luminance (its shading) is
  blended toward the content's, first brought to the output's own mean and spread, so
  the photo's form comes back in the painting's tonal range and its fine band, the
  strokes, stays.
- ``BandContrast``: the output's middle band (between ``fine`` and ``coarse`` px), where
  the photo's edges drawn in the style's colours sit, scaled down to the style's own
  energy there, its luminance and its colour apart: a flat, few-colour style has little
  of it, and an output with more reads as busier than the painting (relu3_1's
  statistics, bench/RESULTS.md).
- ``guided_filter`` (He et al., "Guided Image Filtering", ECCV 2010): the output made
  locally linear in the content's luminance, as photorealistic WCT (Li et al. 2018)
  smooths its results. Kept for measurement; the default recipe uses the other three.

Shapes: images are (1, 3, H, W) RGB in [0, 1]; the output always has the input's size.
"""

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

# ITU-R BT.601 luma, as ``tensors.rgb_to_ycbcr``: a luminance change added equally to R,
# G and B changes Y by the same amount and leaves Cb/Cr alone (their rows sum to 0).
_LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class DetailTransfer:
    """The fine band (finer than ``sigma`` pixels) of the luminance, moved toward the content's.

    ``strength`` 0 keeps the stylization, 1 replaces its fine band by the content's;
    ``keep`` is the fraction of the stylization's own fine band (its strokes) kept.
    """

    sigma: float = 2.0
    strength: float = 1.0
    keep: float = 0.0

    def __call__(self, stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        return transfer_detail(stylized, content, self.sigma, self.strength, self.keep)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB → (N, 1, H, W) BT.601 luma."""
    r, g, b = image.unbind(1)
    return (_LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b).unsqueeze(1)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (N, 1, H, W), reflected borders, radius 3σ (≥ 1).

    Written as a sum of shifted copies: PyTorch's CPU convolution of one channel by a
    1-D kernel takes a slow generic path (135 ms at 512 px, against ~2 ms here). From
    ``HALF_RESOLUTION_SIGMA`` up, computed at half resolution (``_half_resolution_blur``).
    """
    h, w = x.shape[-2:]
    if sigma >= HALF_RESOLUTION_SIGMA and min(h, w) > 4 * _margin(sigma):
        return _half_resolution_blur(x, sigma)
    radius = max(1, int(3 * sigma + 0.5))
    taps = [math.exp(-(k * k) / (2 * sigma * sigma)) for k in range(-radius, radius + 1)]
    taps = [t / sum(taps) for t in taps]
    # Reflection needs the pad to be smaller than the side; tiny images fall back.
    mode = "reflect" if min(h, w) > radius else "replicate"
    x = F.pad(x, (radius, radius, radius, radius), mode=mode)
    rows = x[..., :, :w] * taps[0]
    for k, tap in enumerate(taps[1:], start=1):
        rows.add_(x[..., :, k : k + w], alpha=tap)
    out = rows[..., :h, :] * taps[0]
    for k, tap in enumerate(taps[1:], start=1):
        out.add_(rows[..., k : k + h, :], alpha=tap)
    return out


# A blur this wide keeps nothing near half the sampling rate (its response there is
# below 1e-8), so a quarter of the pixels carry all of it.
HALF_RESOLUTION_SIGMA = 4.0


def _margin(sigma: float) -> int:
    """Full-resolution pixels of reflected border around a half-resolution blur: its
    reach (3σ), even so that the 2×2 grid stays on the image's."""
    return 2 * math.ceil(1.5 * sigma)


def _half_resolution_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``gaussian_blur`` for a wide σ in an eighth of the passes: 2×2 mean, blur, ×2 bilinear.

    The 2×2 mean and the bilinear ×2 are blurs too (variances ¼ and ¾ px²), so the
    half-resolution Gaussian makes up the rest: σ'² = (σ² − 1)/4. The border is reflected
    at full resolution first, as the direct blur does. Against it at σ 6 on 1024-px
    photos: at most 0.3 grey levels apart (0.02 on average), 2–3 ms instead of 10–16.
    """
    h, w = x.shape[-2:]
    m = _margin(sigma)
    padded = F.pad(x, (m, m + w % 2, m, m + h % 2), mode="reflect")  # even sides
    small = gaussian_blur(F.avg_pool2d(padded, 2), _half_sigma(sigma))
    grown = F.interpolate(small, scale_factor=2, mode="bilinear", align_corners=False)
    return grown[..., m : m + h, m : m + w]


def transfer_detail(
    stylized: torch.Tensor,
    content: torch.Tensor,
    sigma: float = 2.0,
    strength: float = 1.0,
    keep: float = 0.0,
) -> torch.Tensor:
    """Y' = Y_s + strength·(H(Y_c) − (1 − keep)·H(Y_s)), H = identity − Gaussian(σ).

    The luminance change is added to R, G and B alike. ``content`` must have
    ``stylized``'s size. Only one channel is filtered, so the cost is a small fraction
    of a cascade level at any size.
    """
    # H is linear: one blur of the combined luminance instead of two.
    y = luminance(content.float()) - (1 - keep) * luminance(stylized.float())
    shift = strength * (y - gaussian_blur(y, sigma))
    return (stylized + shift.to(stylized.dtype)).clamp_(0, 1)


@dataclass(frozen=True)
class ShadingTransfer:
    """The content's shading (its luminance coarser than ``sigma`` px) moved ``strength``
    of the way into the stylization, in the stylization's tones.

    Why the coarse band and why matched: the fine band is the style's texture, and
    giving it back to the photo costs style and Gram error fast (``transfer_detail``); the
    coarse band is where a face's modelling or a sky's gradient sits, which a few-colour
    style loses to blotches. Taken as it is, the photo's shading would also bring back
    its tones (a quarter of it at σ 4 px: style +12 %, Gram error +47 % on 24 tuning
    pairs, bench/RESULTS.md); rescaled to the stylization's own coarse mean and spread,
    it keeps the painting's tonal range and only rearranges it along the photo's form.
    """

    sigma: float = 6.0
    strength: float = 0.4

    def reference(self, content: torch.Tensor) -> torch.Tensor:
        """The content's coarse luminance, (N, 1, H, W): what ``apply`` moves toward."""
        return gaussian_blur(luminance(content.float()), self.sigma)

    def apply(self, stylized: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """``stylized`` with its coarse luminance moved toward ``reference``'s, rescaled to
        its own mean and spread; added to R, G and B alike, so colour stays the style's."""
        low = gaussian_blur(luminance(stylized.float()), self.sigma)
        # A flat content has no shading to give: its coarse band then flattens the output's.
        scale = low.std(correction=0) / reference.std(correction=0).clamp_min(1e-4)
        target = (reference - reference.mean()) * scale + low.mean()
        shift = self.strength * (target - low)
        return (stylized + shift.to(stylized.dtype)).clamp_(0, 1)

    def __call__(self, stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        return self.apply(stylized, self.reference(content))


@dataclass(frozen=True)
class BandContrast:
    """The output's band between ``fine`` and ``coarse`` px (a difference of Gaussians of
    R, G and B) scaled down to the style's energy in the same band, never up: its
    luminance and the rest of it (its colour) each by a factor of their own.

    Why: on flat, few-colour styles the cascade's output carried 1.5× the style's energy
    at VGG-19's relu3_1, most of it the photo's edges redrawn in the style's colours,
    where paintings' outputs carry less than their style; blurring the whole image made
    it worse (a blurred image excites relu3_1 more), scaling this band brought it down.
    Luminance and colour apart: a style can be flat in one and not the other (held out,
    Gram error 0.1216 → 0.1172 against one factor for both). Measured on the tuning
    pairs, bench/RESULTS.md. Only lowered: a busy style gets no extra texture out of it,
    since the band of a painting's output is its own strokes.
    """

    fine: float = 2.0
    coarse: float = 12.0

    def band(self, image: torch.Tensor) -> torch.Tensor:
        """(1, 3, H, W) → its band, (1, 3, H, W) float32.

        Computed at half resolution (2×2 mean, both blurs, bilinear ×2, as
        ``_half_resolution_blur``): a Gaussian of σ 2 keeps under 1 % near the half
        sampling rate. Against the direct blurs on held-out outputs at 512 and 1024 px:
        1–2 % of the band's energy apart, at most 5 grey levels in the band (under 2 in
        the image, which moves by a fraction of it), in a third of the time (4 ms
        instead of 13 at 512 px).
        """
        h, w = image.shape[-2:]
        channels = image.float().transpose(0, 1)  # (3, 1, H, W): one blur call for all
        m = _margin(self.coarse)
        if min(h, w) <= 4 * m:  # small images: the direct blurs
            band = gaussian_blur(channels, self.fine) - gaussian_blur(channels, self.coarse)
            return band.transpose(0, 1)
        padded = F.pad(channels, (m, m + w % 2, m, m + h % 2), mode="reflect")  # even sides
        small = F.avg_pool2d(padded, 2)
        del padded
        band = gaussian_blur(small, _half_sigma(self.fine)) - gaussian_blur(
            small, _half_sigma(self.coarse)
        )
        grown = F.interpolate(band, scale_factor=2, mode="bilinear", align_corners=False)
        return grown[..., m : m + h, m : m + w].transpose(0, 1)

    def energy(self, image: torch.Tensor) -> tuple[float, float]:
        """Root mean square of ``image``'s band: its luminance's, its colour's (the band
        less its luminance, per channel). What a style is encoded with."""
        luma, colour = _split(self.band(image))
        return _rms(luma).item(), _rms(colour).item()

    def apply(
        self,
        stylized: torch.Tensor,
        energies: torch.Tensor,
        regions: torch.Tensor | None = None,
        alpha: float = 1.0,
    ) -> torch.Tensor:
        """``stylized`` with its band's luminance and colour each scaled by min(1, the
        style's energy / its own).

        ``energies``: (styles, 2), luminance and colour per style; without ``regions`` one
        row (the caller blends several styles' by their weights), with ``regions`` ((H, W)
        style index per pixel) each region is scaled toward its own style's. ``alpha``
        below 1 moves the scales that far from 1, as the cascade moves the features that
        far toward the style.
        """
        luma, colour = _split(self.band(stylized))
        scales: list[torch.Tensor | float] = []
        for part in (luma, colour):
            column = len(scales)
            if regions is None:
                own = _rms(part).clamp_min(1e-6)
                scale = (energies[0, column].to(part) / own).clamp(max=1.0)
            else:
                scale = torch.ones(regions.shape, dtype=part.dtype, device=part.device)
                power = part.square().mean(1)[0]  # (H, W)
                for i, target in enumerate(energies[:, column].tolist()):
                    inside = regions == i
                    if inside.any():
                        own = power[inside].mean().sqrt().clamp_min(1e-6)
                        scale[inside] = (target / own).clamp(max=1.0)
            scales.append(alpha * (scale - 1))
        shift = colour.mul_(scales[1]).add_(luma.mul_(scales[0]))  # broadcast over R, G, B
        return (stylized + shift.to(stylized.dtype)).clamp_(0, 1)


def _split(band: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, 3, H, W) band → its luminance (1, 1, H, W) and the rest (1, 3, H, W), in place."""
    luma = luminance(band)
    return luma, band.sub_(luma)


def _rms(x: torch.Tensor) -> torch.Tensor:
    return x.square().mean().sqrt()


def _half_sigma(sigma: float) -> float:
    """σ at half resolution after a 2×2 mean and before a bilinear ×2 (variances ¼ and
    ¾ px²), for ``_half_resolution_blur`` and ``BandContrast.band``."""
    return math.sqrt(sigma * sigma - 1.0) / 2


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a (2r+1)² window, borders averaged over the pixels inside the image."""
    return F.avg_pool2d(x, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)


def guided_filter(
    image: torch.Tensor, guide: torch.Tensor, radius: int = 4, eps: float = 1e-2
) -> torch.Tensor:
    """He et al.'s guided filter: each (N, C, H, W) channel fitted as a·guide + b per window.

    ``guide`` is (N, 1, H, W); ``eps`` is the regulariser (larger = smoother result).
    """
    mean_i = box_mean(guide, radius)
    mean_p = box_mean(image, radius)
    cov_ip = box_mean(guide * image, radius) - mean_i * mean_p
    var_i = box_mean(guide * guide, radius) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box_mean(a, radius) * guide + box_mean(b, radius)
