"""Temporal consistency: why independently stylized frames flicker, and the four fixes.

A feed-forward stylizer maps each frame through statistics of that frame alone: WCT
whitens with the frame's own covariance, AdaIN normalises with its own mean and std.
Those change a little from frame to frame (noise, a hand entering the picture), the
whitening amplifies the change in the weak directions, and the strokes swing: flicker
(Ruder et al. 2016; Lai et al. 2018 measure it as the warping error below). Here:

1. the style is encoded once per video (``stylize_video``);
2. ``SmoothedStatistics``: the content statistics each cascade step uses are an
   exponential moving average over the frames of a shot (mean and covariance), so they
   drift with the scene instead of jumping with each frame;
3. ``FlowBlend``: the previous frame's image is warped onto the current one along the
   optical flow of the *input* frames (OpenCV's DIS) and blended in where that flow is
   reliable (forward–backward consistent, Sundaram et al. 2010); disoccluded pixels take
   the new frame's own. By default the blend is made on the decoded images of the
   first two cascade steps (levels 4 and 2), not on the output: the later steps then
   re-impose the style's statistics on it, which keeps more of the texture for the
   same steadiness. The blend is made by parts, in order of what each costs the
   texture (``luminance_weights``): colour first, with a strong weight (a colour blend
   flattens the texture far less than a luminance blend of the same weight, and a
   colourful style's flicker is as much hue as brightness); then the luminance's low
   band (a Gaussian of σ 2 px: where strokes sit and how they are shaded); its fine
   band only as far as the steadiness asked for still needs, because the fine band is
   the texture, and two frames' textures blended are a texture of another kind (at
   relu3_1 it no longer matches the style's), which the later steps do not undo.

4. ``ContentAnchor``: the cascade's deepest step works on a lattice of one feature per
   8×8 pixels (relu4_1, three poolings), and the strokes it paints are tied to that
   lattice. Fixed to the frame, the lattice sees content that slides under it by
   sub-pixel steps take a new phase every frame, and the strokes morph, frame after
   frame: a slow camera move's flicker wanders rather than jitters, which a blend only
   slows. So each frame is placed in the engine's canvas shifted by the shot's
   accumulated global motion (sub-pixel, modulo the lattice's period), where its
   content keeps its place against the lattice, and the output is shifted back.

``SceneCuts`` (or a flow that mostly fails its check) resets 2, 3 and 4 at a cut, where
the history no longer describes the picture. Each default in ``TemporalSettings`` was chosen with ``bench/video.py`` (numbers in
``bench/RESULTS.md``).
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from models.transforms import Covariance, moments


@dataclass(frozen=True)
class TemporalSettings:
    decay: float = 0.5  # weight of the past in the smoothed statistics, per frame
    # How much the previous frame's image, warped, steadies each cascade step's decoded
    # image (by step index; missing steps: 0): as much as blending it in with this weight
    # would. The later steps re-impose the style's statistics on the blend, so it
    # steadies the strokes with less texture lost than blending the output.
    steps: tuple[float, ...] = (0.5, 0.1)
    # The weight of its colour, by step; the luminance's bands' are then found per frame
    # (``luminance_weights``). The trade-offs are measured in bench/RESULTS.md ("Video").
    colour: tuple[float, ...] = (0.9, 0.3)
    # The luminance's difference splits at this scale (a Gaussian's σ, px; 0: no split):
    # the low band (where strokes sit, how they are shaded) is blended first, the fine
    # band (the texture, which a blend of two frames' strokes turns into a texture of
    # another kind that the later steps cannot undo) only as far as still needed.
    lowpass: float = 2.0
    # The most the low band is blended with: the rest of the steadiness asked for comes
    # from the fine band (``luminance_weights``); below 1, a shot's shading still follows
    # the frames.
    low_most: float = 0.8
    blend: float = 0.0  # weight of the warped previous final output where the flow holds
    # DIS medium, not fast: fast refines its flow down to a quarter of the frame's
    # resolution only (8-px patches every 4 px there, 16 iterations), too coarse for a
    # motion that changes across the frame (a zoom, an animal stretching); medium goes
    # to half resolution (patches every 3 px, 25 iterations). It steadied every clip
    # more for the same style cost (held out, the cut clip 0.40 → 0.22; Big Buck
    # Bunny's still stretch 0.52 → 0.45–0.48 with bfloat16 networks, 0.57 → 0.50–0.51 in
    # float32), for a sixth to a fifth of the frame rate (a Zen 4, bfloat16 networks:
    # 8.9 → 7.3 frames/s at 512 px).
    flow_preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
    # DIS's own parameters over the preset's (None: the preset's): the finest pyramid
    # level it refines to (0: full resolution, 1: half, 2: a quarter), its patch
    # stride, its gradient-descent iterations per patch.
    flow_finest_scale: int | None = None
    flow_patch_stride: int | None = None
    flow_iterations: int | None = None
    # A cut: colour histograms of consecutive frames differ by more than this (0–1) ...
    cut_histogram: float = 0.25
    # ... or fewer than this fraction of pixels have a consistent flow.
    cut_reliable: float = 0.3
    # Shift each frame in the engine's canvas with the content's global motion, so the
    # strokes stay put on the content (``ContentAnchor``).
    anchor: bool = True


DEFAULT_TEMPORAL = TemporalSettings()


class SmoothedStatistics:
    """A ``ContentStats`` hook: each step's content moments, averaged over past frames.

    The moving average is taken of the moments (mean, covariance, variance) and the
    eigendecomposition done afterwards, exactly as for one image (``Covariance.from_moments``).
    """

    def __init__(self, decay: float) -> None:
        self.decay = decay
        self._moments: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def reset(self) -> None:
        self._moments.clear()

    def __call__(self, step: int, level: int, feature: torch.Tensor) -> Covariance:
        current = moments(feature)
        past = self._moments.get(step)
        if past is not None and past[1].shape == current[1].shape:
            d = self.decay
            current = tuple(d * p + (1 - d) * c for p, c in zip(past, current, strict=True))
        self._moments[step] = current
        with _one_thread():
            return Covariance.from_moments(*current)


class SceneCuts:
    """Tells whether a frame starts a new shot, from colour histograms of thumbnails.

    Camera motion changes the picture but hardly its histogram; a cut changes both.
    """

    BINS = 16
    THUMBNAIL = (64, 36)

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._previous: np.ndarray | None = None

    def distance(self, image: np.ndarray) -> float | None:
        """Half the L1 distance (0–1) to the previous frame's histograms, averaged over R, G, B."""
        small = cv2.resize(image, self.THUMBNAIL, interpolation=cv2.INTER_AREA)
        histogram = np.stack(
            [
                np.bincount(small[..., c].ravel() // (256 // self.BINS), minlength=self.BINS)
                for c in range(3)
            ]
        ) / (small.shape[0] * small.shape[1])
        previous, self._previous = self._previous, histogram
        if previous is None:
            return None
        return float(np.abs(histogram - previous).sum(axis=1).mean() / 2)

    def is_cut(self, image: np.ndarray) -> bool:
        distance = self.distance(image)
        return distance is not None and distance > self.threshold


def grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


class OpticalFlow:
    """Backward flow between consecutive frames and where it can be trusted."""

    def __init__(
        self,
        preset: int,
        *,
        finest_scale: int | None = None,
        patch_stride: int | None = None,
        iterations: int | None = None,
    ) -> None:
        self._dis = cv2.DISOpticalFlow_create(preset)
        if finest_scale is not None:
            self._dis.setFinestScale(finest_scale)
        if patch_stride is not None:
            self._dis.setPatchStride(patch_stride)
        if iterations is not None:
            self._dis.setGradientDescentIterations(iterations)

    @classmethod
    def of(cls, settings: TemporalSettings) -> "OpticalFlow":
        """The flow ``settings`` ask for."""
        return cls(
            settings.flow_preset,
            finest_scale=settings.flow_finest_scale,
            patch_stride=settings.flow_patch_stride,
            iterations=settings.flow_iterations,
        )

    def __call__(self, previous: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grey (H, W) uint8 frames → (flow, reliable).

        ``flow`` (H, W, 2): for each pixel x of ``current``, ``previous`` shows it at
        x + flow(x). ``reliable`` (H, W) bool: the forward flow brings it back (within
        the tolerance of Sundaram et al.: |b + f|² ≤ 0.01 (|b|² + |f|²) + 0.5) and it
        stays inside the frame; elsewhere the pixel was occluded or the flow is wrong.
        """
        backward = self._dis.calc(current, previous, None)
        forward = self._dis.calc(previous, current, None)
        return backward, consistent(backward, forward)


def consistent(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """The forward–backward check of ``OpticalFlow`` on given flows."""
    h, w = backward.shape[:2]
    x, y = _grid(h, w)
    map_x, map_y = x + backward[..., 0], y + backward[..., 1]
    forward_there = cv2.remap(
        forward, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    round_trip = backward + forward_there
    tolerance = 0.01 * (_squared(backward) + _squared(forward_there)) + 0.5
    inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    return (_squared(round_trip) <= tolerance) & inside


def _squared(vectors: np.ndarray) -> np.ndarray:
    """|v|² of (..., 2) vectors. Written out: numpy's ``sum(-1)`` over an axis of two
    is a slow strided reduction (4.3 ms for the tolerance above at 512×288, 0.2 here),
    and x² + y² is the same sum, bit for bit."""
    x, y = vectors[..., 0], vectors[..., 1]
    return x * x + y * y


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` at x + flow(x): the previous frame moved onto the current one."""
    h, w = flow.shape[:2]
    x, y = _grid(h, w)
    # Cubic: a bilinear warp blurs at each sub-pixel shift, and blurs add up frame after frame.
    return cv2.remap(
        image, x + flow[..., 0], y + flow[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


def warping_error(
    previous: np.ndarray, current: np.ndarray, flow: np.ndarray, reliable: np.ndarray
) -> float:
    """Lai et al. 2018's E_warp for one pair: the mean, over reliable pixels, of the squared
    difference between ``current`` and ``previous`` warped onto it (RGB in 0–1, averaged
    over channels). ``flow`` and ``reliable`` come from the *input* frames."""
    if not reliable.any():
        return float("nan")
    warped = warp(previous, flow).astype(np.float32) / 255
    difference = ((current.astype(np.float32) / 255 - warped) ** 2).mean(-1)
    return float(difference[reliable].mean())


class ContentAnchor:
    """Where a frame goes in the cascade's canvas: shifted by the shot's global motion so
    far (the median of each frame pair's flow where it holds), modulo ``period``, the
    deepest level's lattice. Its content then keeps its phase against the lattice, and
    the strokes painted on it keep theirs, from frame to frame.

    The shift is sub-pixel: rounded to whole pixels the phase still drifts by the
    fraction, then jumps by a pixel (on Big Buck Bunny the per-frame flicker rose by 28 %
    and the blended one did not fall). It costs a resampling of the frame into the canvas
    and of the output back (Lanczos, 2 ms a frame at 512×288), and a canvas one lattice
    cell wider and taller (+4 % pixels at 512×288). Modulo the period the reflected
    margin stays under one lattice cell and the canvas keeps one size.
    """

    # A zoom or a scene of independent motions has no global translation to follow:
    # within 0.5 px of the median moved 2–6 % of the pixels on the zoom clip, against
    # 60–95 % on the pans and Big Buck Bunny's tilt. Following its median anyway steadied
    # nothing there and cost the Matisse style 4 points (bench/RESULTS.md).
    COHERENT = 0.5

    def __init__(self, period: int) -> None:
        self.period = period
        self._motion = np.zeros(2)  # (x, y): how far the content moved since the shot began
        self._offset = np.zeros(2)  # (x, y): the current frame's place in the canvas
        self._previous = np.zeros(2)
        self._size = (0, 0)  # (H, W) of the frame

    def reset(self) -> None:
        self._motion = np.zeros(2)

    def follow(self, flow: np.ndarray, reliable: np.ndarray) -> None:
        """Add a frame pair's global motion (``OpticalFlow``'s backward flow and mask), if
        it has one: at least ``COHERENT`` of the reliable pixels move with the median."""
        # Every other row and column: the median of 37 000 vectors is as good as of all
        # of them, at a quarter of the cost (7 ms a frame with every pixel, loaded host).
        moves = flow[::2, ::2][reliable[::2, ::2]]
        if not len(moves):
            return
        median = np.median(moves, axis=0)
        if np.mean(_squared(moves - median) < 0.25) >= self.COHERENT:
            # The previous frame shows x at x + flow(x): the content moved by −flow, and
            # the canvas moves it back.
            self._motion += median

    def place(self, frame: np.ndarray) -> np.ndarray:
        """The (H + p, W + p) canvas, p the period, with ``frame`` at ``origin`` plus a
        fraction of a pixel; a reflected margin around it."""
        h, w = self._size = frame.shape[:2]
        self._previous, self._offset = self._offset, self._motion % self.period
        return _translate(frame, self._offset, (w + self.period, h + self.period))

    def crop(self, output: np.ndarray) -> np.ndarray:
        """The stylized canvas → the frame's (H, W), shifted back."""
        return _translate(output, -self._offset, self._size[::-1])

    @property
    def origin(self) -> tuple[int, int]:
        """(y, x): the canvas pixel nearest the frame's top-left one, at or above it."""
        x, y = np.floor(self._offset).astype(int)
        return int(y), int(x)

    @property
    def drift(self) -> np.ndarray:
        """(x, y): how far the frame's content moved, since the previous frame, in the
        window at ``origin`` (the flow's correction there)."""
        return (self._offset % 1 - self._previous % 1).astype(np.float32)


def _translate(image: np.ndarray, shift: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A (W, H) ``size`` view of ``image`` (H', W', 3) uint8 moved by ``shift`` (x, y)
    pixels: out(p) = image(p − shift), reflected beyond its edges.

    The whole pixels by padding and slicing, the fraction by a separable 8-tap Lanczos
    filter (sharper than a cubic): ``cv2.warpAffine``'s Lanczos gives the same pixels
    (within 2 levels) but took 23 ms for both ways at 512×288, where this takes 2."""
    w, h = size
    whole = np.floor(shift).astype(int)
    fraction = shift - whole
    r = _LANCZOS_TAPS // 2
    # out(p) = Σ_j taps_j · image(p − whole + j): pad so every such pixel exists.
    top, left = whole[1] + r, whole[0] + r
    bottom, right = h - image.shape[0] - top + 2 * r, w - image.shape[1] - left + 2 * r
    padded = cv2.copyMakeBorder(
        image, max(top, 0), max(bottom, 0), max(left, 0), max(right, 0), cv2.BORDER_REFLECT_101
    )
    y, x = max(-top, 0), max(-left, 0)
    padded = padded[y : y + h + 2 * r, x : x + w + 2 * r]
    kernels = [_lanczos(f) for f in fraction]
    out = cv2.sepFilter2D(padded, -1, *kernels, anchor=(r, r), borderType=cv2.BORDER_REFLECT_101)
    return np.ascontiguousarray(out[r : r + h, r : r + w])


_LANCZOS_TAPS = 8


def _lanczos(fraction: float) -> np.ndarray:
    """Taps for out(p) = Σ_j w_j · in(p + j), j = −4 … 3: a shift by ``fraction`` ∈ [0, 1)."""
    r = _LANCZOS_TAPS // 2
    x = -fraction - np.arange(-r, r)
    taps = np.sinc(x) * np.sinc(x / r)
    return (taps / taps.sum()).astype(np.float32)


class FlowBlend:
    """Blend the previous frame's images, warped along the input's flow, into this frame's:
    each cascade step's decoded image (``step``) and the final output (``blend``).
    ``anchor`` says where the frame is in the cascade's canvas (None: at its origin)."""

    def __init__(self, settings: TemporalSettings, anchor: ContentAnchor | None = None) -> None:
        self.settings = settings
        self._anchor = anchor
        self._flow = OpticalFlow.of(settings)
        self._grey: np.ndarray | None = None  # the current input, grey
        self._previous_grey: np.ndarray | None = None
        self._pending: tuple[np.ndarray, np.ndarray] | None = None  # (flow, reliable)
        self._steps: dict[int, np.ndarray] = {}  # previous frame's step images, float32
        self._output: np.ndarray | None = None  # previous frame's final output, uint8
        self._bands = (settings.lowpass, settings.low_most)

    def reset(self) -> None:
        self._previous_grey, self._steps, self._output = None, {}, None

    @property
    def pending(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The (flow, reliable) of the frame last ``track``-ed; None without history."""
        return self._pending

    def track(self, frame: np.ndarray) -> bool:
        """Flow from the previous input frame to ``frame``. False, and the history is
        dropped, when it is unusable: most pixels fail the consistency check (a cut the
        histograms missed, or motion too fast to follow)."""
        if self._grey is not None and self._output is not None:
            self._previous_grey = self._grey
        self._grey, self._pending = grey(frame), None
        if self._previous_grey is None:
            return True
        flow, reliable = self._flow(self._previous_grey, self._grey)
        if reliable.mean() < self.settings.cut_reliable:
            self.reset()
            return False
        self._pending = (flow, reliable)
        return True

    def step(self, index: int, level: int, image: torch.Tensor) -> torch.Tensor:
        """A ``StepOutput`` hook: blend into step ``index``'s decoded (1, 3, H, W) image,
        in place. The image is the canvas (``ContentAnchor``, and the padding to the
        recipe's stride): the blend is made in the frame-sized window at the anchor's
        origin, whose content moved against the frame by the anchor's drift."""
        weight = (_at(self.settings.steps, index), _at(self.settings.colour, index))
        if not any(weight):
            return image
        h, w = self._grey.shape
        y, x = self._anchor.origin if self._anchor else (0, 0)
        window = image[0, :, y : y + h, x : x + w]
        pixels = window.permute(1, 2, 0).float().cpu().numpy()
        previous = self._steps.get(index)
        if self._pending is not None and previous is not None:
            flow, reliable = self._pending
            if self._anchor:
                flow = flow - self._anchor.drift
            pixels = _mix(pixels, previous, flow, reliable, weight, self._bands)
            window.copy_(torch.from_numpy(pixels).permute(2, 0, 1))
        self._steps[index] = np.array(pixels, np.float32)
        return image

    def blend(self, output: np.ndarray) -> np.ndarray:
        """The final output of the frame last ``track``-ed, with the history blended in."""
        if self.settings.blend and self._pending is not None and self._output is not None:
            weight = (self.settings.blend, self.settings.blend)
            mixed = _mix(output.astype(np.float32), self._output.astype(np.float32),
                         *self._pending, weight, self._bands)  # fmt: skip
            output = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
        self._output = output
        return output


# Rec. 601 luma: the grey level of an RGB colour.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _mix(
    current: np.ndarray,
    previous: np.ndarray,
    flow: np.ndarray,
    reliable: np.ndarray,
    weight: tuple[float, float],
    bands: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """current + w·(previous warped − current), where the flow is reliable; RGB (H, W, 3)
    float32. ``weight``: (the steadiness, the colour's weight); ``bands``: (σ of the
    luminance's low band, the most that band is blended with), see ``luminance_weights``.

    The difference splits into its grey part (luma, equal in R, G, B) and the rest,
    its colour, which has no luma; the grey part into its low band (a Gaussian blur of
    σ px) and its fine band. Each part is blended with its own weight.
    """
    mask = reliable.astype(np.float32)
    difference = warp(previous, flow) - current
    grey = difference @ LUMA  # (H, W), the grey part's level in each of R, G, B
    colour_part = difference - grey[..., None]
    sigma, low_most = bands
    fine, fine_energy = None, 0.0
    if sigma > 0:
        low = _masked_blur(grey, mask, sigma)
        fine = grey - low
        fine_energy = 3 * _energy(fine, mask)
    else:
        low, low_most = grey, 1.0  # no split: all of the luminance is the "low" band
    low_weight, fine_weight = luminance_weights(
        *weight, low_most, _energy(colour_part, mask[..., None]), 3 * _energy(low, mask),
        fine_energy,
    )  # fmt: skip
    luminance = low_weight * low
    if fine is not None and fine_weight:
        luminance += fine_weight * fine
    blended = np.float32(weight[1]) * colour_part + luminance.astype(np.float32)[..., None]
    return current + mask[..., None] * blended


def _energy(part: np.ndarray, mask: np.ndarray) -> float:
    """Σ part² over the pixels ``mask`` keeps: a dot product, where a boolean index would
    copy the frame."""
    return float(np.vdot(part * mask, part))


def _masked_blur(image: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of (H, W) ``image`` over the pixels where ``mask`` is 1 only
    (normalised convolution): an unreliable pixel's difference, a disocclusion's, does
    not leak into its reliable neighbours."""
    blurred = cv2.GaussianBlur(image * mask, (0, 0), sigma)
    weight = cv2.GaussianBlur(mask, (0, 0), sigma)
    return np.divide(blurred, weight, out=np.zeros_like(blurred), where=weight > 1e-3)


def luminance_weights(
    steadiness: float,
    colour: float,
    low_most: float,
    colour_energy: float,
    low_energy: float,
    fine_energy: float = 0.0,
) -> tuple[float, float]:
    """The weights of the luminance's low and fine bands that leave as much of the
    frame-to-frame difference as a blend of weight ``steadiness`` on all of it would,
    the colour being blended with ``colour`` (≥ ``steadiness``):
    (1 − colour)² E_colour + (1 − w_low)² E_low + (1 − w_fine)² E_fine
    = (1 − steadiness)² (E_colour + E_low + E_fine), spent in order of what it costs the
    texture: colour first, then the low band (up to ``low_most``), the fine band last.

    A grey style's difference is all luminance; a colourful one's is largely colour,
    which steadies it at little cost: the luminance's weights fall, down to 0. The fine
    band is the texture itself: two frames' strokes blended are a texture of another
    kind, so it is blended only where the low band cannot reach the steadiness (a zoom,
    whose strokes morph at every scale); a slow, shaded scene's flicker is in the low band.
    """
    total = colour_energy + low_energy + fine_energy
    left = (1 - steadiness) ** 2 * total - (1 - colour) ** 2 * colour_energy
    left = max(left, 0.0)  # what the luminance may keep of its difference
    if low_energy + fine_energy <= 0:
        return steadiness, steadiness
    if left >= low_energy + fine_energy:
        return 0.0, 0.0
    if low_energy > 0 and left >= fine_energy:
        low = 1 - ((left - fine_energy) / low_energy) ** 0.5
        if low <= low_most:
            return low, 0.0
    left -= (1 - low_most) ** 2 * low_energy
    fine = 1 - (max(left, 0.0) / fine_energy) ** 0.5 if fine_energy > 0 else 0.0
    return low_most, max(fine, 0.0)


def _at(weights: tuple[float, ...], index: int) -> float:
    return weights[index] if index < len(weights) else 0.0


class Temporal:
    """What one video carries from frame to frame: ``start`` each frame (True: a cut,
    the history was reset), stylize the canvas ``place`` makes of it with ``statistics``
    as the cascade's ``content_stats`` and ``step_output`` as its hook, then ``finish``
    the output. ``period``: the deepest level's lattice, the recipe's stride."""

    def __init__(self, settings: TemporalSettings = DEFAULT_TEMPORAL, period: int = 8) -> None:
        self.statistics = SmoothedStatistics(settings.decay)
        self._cuts = SceneCuts(settings.cut_histogram)
        self._anchor = ContentAnchor(period) if settings.anchor else None
        self._flow = FlowBlend(settings, self._anchor)

    def step_output(self, index: int, level: int, image: torch.Tensor) -> torch.Tensor:
        """The cascade's ``step_output`` hook (see ``FlowBlend.step``)."""
        return self._flow.step(index, level, image)

    def start(self, frame: np.ndarray) -> bool:
        cut = self._cuts.is_cut(frame)
        if cut:
            self._flow.reset()
        cut = not self._flow.track(frame) or cut
        if cut:
            self.statistics.reset()
        if self._anchor is not None:
            if cut:
                self._anchor.reset()
            elif self._flow.pending is not None:
                self._anchor.follow(*self._flow.pending)
        return cut

    def place(self, frame: np.ndarray) -> np.ndarray:
        """The image to stylize: ``frame`` in its canvas (itself when not anchored)."""
        return frame if self._anchor is None else self._anchor.place(frame)

    def finish(self, output: np.ndarray) -> np.ndarray:
        """The stylized canvas → the frame's output, with the history blended in."""
        if self._anchor is not None:
            output = self._anchor.crop(output)
        return self._flow.blend(output)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run a small LAPACK call on one thread. An eigendecomposition of a 128×128 matrix
    took 2–3 ms on one thread but 23–350 ms on two while other processes kept both
    cores busy (OpenMP workers waiting on each other); at this size one thread is as
    fast anyway."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return x, y
