"""Video benchmark: flicker (warping error) and style with temporal consistency off vs on,
throughput, and peak memory.

Clips are made from the development images by moving a virtual camera over them, so
the true motion of every pixel is known: each frame is an affine view (pan, zoom) of
an upscaled photo, with light sensor noise (σ = 2/255), encoded as H.264 (CRF 18). One
clip has a cut in the middle. A real clip can be added with ``--clip``; its motion is
estimated with DIS (preset medium, forward–backward checked) on the input frames. The
engine's flow is DIS too, so a finer engine flow can agree with the metric's where
both are wrong and score itself; ``--metric-flow consensus`` keeps only the pixels
where Farnebäck's flow, an algorithm that shares nothing with DIS, agrees.

- warping error (Lai et al. 2018): for each pair of consecutive output frames of a
  shot, the mean squared difference (RGB in 0–1) between the frame and the previous
  output warped onto it along the *input's* motion, over pixels visible in both;
- style distance: bench/quality.py's (VGG-19 mean/std + Gram at relu1–3, output vs
  style), averaged over every 4th frame;
- fps: frames / wall time of ``stylize_video`` at 512 px with the style encoded before
  (decode, stylize, temporal, encode; the probe included); ``--fps`` alone: a 64-frame
  pan, off and on alternated;
- peak RSS: a child process stylizing a synthetic 1080p clip (``--rss``).

    python bench/video.py                         # the table (off vs on) on the clips
    python bench/video.py --clip bigbuckbunny.mp4 # plus a real clip
    python bench/video.py --clip bikes.mp4@64     # its frames 64-127 (a held-out stretch)
    python bench/video.py --clip bikes.mp4 --metric-flow consensus  # independent of DIS
    python bench/video.py --sweep                 # the blend weights tried (RESULTS.md)
    python bench/video.py --rss                   # peak RSS, 1080p in, 512 and 1080 out
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.memory import peak_rss_mb  # noqa: E402
from bench.quality import Scorer  # noqa: E402
from models.images import load_image, resize_longest  # noqa: E402
from models.params import StyleParams  # noqa: E402
from models.stylizer import Stylizer  # noqa: E402
from models.video.decode import VideoReader  # noqa: E402
from models.video.encode import VideoWriter  # noqa: E402
from models.video.params import VideoParams  # noqa: E402
from models.video.stylize import stylize_video  # noqa: E402
from models.video.temporal import (  # noqa: E402
    DEFAULT_TEMPORAL,
    TemporalSettings,
    consistent,
    warping_error,
)

SHARED = ROOT.parent / "shared"
CONTENT, STYLE = SHARED / "testdata/content", SHARED / "testdata/style"
FPS = 25
# The engine's flow before DIS medium: the older sweep rows were measured with it.
FAST = cv2.DISOPTICAL_FLOW_PRESET_FAST


@dataclass(frozen=True)
class Shot:
    image: str  # a development photo
    frames: int
    zoom: float = 1.0  # scale change per frame (>1 zooms in)
    pan: tuple[float, float] = (0.0, 0.0)  # pixels per frame, in frame pixels
    scale: float = 1.6  # first frame: frame pixels per upscaled-source pixel…


SHOTS = {
    "pan": [Shot("chicago.jpg", 32, pan=(3.0, 0.4))],
    "zoom": [Shot("golden_gate.jpg", 32, zoom=1.01, scale=1.2)],
    "pan+cut+zoom": [
        Shot("sailboat.jpg", 16, pan=(-2.5, 1.0), scale=1.3),
        Shot("modern.jpg", 16, zoom=1.012, scale=1.2),
    ],
}


def camera(shot: Shot, t: int, size: tuple[int, int], source: tuple[int, int]) -> np.ndarray:
    """2×3 affine map of frame t: frame pixel (x, y, 1) → source pixel."""
    w, h = size
    sw, sh = source
    s = 1 / (shot.scale * shot.zoom**t)  # source pixels per frame pixel
    cx = sw / 2 - shot.pan[0] * shot.frames / 2 / shot.scale + shot.pan[0] * t / shot.scale
    cy = sh / 2 - shot.pan[1] * shot.frames / 2 / shot.scale + shot.pan[1] * t / shot.scale
    return np.array([[s, 0, cx - s * (w - 1) / 2], [0, s, cy - s * (h - 1) / 2]], np.float64)


def true_flow(a_prev: np.ndarray, a_cur: np.ndarray, size: tuple[int, int]):
    """Backward flow (frame t → t−1) of two affine cameras, and where it lands inside."""
    w, h = size
    x, y = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    sx = a_cur[0, 0] * x + a_cur[0, 2]
    sy = a_cur[1, 1] * y + a_cur[1, 2]
    px = (sx - a_prev[0, 2]) / a_prev[0, 0]
    py = (sy - a_prev[1, 2]) / a_prev[1, 1]
    flow = np.stack([px - x, py - y], -1).astype(np.float32)
    inside = (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)
    return flow, inside


def make_clip(shots: list[Shot], path: Path, size=(512, 288), noise=2.0, seed=0):
    """Write the clip as MP4; return per frame (shot index, affine map)."""
    rng = np.random.default_rng(seed)
    cameras = []
    writer = None
    for k, shot in enumerate(shots):
        photo = load_image(CONTENT / shot.image)
        source = np.asarray(photo.resize((photo.width * 2, photo.height * 2), Image.BICUBIC))
        for t in range(shot.frames):
            a = camera(shot, t, size, (source.shape[1], source.shape[0]))
            frame = cv2.warpAffine(
                source,
                a,
                size,
                flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REFLECT,
            )
            frame = np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8)
            if writer is None:
                writer = VideoWriter(path, "mp4", *size, time_base=_tb(), rate=FPS)
            writer.write(frame, len(cameras), 1)
            cameras.append((k, a))
    writer.close()
    return cameras


def _tb():
    from fractions import Fraction

    return Fraction(1, FPS)


def read_frames(path: Path) -> list[np.ndarray]:
    with VideoReader(path, size=None, even=False) as reader:
        return [f.image for f in reader]


def motion_true(cameras, size):
    """Per frame pair (t−1, t) within a shot: (flow, reliable); None across a cut."""
    out = [None]
    for (k0, a0), (k1, a1) in zip(cameras, cameras[1:], strict=False):
        out.append(true_flow(a0, a1, size) if k0 == k1 else None)
    return out


def farneback(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Grey frames → flow of ``previous`` onto ``current``. A 45-pixel window: with the
    usual 15 it locks onto the wrong period of a façade's windows (median end-point
    error 2.6 px on the pan clip, true motion known; 0.4 px with 45)."""
    return cv2.calcOpticalFlowFarneback(previous, current, None, 0.5, 5, 45, 3, 7, 1.5, 0)


def dis_medium(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(
        previous, current, None
    )


def checked(flow, previous: np.ndarray, current: np.ndarray):
    """The backward flow of two grey frames and where it passes the forward–backward check."""
    backward = flow(current, previous)
    return backward, consistent(backward, flow(previous, current))


def motion_estimated(frames: list[np.ndarray], metric_flow: str = "dis-medium"):
    """Per frame pair: the input's backward flow and where it is trusted; None where most
    pixels fail the check (a cut).

    ``consensus``: only where Farnebäck's flow passes its own check too and agrees with
    DIS's within 0.5 px (+5 % of the motion). Farnebäck alone is no metric: it keeps
    textureless regions still, and its check passes there, and across a cut.
    """
    out = [None]
    for a, b in zip(frames, frames[1:], strict=False):
        a, b = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
        flow, ok = checked(dis_medium, a, b)
        if ok.mean() <= 0.3:
            out.append(None)
            continue
        if metric_flow == "consensus":
            other, other_ok = checked(farneback, a, b)
            agree = ((flow - other) ** 2).sum(-1) <= 0.25 + 0.0025 * (flow**2).sum(-1)
            ok &= other_ok & agree
        out.append((flow, ok) if ok.any() else None)
    return out


def mean_warping_error(frames: list[np.ndarray], motion) -> float:
    errors = [
        warping_error(frames[t - 1], frames[t], *motion[t])
        for t in range(1, len(frames))
        if motion[t] is not None
    ]
    return float(np.mean(errors))


def run(stylizer, scorer, clip: Path, style_path: Path, temporal: bool, settings, out_dir):
    style = resize_longest(load_image(style_path), 512)
    features = stylizer.encode_style(style, 512, "wct")
    output = out_dir / f"{clip.stem}-{style_path.stem}-{'on' if temporal else 'off'}.mp4"
    result = stylize_video(
        stylizer, clip, [features], output, StyleParams(size=512),
        VideoParams(temporal=temporal), temporal=settings,
    )  # fmt: skip
    frames = read_frames(output)
    stats = scorer.style(style_path.stem, style)
    inputs = read_frames(clip)
    styles = [
        scorer.score(
            Image.fromarray(frames[i]),
            scorer.content(f"{clip.stem}:{i}", Image.fromarray(inputs[i])),
            stats,
        )
        for i in range(0, len(frames), 4)
    ]
    return (
        result,
        frames,
        {
            "style": statistics.fmean(s["style"] for s in styles),
            "content": statistics.fmean(s["content"] for s in styles),
        },
    )


def table(args) -> None:
    stylizer = Stylizer(device=args.device)
    scorer = Scorer(stylizer.device)
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    clips = []
    for name, shots in SHOTS.items():
        path = out_dir / f"clip-{name}.mp4"
        cameras = make_clip(shots, path)
        frames = read_frames(path)
        clips.append((name, path, motion_true(cameras, (512, 288)), frames))
    for clip in args.clip:
        small, name = _real_clip(clip, out_dir, args.max_frames)
        frames = read_frames(small)
        clips.append((f"real: {name}", small, motion_estimated(frames, args.metric_flow), frames))
    settings = _settings(args)
    rows = []
    for name, path, motion, inputs in clips:
        for style in args.styles:
            row = {"clip": name, "style": style, "input": mean_warping_error(inputs, motion)}
            for temporal in (False, True):
                result, frames, score = run(
                    stylizer, scorer, path, STYLE / style, temporal, settings, out_dir
                )
                key = "on" if temporal else "off"
                row[f"warp_{key}"] = mean_warping_error(frames, motion)
                row[f"style_{key}"] = score["style"]
                row[f"content_{key}"] = score["content"]
                row[f"fps_{key}"] = result.frames / result.seconds
                row[f"cuts_{key}"] = result.cuts
            rows.append(row)
            print(_row(row), flush=True)
    (out_dir / "video.json").write_text(json.dumps(rows, indent=1))


def _real_clip(spec: str, out_dir: Path, max_frames: int) -> tuple[Path, str]:
    """``clip.mp4`` (its first ``max_frames`` frames) or ``clip.mp4@N`` (from frame N on:
    a later stretch of a clip, held out when the start was tuned on), resaved at 512 px;
    its path and name."""
    path, _, start = str(spec).partition("@")
    name = Path(path).stem + (f"@{start}" if start else "")
    small = out_dir / f"real-{name}.mp4"
    _resave(Path(path), small, max_frames, int(start or 0))
    return small, name


def _resave(src: Path, dst: Path, max_frames: int, start: int = 0) -> None:
    """``max_frames`` frames of a real clip from frame ``start``, at 512 px (what the
    stylizer sees), as MP4."""
    with VideoReader(src, size=512) as reader:
        writer = None
        for f in reader:
            if f.index < start:
                continue
            if f.index == start + max_frames:
                break
            if writer is None:
                h, w = f.image.shape[:2]
                writer = VideoWriter(dst, "mp4", w, h, time_base=reader.time_base, rate=reader.rate)
            writer.write(f.image, f.pts, f.duration)
        writer.close()


def _row(r) -> str:
    return (
        f"| {r['clip']} | {r['style']} | {1e3 * r['input']:.2f} | {1e3 * r['warp_off']:.2f} | "
        f"{1e3 * r['warp_on']:.2f} | {r['warp_on'] / r['warp_off']:.2f} | {r['style_off']:.3f} | "
        f"{r['style_on']:.3f} | {r['style_on'] / r['style_off'] - 1:+.1%} | "
        f"{r['content_off']:.3f} | {r['content_on']:.3f} | {r['fps_off']:.1f} | {r['fps_on']:.1f} | "
        f"{r['cuts_on']} |"
    )


def _settings(args) -> TemporalSettings:
    return replace(
        DEFAULT_TEMPORAL,
        **{k: getattr(args, k) for k in ("decay", "blend") if getattr(args, k) is not None},
    )


def sweep(args) -> None:
    """Warping error and style distance per setting on the synthetic clips
    (``--sweep-clips``) and any real ones (``--clip``). The rows before the engine's
    flow became DIS medium were measured with DIS fast, and run with it still."""
    stylizer = Stylizer(device=args.device)
    scorer = Scorer(stylizer.device)
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    grid = [
        ("off", None),
        ("statistics only (decay 0.9)", _grey_blend(decay=0.9, steps=(), blend=0.0)),
        ("output blend 0.7 only", _grey_blend(decay=0.0, steps=(), blend=0.7)),
        ("step 0 blend 0.8", _grey_blend(decay=0.0, steps=(0.8,))),
        ("step 0 blend 0.8, decay 0.9", _grey_blend(decay=0.9, steps=(0.8,))),
        ("step blends 0.8, 0.5, decay 0.9", _grey_blend(decay=0.9, steps=(0.8, 0.5))),
        ("step 0 blend 0.6", _grey_blend(decay=0.0, steps=(0.6,))),
        ("step 0 blend 0.4", _grey_blend(decay=0.0, steps=(0.4,))),
        ("step 0 blend 0.3", _grey_blend(decay=0.0, steps=(0.3,))),
        ("step 0 blend 0.3, decay 0.5", _grey_blend(decay=0.5, steps=(0.3,))),
        ("step 0 blend 0.6, decay 0.5", _grey_blend(decay=0.5, steps=(0.6,))),
        ("step 0 blend 0.35, decay 0.5", _grey_blend(steps=(0.35,))),
        ("step blends 0.45", _grey_blend(steps=(0.45,))),
        ("step blends 0.3, 0.15", _grey_blend(steps=(0.3, 0.15))),
        ("step blends 0.35, 0.15", _grey_blend(steps=(0.35, 0.15))),
        ("step blends 0.35, 0.25", _grey_blend(steps=(0.35, 0.25))),
        ("step blends 0.35, 0.35", _grey_blend(steps=(0.35, 0.35))),
        ("step blends 0.35, 0.25, 0.1", _grey_blend(steps=(0.35, 0.25, 0.1))),
        ("step blends 0.35, 0.25, output 0.1", _grey_blend(steps=(0.35, 0.25), blend=0.1)),
        # Colour blended apart, the luminance's weight found per frame (``colour``).
        *[
            (
                f"steadiness {_listed(steps)}, colour {_listed(colour)}",
                TemporalSettings(steps=steps, colour=colour, anchor=False, lowpass=0.0),
            )
            for steps, colour in [((0.35, 0.15), (0.9, 0.5)), ((0.4, 0.15), (0.9, 0.5))]
        ],
        # The content anchored to the lattice (``anchor``, the default since), and not.
        (
            "unanchored",
            TemporalSettings(steps=(0.4, 0.15), colour=(0.9, 0.5), anchor=False, lowpass=0.0),
        ),
        ("anchored, no blend", replace(DEFAULT_TEMPORAL, steps=(), colour=(), lowpass=0.0)),
        *[
            (
                f"anchored, steadiness {_listed(steps)}, colour {_listed(colour)}",
                replace(DEFAULT_TEMPORAL, steps=steps, colour=colour, lowpass=0.0),
            )
            for steps, colour in [
                ((0.4, 0.15), (0.9, 0.5)),
                ((0.35, 0.15), (0.9, 0.5)),
                ((0.4,), (0.9,)),
                ((0.5,), (0.9,)),
                ((0.4, 0.1), (0.9, 0.3)),
            ]
        ],
        (
            "anchored, steadiness 0.4, 0.15, colour 0.9, 0.5, decay 0.2",
            TemporalSettings(steps=(0.4, 0.15), colour=(0.9, 0.5), decay=0.2, lowpass=0.0),
        ),
        # The luminance split at σ 2 px, its fine band blended last (``lowpass``, the
        # default since).
        *[
            (
                f"split at 2 px, steadiness {_listed(steps)}, colour 0.9, 0.3",
                replace(DEFAULT_TEMPORAL, steps=steps, colour=(0.9, 0.3), lowpass=2.0),
            )
            for steps in [(0.4, 0.1), (0.5, 0.1), (0.5, 0.3), (0.5, 0.5), (0.6, 0.3)]
        ],
    ]
    grid = [(label, settings and replace(settings, flow_preset=FAST)) for label, settings in grid]
    grid += [
        # The engine's flow refined further than DIS fast's quarter resolution.
        (
            "flow refined to half resolution",
            replace(DEFAULT_TEMPORAL, flow_preset=FAST, flow_finest_scale=1),
        ),
        (
            "flow refined to half resolution, stride 6, 8 iterations",
            replace(
                DEFAULT_TEMPORAL,
                flow_preset=FAST,
                flow_finest_scale=1,
                flow_patch_stride=6,
                flow_iterations=8,
            ),
        ),
        (
            "flow DIS medium",
            replace(DEFAULT_TEMPORAL, flow_preset=cv2.DISOPTICAL_FLOW_PRESET_MEDIUM),
        ),
        # More weight at level 2, with DIS medium.
        *[
            (f"medium, steadiness 0.5, {w}", replace(DEFAULT_TEMPORAL, steps=(0.5, w)))
            for w in (0.15, 0.2)
        ],
    ]
    grid = [g for g in grid if args.only is None or g[0] in args.only]
    clips = []
    for name in args.sweep_clips:
        path = out_dir / f"clip-{name}.mp4"
        clips.append((name, path, motion_true(make_clip(SHOTS[name], path), (512, 288))))
    for clip in args.clip:  # real clips: motion estimated on the input
        path, name = _real_clip(clip, out_dir, args.max_frames)
        frames = read_frames(path)
        metrics = ["dis-medium", "consensus"] if args.metric_flow == "both" else [args.metric_flow]
        clips.append((name, path, tuple(motion_estimated(frames, m) for m in metrics)))
    for name, path, motion in clips:
        motions = motion if isinstance(motion, tuple) else (motion,)
        for style in args.styles:
            for label, settings in grid:
                result, frames, score = run(
                    stylizer, scorer, path, STYLE / style, settings is not None,
                    settings or DEFAULT_TEMPORAL, out_dir,
                )  # fmt: skip
                errors = " / ".join(f"{1e3 * mean_warping_error(frames, m):.3f}" for m in motions)
                print(
                    f"| {name} | {style} | {label} | {errors} | "
                    f"{score['style']:.3f} | {score['content']:.3f} | {result.frames / result.seconds:.1f} |",
                    flush=True,
                )


def _grey_blend(**settings) -> TemporalSettings:
    """The settings of the rows measured before colour had a weight of its own: one weight
    per step for luminance and colour alike (and frames not anchored, the whole
    difference blended)."""
    return TemporalSettings(
        **settings, colour=settings.get("steps", DEFAULT_TEMPORAL.steps), anchor=False, lowpass=0.0
    )


def _listed(weights: tuple[float, ...]) -> str:
    return ", ".join(f"{w:g}" for w in weights)


def rss(args) -> None:
    """Peak RSS of a child stylizing a synthetic 1080p clip; two lengths show it does not grow."""
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    for seconds in (1, 2):
        clip = out_dir / f"clip-1080p-{seconds}s.mp4"
        shot = Shot("chicago.jpg", FPS * seconds, pan=(4.0, 0.0), scale=2.6)
        make_clip([shot], clip, size=(1920, 1080))
        for size in (512, 1080):
            child = subprocess.run(
                [sys.executable, __file__, "--rss-child", str(clip), str(size)]
                + (["--device", args.device] if args.device else []),
                capture_output=True,
                text=True,
                check=True,
            )
            print(f"| 1920x1080, {seconds} s | {size} | {child.stdout.strip()} |", flush=True)


def rss_child(clip: str, size: int, device: str | None) -> None:
    stylizer = Stylizer(device=device)
    style = stylizer.encode_style(load_image(STYLE / "sketch.png"), 512, "wct")
    base = peak_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = stylize_video(
            stylizer, clip, [style], Path(tmp) / "out.mp4", StyleParams(size=size)
        )
        seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    print(
        f"{result.width}x{result.height} | {result.frames} | {result.frames / seconds:.2f} | "
        f"{base:.0f} | {peak:.0f}"
    )


def throughput(args) -> None:
    """Frames per second end to end (decode, stylize, encode) at 512 px on a 64-frame
    camera pan, the style encoded before the clock starts (a worker's style cache);
    temporal off, on without the content anchor, on with DIS fast as the engine's flow,
    and on (the default) alternate,
    ``--repeat`` rounds (the host drifts: alternating keeps the ratios fair)."""
    args.out.mkdir(parents=True, exist_ok=True)
    clip = args.out / "pan64.mp4"
    make_clip([replace(SHOTS["pan"][0], frames=64)], clip)
    stylizer = Stylizer(device=args.device)
    params = StyleParams(size=512)
    style = stylizer.encode_style(load_image(STYLE / args.styles[0]), 512, "wct")
    configs = {
        "off": (False, DEFAULT_TEMPORAL),
        "on, not anchored": (True, replace(DEFAULT_TEMPORAL, anchor=False)),
        "on, DIS fast": (True, replace(DEFAULT_TEMPORAL, flow_preset=FAST)),
        "on": (True, DEFAULT_TEMPORAL),
    }
    rates: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(args.repeat):
        for name, (temporal, settings) in configs.items():
            started = time.perf_counter()
            result = stylize_video(
                stylizer, clip, [style], args.out / "pan64_out.mp4", params,
                VideoParams(temporal=temporal), temporal=settings,
            )  # fmt: skip
            rates[name].append(result.frames / (time.perf_counter() - started))
    print(f"512 px, {stylizer.device}, networks in {stylizer.precision}")
    for name, values in rates.items():
        shown = ", ".join(f"{v:.2f}" for v in values)
        median = statistics.median(values)
        print(f"temporal {name}: {shown} frames/s (median {median:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--clip", nargs="*", default=[], help="real clips to add; clip.mp4@N: from frame N"
    )
    parser.add_argument(
        "--styles",
        nargs="+",
        default=["woman_with_hat_matisse.jpg", "sketch.png", "brushstrokes.jpg"],
    )
    parser.add_argument(
        "--metric-flow",
        choices=["dis-medium", "consensus", "both"],
        default="dis-medium",
        help="a real clip's motion, for the warping error (see motion_estimated); both: "
        "--sweep prints the two, DIS medium first",
    )
    parser.add_argument("--decay", type=float)
    parser.add_argument("--blend", type=float)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--sweep-clips", nargs="*", default=["pan", "zoom"], choices=list(SHOTS))
    parser.add_argument("--max-frames", type=int, default=64, help="of a real clip")
    parser.add_argument("--only", nargs="*", help="sweep only these settings (labels)")
    parser.add_argument("--fps", action="store_true", help="throughput, temporal off vs on")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of --fps")
    parser.add_argument("--rss", action="store_true")
    parser.add_argument("--rss-child", nargs=2, metavar=("CLIP", "SIZE"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "video")
    parser.add_argument("--device", help="cpu or cuda (default: the engine's, CUDA when present)")
    args = parser.parse_args()
    os.environ.setdefault("STYLIZE_WEIGHTS_DIR", str(SHARED / "weights"))
    if args.rss_child:
        rss_child(args.rss_child[0], int(args.rss_child[1]), args.device)
    elif args.fps:
        throughput(args)
    elif args.rss:
        rss(args)
    elif args.sweep:
        sweep(args)
    else:
        print(
            "| clip | style | input E_warp ×1e3 | off | on | on/off | style off | style on | Δ style | "
            "content off | content on | fps off | fps on | cuts found |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        table(args)


if __name__ == "__main__":
    main()
