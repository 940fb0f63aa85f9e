"""Write stylized frames as a video, one at a time, with the source's audio; torch-free.

Formats (``VideoFormat``):

- ``mp4``: H.264 (libx264, CRF 18, preset veryfast), yuv420p, BT.709 tagged, with
  ``+faststart`` so browsers play it before it has fully downloaded.
- ``webm``: VP9 (libvpx-vp9, CRF 30, realtime deadline: 4 ms a frame at 512 px, where
  the "good" deadline takes 15), yuv420p; audio as Opus.
- ``webp``: an animated WebP (libwebp, quality 90), looping; no audio.
- ``gif``: an animated GIF, 256 colours per frame (Pillow's octree palette, dithered),
  looping; durations in hundredths of a second, as GIF stores them; no audio.

Frames keep the source's timestamps (see ``decode``), so the frame rate, a variable
frame rate, and audio sync all carry over. The first audio stream is copied packet by
packet (no re-encoding) when the output container accepts its codec, otherwise
transcoded (AAC for MP4, Opus for WebM). Audio is written as the video advances, so the
file is interleaved and nothing is buffered.
"""

import contextlib
import os
from fractions import Fraction

import av
import numpy as np
from av.audio.resampler import AudioResampler
from av.container import InputContainer, OutputContainer
from PIL import Image

from models.errors import InvalidParameter
from models.video.formats import CONTENT_TYPES, VideoFormat
from models.video.source import av_errors

# (codec, encoder options, pixel format) per output format.
_VIDEO_CODECS: dict[str, tuple[str, dict[str, str], str]] = {
    "mp4": ("libx264", {"crf": "18", "preset": "veryfast"}, "yuv420p"),
    "webm": (
        "libvpx-vp9",
        {"crf": "30", "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
        "yuv420p",
    ),
    "webp": ("libwebp_anim", {"quality": "90"}, "bgra"),
    "gif": ("gif", {}, "pal8"),
}
_CONTAINER_OPTIONS: dict[str, dict[str, str]] = {
    "mp4": {"movflags": "+faststart"},
    "webp": {"loop": "0"},
    "gif": {"loop": "0"},
}
_AUDIO_CODECS: dict[str, tuple[str, int | None]] = {
    "mp4": ("aac", None),
    "webm": ("libopus", 48_000),
}
EVEN_SIDES = frozenset({"mp4", "webm"})  # yuv420p: colour per 2×2 block


class VideoWriter:
    """``with VideoWriter(path, "mp4", w, h, time_base=..., rate=...) as out: out.write(...)``

    ``audio``: a demuxer (``VideoReader.open_audio``) whose first audio stream is carried
    over (mp4 and webm; the writer closes it).
    ``close(until=t)`` ends the file at ``t`` seconds of audio (a partial video);
    ``abort()`` removes the file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        format: VideoFormat,
        width: int,
        height: int,
        *,
        time_base: Fraction,
        rate: Fraction | float | None,
        audio: InputContainer | None = None,
    ) -> None:
        if format not in CONTENT_TYPES:
            raise InvalidParameter(
                f"unknown video format {format!r}; use one of {', '.join(CONTENT_TYPES)}",
                field="format",
            )
        if format in EVEN_SIDES and (width % 2 or height % 2):
            raise ValueError(f"{format} needs even sides, got {width}x{height}")
        self.path, self.format = os.fspath(path), format
        self.frames = 0
        self.start: float | None = None  # seconds, of the first frame
        self.end = 0.0  # seconds, where the last frame written ends
        self._output: OutputContainer = av.open(
            self.path, "w", format=format, options=_CONTAINER_OPTIONS.get(format, {})
        )
        try:
            codec, options, pix_fmt = _VIDEO_CODECS[format]
            rate = Fraction(rate).limit_denominator(1001 * 1000) if rate else None
            self._video = self._output.add_stream(codec, rate=rate, options=options)
            self._video.width, self._video.height, self._video.pix_fmt = width, height, pix_fmt
            self._video.codec_context.time_base = self._time_base = time_base
            if pix_fmt == "yuv420p":  # pixels converted with BT.709 below; say so
                context = self._video.codec_context
                context.colorspace = context.color_primaries = context.color_trc = 1
                context.color_range = 1  # limited ("TV") range
            self._audio: _AudioTrack | None = None
            if audio is not None and format in _AUDIO_CODECS:
                self._audio = _AudioTrack(audio, self._output, format)
            elif audio is not None:
                audio.close()
        except BaseException:
            self._output.close()
            with contextlib.suppress(OSError):
                os.remove(self.path)
            raise

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, kind: type | None, *exc: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def duration(self) -> float:
        """Seconds of video written so far."""
        return self.end - self.start if self.start is not None else 0.0

    @property
    def has_audio(self) -> bool:
        return self._audio is not None

    def write(self, image: np.ndarray, pts: int, duration: int) -> None:
        """One (H, W, 3) uint8 RGB frame at ``pts`` (in the writer's time base)."""
        frame = self._frame(image)
        frame.pts, frame.time_base, frame.duration = pts, self._time_base, duration
        for packet in self._video.encode(frame):
            self._output.mux(packet)
        self.frames += 1
        if self.start is None:
            self.start = float(pts * self._time_base)
        self.end = float((pts + duration) * self._time_base)
        if self._audio is not None:
            self._audio.write_until(self.end)

    def close(self, until: float | None = None) -> None:
        """Flush the encoder and finish the file; the audio runs to its end, or ``until``."""
        if self._output is None:
            return
        with av_errors("content", "cannot finish the video"):
            for packet in self._video.encode(None):
                self._output.mux(packet)
            if self._audio is not None:
                self._audio.write_until(until)
                self._audio.close()
            self._output.close()  # writes the index (and moves it to the front for mp4)
        self._output = None

    def abort(self) -> None:
        """Stop without a usable file: nothing is left on disk."""
        if self._output is not None:
            with contextlib.suppress(Exception):
                if self._audio is not None:
                    self._audio._file.close()
                self._output.close()
            self._output = None
        with contextlib.suppress(OSError):
            os.remove(self.path)

    def _frame(self, image: np.ndarray) -> av.VideoFrame:
        if self.format == "gif":
            paletted = Image.fromarray(image).quantize(
                256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG
            )
            rgb = np.asarray(paletted.getpalette()[: 3 * 256], np.uint8).reshape(-1, 3)
            argb = np.zeros((256, 4), np.uint8)
            argb[:, 0], argb[: len(rgb), 1:] = 255, rgb
            return av.VideoFrame.from_ndarray((np.asarray(paletted), argb), format="pal8")
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        if self._video.pix_fmt == "yuv420p":
            return frame.reformat(format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG")
        return frame


class _AudioTrack:
    """The first audio stream of ``file`` (a demuxer of its own on the source, so the
    frames' decoder and this never wait for each other), copied or transcoded into the
    output as the video advances."""

    def __init__(self, file: InputContainer, output: OutputContainer, format: str) -> None:
        self._file = file
        self._input = file.streams.audio[0]
        self._packets = file.demux(self._input)
        self._output = output
        self._pending: av.Packet | None = None
        self._resampler: AudioResampler | None = None
        if self._input.codec_context.name in output.supported_codecs:
            self._stream = output.add_stream_from_template(self._input)  # copied as is
            return
        codec, rate = _AUDIO_CODECS[format]
        self._stream = output.add_stream(codec, rate=rate or self._input.codec_context.sample_rate)
        context = self._stream.codec_context
        channels = self._input.codec_context.layout.nb_channels
        context.layout = "mono" if channels == 1 else "stereo"
        self._resampler = AudioResampler(
            format=context.format, layout=context.layout, rate=context.sample_rate
        )

    def write_until(self, seconds: float | None) -> None:
        """Mux every audio packet that starts before ``seconds`` (None: all of them)."""
        with av_errors("content", "corrupt audio data"):
            while True:
                packet = self._pending or next(self._packets, None)
                self._pending = None
                if packet is None:
                    return
                if packet.size == 0 or packet.dts is None:  # end marker, or no timing
                    continue
                start = float(packet.pts * packet.time_base) if packet.pts is not None else 0.0
                if seconds is not None and start >= seconds:
                    self._pending = packet
                    return
                if self._resampler is None:
                    packet.stream = self._stream
                    self._output.mux(packet)
                else:
                    for frame in packet.decode():
                        self._encode(frame)

    def _encode(self, frame: av.AudioFrame | None) -> None:
        for resampled in self._resampler.resample(frame):
            for packet in self._stream.encode(resampled):
                self._output.mux(packet)

    def close(self) -> None:
        """Flush a transcoder and close the source."""
        try:
            if self._resampler is not None:
                with av_errors("content", "corrupt audio data"):
                    self._encode(None)
                    for packet in self._stream.encode(None):
                        self._output.mux(packet)
        finally:
            self._file.close()
