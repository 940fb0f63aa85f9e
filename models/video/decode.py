"""Stream a video's frames as RGB arrays at the working size, one at a time; torch-free.

Containers go through PyAV (FFmpeg), GIF and WebP animations through Pillow (FFmpeg
cannot decode animated WebP). A frame is converted and resized as it is decoded
(swscale does both in one pass for PyAV), turned upright by the stream's rotation
metadata, and handed on: nothing holds more than the decoder's own few frames, so a
minute of 4K costs the memory of a handful of frames.

Timestamps are the source's own (``pts`` in ``time_base``), so a variable-frame-rate
clip keeps its timing and the audio stays in sync when it is copied. A frame without a
timestamp gets the previous one's plus a frame; a timestamp that does not increase is
nudged one tick later, because encoders refuse non-increasing timestamps.
"""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction

import av
import numpy as np
from av.container import InputContainer
from PIL import Image

from models.errors import InvalidVideo
from models.images import resize_longest, to_rgb
from models.video.formats import ANIMATIONS
from models.video.source import (
    DEFAULT_VIDEO_LIMITS,
    VideoLimits,
    VideoSource,
    animation_duration_ms,
    av_errors,
    check_frames,
    check_pixels,
    check_seconds,
    open_animation,
    open_av,
    pillow_errors,
    source_container,
)

# Colourspace of untagged video: players assume BT.709 from 720 lines up, BT.601 below.
_HD_LINES = 720
_UNSPECIFIED = 2  # AVCOL_SPC_UNSPECIFIED


@dataclass(frozen=True)
class Frame:
    index: int
    pts: int  # in time_base units, as in the source
    duration: int  # in time_base units: until the next frame (the last: its own)
    time_base: Fraction
    image: np.ndarray  # (H, W, 3) uint8 RGB at the working size, C-contiguous

    @property
    def time(self) -> float:
        return float(self.pts * self.time_base)


def frame_size(width: int, height: int, size: int | None, even: bool) -> tuple[int, int]:
    """The working size: longest side ``size`` (as ``resize_longest``), then, with ``even``,
    one pixel less on an odd side: yuv420p stores colour per 2×2 block, so H.264 and VP9
    need even sides. The pixel is cropped (last column/row), not stretched."""
    if size is not None and max(width, height) != size:
        short = max(1, round(min(width, height) * size / max(width, height)))
        width, height = (size, short) if width >= height else (short, size)
    if even:
        width, height = max(2, width - width % 2), max(2, height - height % 2)
    return width, height


class VideoReader:
    """``with VideoReader(source, size=512) as reader: for frame in reader: ...``

    ``size`` is the longest side of the frames handed out (None: the source's), ``even``
    crops odd sides (see ``frame_size``). Limits are enforced again while reading,
    whatever the probe saw: a file may declare less than it holds.
    """

    def __init__(
        self,
        source: VideoSource,
        *,
        size: int | None = 512,
        even: bool = True,
        limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
        field: str = "content",
    ) -> None:
        self.field, self.limits, self.size, self.even = field, limits, size, even
        self.container = source_container(source, limits, field)
        self._source = source
        self._file = None
        if self.container in ANIMATIONS:
            self._file = open_animation(source, field)
            self.time_base = Fraction(1, 1000)
            frames = int(getattr(self._file, "n_frames", 1))
            self.rate = None  # known only after reading the durations
            width, height = self._file.size
            self.frames_declared = frames
        else:
            self._file = open_av(source, self.container, field)
            with av_errors(field, f"unusable {self.container} file"):
                if not self._file.streams.video:
                    raise InvalidVideo(
                        f"the {self.container} file has no video stream", field=field
                    )
                self._video = self._file.streams.video[0]
                self._video.thread_type = "AUTO"  # frame threads: ~2× on 2 cores
                self.time_base = self._video.time_base or Fraction(1, 90_000)
                self.rate = self._video.average_rate or self._video.guessed_rate
                width, height = self._video.codec_context.width, self._video.codec_context.height
                self.frames_declared = self._video.frames
        check_pixels(width, height, limits, field)
        self.source_size = (width, height)  # stored orientation, before rotation

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def open_audio(self) -> InputContainer | None:
        """A second demuxer on the source for its first audio stream, or None without one."""
        if self.container in ANIMATIONS or not self._file.streams.audio:
            return None
        return open_av(self._source, self.container, self.field)

    def __iter__(self) -> Iterator[Frame]:
        frames = self._animation_frames() if self.container in ANIMATIONS else self._av_frames()
        previous: Frame | None = None
        for index, (pts, duration, image) in enumerate(frames):
            check_frames(index + 1, self.limits, self.field, at_least=True)
            if previous is None:
                pts = 0 if pts is None else pts
                first = pts
            else:  # a frame lasts until the next one starts: hand it out now
                pts = previous.pts + previous.duration if pts is None else pts
                pts = max(pts, previous.pts + 1)
                yield replace(previous, duration=pts - previous.pts)
            check_seconds(float((pts - first) * self.time_base), self.limits, self.field)
            previous = Frame(index, pts, duration, self.time_base, image)
        if previous is not None:
            yield previous

    # -- PyAV -----------------------------------------------------------------------------
    def _av_frames(self) -> Iterator[tuple[int | None, int, np.ndarray]]:
        step = max(1, round(1 / (self.rate * self.time_base))) if self.rate else 1
        with av_errors(self.field, f"corrupt {self.container} data"):
            # demux() ends with an empty packet, whose decode() flushes the decoder.
            for packet in self._file.demux(self._video):
                for frame in packet.decode():
                    yield frame.pts, frame.duration or step, self._convert(frame)

    def _convert(self, frame: av.VideoFrame) -> np.ndarray:
        check_pixels(frame.width, frame.height, self.limits, self.field)
        quarter_turns = round(frame.rotation / 90) % 4
        width, height = frame.width, frame.height
        if quarter_turns % 2:
            width, height = height, width
        out_w, out_h = frame_size(width, height, self.size, False)
        if quarter_turns % 2:
            out_w, out_h = out_h, out_w
        colorspace = None
        if frame.colorspace == _UNSPECIFIED:
            colorspace = "itu709" if frame.height >= _HD_LINES else "itu601"
        rgb = frame.reformat(
            out_w,
            out_h,
            "rgb24",
            src_colorspace=colorspace,
            interpolation="AREA" if out_w < frame.width else "BICUBIC",
            src_color_range=frame.color_range or None,
        ).to_ndarray()
        # rotation is counter-clockwise in FFmpeg's display matrix, as np.rot90 turns.
        return self._crop(np.rot90(rgb, quarter_turns) if quarter_turns else rgb)

    # -- Pillow animations ----------------------------------------------------------------
    def _animation_frames(self) -> Iterator[tuple[int, int, np.ndarray]]:
        image: Image.Image = self._file
        pts = 0
        with pillow_errors(self.field, f"corrupt {self.container.upper()} data"):
            for i in range(self.frames_declared):
                image.seek(i)
                image.load()
                duration = animation_duration_ms(image)
                rgb = resize_longest(to_rgb(image), self.size)
                yield pts, duration, self._crop(np.asarray(rgb))
                pts += duration

    def _crop(self, rgb: np.ndarray) -> np.ndarray:
        if self.even:
            h, w = rgb.shape[:2]
            rgb = rgb[: max(2, h - h % 2), : max(2, w - w % 2)]
        return np.ascontiguousarray(rgb)
