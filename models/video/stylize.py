"""Stylize a video: decode → stylize → encode, one frame at a time.

Usage::

    stylizer = Stylizer()
    result = stylize_video(stylizer, "clip.mp4", [painting], "out.mp4", StyleParams(size=512))

Memory stays that of a few frames whatever the clip's length: frames stream from the
decoder through the stylizer into the encoder, and only the previous frame (input and
output) and each cascade step's smoothed statistics are kept between frames. A frame
that repeats the last one stylized (``repeats``) is given its output again.

Cancelation is checked between frames (and between cascade levels inside a frame). A
canceled video keeps what it has: the file is finished as a playable, shorter video
(audio cut at the same point) and the result says ``canceled=True``, like a canceled
Gatys job's partial image. Canceled before any frame was written, nothing is kept and
``Canceled`` is raised. On any error the output file is removed.
"""

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from PIL import Image

from models.cascade import StyleFeatures
from models.errors import Canceled, InvalidVideo
from models.params import StyleParams, check_inputs
from models.stylizer import Stylizer
from models.types import CancelCheck, ProgressCallback, ProgressEvent
from models.video.decode import Frame, VideoReader, frame_size
from models.video.encode import EVEN_SIDES, VideoWriter
from models.video.formats import CONTENT_TYPES, VideoFormat
from models.video.params import VideoParams, check_video_params
from models.video.probe import probe_video
from models.video.source import DEFAULT_VIDEO_LIMITS, VideoLimits, VideoSource
from models.video.temporal import DEFAULT_TEMPORAL, Temporal, TemporalSettings


@dataclass
class VideoResult:
    path: str
    format: VideoFormat
    frames: int  # written
    width: int
    height: int
    fps: float  # the source's average frame rate
    duration: float  # seconds of video written
    has_audio: bool
    seconds: float  # wall-clock time taken
    canceled: bool = False  # a partial video: the first ``frames`` frames
    cuts: list[int] = field(default_factory=list)  # frames where the history was reset
    repeated: int = 0  # frames that repeated the last one stylized: its output again

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def stylize_video(
    stylizer: Stylizer,
    content: VideoSource,
    styles: Sequence[Image.Image | StyleFeatures],
    output: str | os.PathLike[str],
    params: StyleParams | None = None,
    video: VideoParams | None = None,
    *,
    mask: Image.Image | None = None,
    limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
    temporal: TemporalSettings = DEFAULT_TEMPORAL,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    preview_every: int = 25,
) -> VideoResult:
    """Stylize every frame of ``content`` (bytes or a path) into ``output`` (a path).

    ``params`` apply to each frame as to an image (``size`` is the frames' longest side);
    ``video`` picks the output format and temporal consistency. Progress comes as
    ``ProgressEvent("frame", iteration=i, total=frames)``, with the latest frame as
    ``preview`` every ``preview_every`` frames (0: never).
    """
    started = time.perf_counter()
    params, video = params or StyleParams(), video or VideoParams()
    # 1. Everything that can be refused is refused before any work.
    check_video_params(params)
    info = probe_video(content, limits=limits)
    check_inputs(params, len(styles), (info.width, info.height), mask.size if mask else None)
    even = video.format in EVEN_SIDES
    width, height = frame_size(info.width, info.height, params.size, even)
    # 2. The styles are encoded once for the whole video.
    features = [
        s
        if isinstance(s, StyleFeatures)
        else stylizer.encode_style(s, params.style_size, params.method)
        for s in styles
    ]
    frame_params = params.model_copy(update={"size": None})  # frames arrive resized
    if mask is not None:  # drawn on the frame: the canvas must not move under it
        temporal = replace(temporal, anchor=False)
    stride = stylizer.recipe(params.method).stride
    history = Temporal(temporal, stride) if video.temporal else None
    result = VideoResult(
        os.fspath(output), video.format, 0, width, height, info.fps, 0.0, False, 0.0
    )
    # 3. Frames stream through: decode → stylize → blend with the history → encode.
    with VideoReader(content, size=params.size, even=even, limits=limits) as reader:
        writer = VideoWriter(
            output,
            video.format,
            width,
            height,
            time_base=reader.time_base,
            rate=reader.rate or info.fps,
            audio=reader.open_audio(),
        )
        # The last frame stylized, as decoded, and its output.
        previous: tuple[np.ndarray, np.ndarray] | None = None
        try:
            for frame in reader:
                if should_cancel and should_cancel():
                    result.canceled = True
                    break
                _check_size(frame, width, height)
                if previous is not None and repeats(frame.image, previous[0]):
                    # A repeated frame (24 frames/s material made 25 repeats one every
                    # second) gets the same output, without a stylization or a step of
                    # the history, which would only have moved it.
                    pixels = previous[1]
                    result.repeated += 1
                else:
                    image = frame.image
                    if history is not None:
                        if history.start(image):
                            result.cuts.append(frame.index)
                        image = history.place(image)
                    try:
                        stylized = stylizer.stylize(
                            Image.fromarray(image),
                            features,
                            frame_params,
                            mask=mask,
                            should_cancel=should_cancel,
                            content_stats=history.statistics if history is not None else None,
                            step_output=history.step_output if history is not None else None,
                        )
                    except Canceled:
                        result.canceled = True
                        break
                    pixels = np.asarray(stylized.image)
                    if history is not None:
                        pixels = history.finish(pixels)
                    previous = (frame.image, pixels)
                writer.write(pixels, frame.pts, frame.duration)
                result.frames += 1
                result.duration = writer.duration
                if progress:
                    _report(progress, frame.index, info.frames, pixels, preview_every)
            if result.frames == 0 and result.canceled:
                raise Canceled("canceled before the first frame was written")
            if result.frames == 0:
                raise InvalidVideo("no frame of the video could be decoded", field="content")
            writer.close(until=writer.end if result.canceled else None)
        except BaseException:
            writer.abort()
            raise
    result.has_audio = writer.has_audio
    result.seconds = time.perf_counter() - started
    if progress and not result.canceled:
        progress(ProgressEvent("done", 1.0))
    return result


# A frame repeats the last one stylized when no 8×8 block of it differs from that one by
# more than this, in grey levels on average: a repeated frame decodes a few levels off
# where the encoder refined it (at most 3 over Big Buck Bunny's five repeats at 512 px,
# 1 in a clip made in the tests; more in one colour channel, hence the grey); the least
# real change seen between two frames was 10 (Big Buck Bunny, a still camera), 15 on
# bikes and 16 on carphone.
REPEAT_LEVELS = 5
# ... and the whole frame by no more than this on average (repeats: 0.01–0.1): a slow
# fade moves every block a little, and held until it passed 5 levels it would step.
REPEAT_MEAN = 0.5


def repeats(image: np.ndarray, previous: np.ndarray) -> bool:
    """Whether ``image`` shows the same picture as ``previous`` (uint8 (H, W, 3) RGB
    frames): a repeat, not a still scene's next frame, in which something always moves,
    nor a step of a fade."""
    difference = cv2.cvtColor(cv2.absdiff(image, previous), cv2.COLOR_RGB2GRAY)
    if float(difference.mean()) > REPEAT_MEAN:
        return False
    block = cv2.blur(difference, (8, 8), borderType=cv2.BORDER_REFLECT)
    return int(block.max()) <= REPEAT_LEVELS


def _check_size(frame: Frame, width: int, height: int) -> None:
    """Every frame must come out at the video's size: the encoder takes one frame size.
    Frames of another resolution are resized to it; one of another aspect ratio (a
    stream that changes shape midway, rare) cannot be, and the video is refused."""
    if frame.image.shape[:2] != (height, width):
        raise InvalidVideo(
            f"frame {frame.index} is {frame.image.shape[1]}x{frame.image.shape[0]} where "
            f"the video's frames are {width}x{height}",
            field="content",
        )


def _report(
    progress: ProgressCallback, index: int, total: int, pixels: np.ndarray, preview_every: int
) -> None:
    preview = Image.fromarray(pixels) if preview_every and index % preview_every == 0 else None
    fraction = min(1.0, (index + 1) / max(total, 1))
    progress(ProgressEvent("frame", fraction, iteration=index, total=total, preview=preview))
