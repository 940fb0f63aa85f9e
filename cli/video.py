"""``stylize run`` when the content is a video: frames stream through the engine into
OUT (``models.video.stylize``), with a progress bar over the frames and an ETA.

    stylize run clip.mp4 painting.jpg -o out.mp4                 # H.264, the clip's audio
    stylize run clip.mp4 painting.jpg -o out.mp4 --temporal off  # each frame alone
    stylize run clip.mov painting.jpg -o loop.gif --size 320     # an animated GIF

``cli/run.py`` sends a file here when its bytes say video (``is_video``: MP4, MOV,
WebM, or a GIF or WebP with more than one frame). The parameters are checked by
``models.video.params.parse_job_params``, the rule the API applies. The first Ctrl-C
finishes the video so far (a shorter, playable file, as a canceled API job keeps); a
second one stops at once and leaves no file.
"""

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from cli.progress import ProgressBars
from models.errors import InvalidParameter
from models.types import ProgressCallback, ProgressEvent
from models.video.formats import ANIMATIONS, sniff_container, sniff_video

SUFFIXES = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".webm": "webm",
    ".gif": "gif",
    ".webp": "webp",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
}


def add_options(run: argparse.ArgumentParser) -> None:
    """The options of ``stylize run`` that only videos take."""
    run.add_argument(
        "--temporal",
        choices=["on", "off"],
        help="videos: temporal consistency, on (default: steadier strokes) or off (each "
        "frame stylized alone, the per-frame baseline; it flickers)",
    )


def is_video(path: Path) -> bool:
    """Whether ``path`` is a video by its bytes (a file that cannot be read is not: the
    image path then says why)."""
    try:
        with open(path, "rb") as file:
            head = file.read(64)
        container = sniff_container(head)
        if container in ANIMATIONS:  # a video only with more than one frame
            return sniff_video(path.read_bytes()) is not None
    except OSError:
        return False
    return container is not None


def refuse_video_options(args: argparse.Namespace) -> None:
    """The content is an image: options of videos are mistakes, not silently ignored."""
    if args.temporal is not None:
        raise InvalidParameter(
            "temporal applies to videos only, and the content is an image", field="temporal"
        )


def run_video(
    args: argparse.Namespace,
    content: Path,
    styles: list[Path],
    output: Path,
    style_fields: dict[str, Any],
) -> int:
    """``stylize run`` for a video CONTENT: frames stream through the engine into OUT."""
    from models import runtime, weights
    from models.images import load_image, load_mask
    from models.video.params import parse_job_params

    started = time.perf_counter()
    format = args.format or SUFFIXES.get(output.suffix.lower())
    if format is None:
        raise InvalidParameter(
            f"cannot tell the format from {output.name!r}; use .mp4, .webm, .webp or "
            ".gif, or --format",
            field="output",
        )
    values = {**style_fields, "format": format, "temporal": args.temporal}
    params, video = parse_job_params({k: v for k, v in values.items() if v is not None},
                                     video=True)  # fmt: skip
    style_images = [load_image(p, field=f"style[{i}]") for i, p in enumerate(styles)]
    mask = load_mask(args.mask) if args.mask else None

    from models.stylizer import Stylizer  # torch is imported only to stylize
    from models.video.stylize import stylize_video

    runtime.configure()
    output.parent.mkdir(parents=True, exist_ok=True)
    with (
        ProgressBars() as bars,
        weights.download_missing(progress=bars.download),
        CtrlC() as interrupted,
    ):
        stylizer = Stylizer(device=args.device)
        result = stylize_video(stylizer, content, style_images, output, params, video,
                               mask=mask, progress=_frames(bars), should_cancel=interrupted,
                               preview_every=0)  # fmt: skip
    seconds = time.perf_counter() - started
    what = f"{result.width}×{result.height} {result.format}, {result.frames} frames, "
    what += f"{result.duration:.2f} s{', with audio' if result.has_audio else ''}"
    temporal = "temporal on" if video.temporal else "temporal off"
    partial = " (stopped early: the frames stylized so far)" if result.canceled else ""
    rate = result.frames / max(result.seconds, 1e-9)
    print(
        f"wrote {output}{partial} ({what}; {args.method}, {temporal}) in {seconds:.1f} s "
        f"({rate:.2f} frames/s on {stylizer.device}, {stylizer.precision})"
    )
    return 0


def _frames(bars: ProgressBars) -> ProgressCallback:
    """The engine's frame events as a bar of frames done (its frames count from 0)."""

    def report(event: ProgressEvent) -> None:
        if event.stage == "frame" and event.iteration is not None:
            bars.stage(ProgressEvent("frames", event.fraction, event.iteration + 1, event.total))

    return report


class CtrlC:
    """``should_cancel`` for the engine: true after the first Ctrl-C (the engine then
    finishes the video so far); a second Ctrl-C raises ``KeyboardInterrupt`` at once."""

    def __init__(self) -> None:
        self.requested = False

    def __enter__(self) -> "CtrlC":
        self._previous = signal.signal(signal.SIGINT, self._interrupt)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def __call__(self) -> bool:
        return self.requested

    def _interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this frame (Ctrl-C again: at once, no file)", file=sys.stderr)
