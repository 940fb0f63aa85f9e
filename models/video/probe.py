"""Is this upload a usable video, and how big is it? Torch-free, for the API.

``probe_video`` reads the whole file's packet index, not its pixels: it counts frames,
measures the duration from the timestamps (headers can lie), refuses what is over the
limits, and finds truncation (fewer packets than the file declares, or data that ends
before the declared duration). It decodes the first and last key frames to prove the
codec works. Corrupt inter frames in an otherwise intact file are found by the worker
while decoding, with the same error. GIF and WebP animations are decoded whole with
Pillow (their frames hold no index); the limits bound that work.
"""

from dataclasses import dataclass
from fractions import Fraction

from av.audio.stream import AudioStream
from av.container import InputContainer
from av.packet import Packet
from av.video.stream import VideoStream

from models.errors import InvalidVideo
from models.video.formats import ANIMATIONS, Container
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


@dataclass(frozen=True)
class VideoInfo:
    format: Container  # the container: mp4, mov, webm, matroska, gif or webp
    width: int  # as displayed (rotation metadata applied), before resizing
    height: int
    fps: float  # average frame rate
    frames: int  # counted, not declared
    duration: float  # seconds, first frame's start to last frame's end
    has_audio: bool


def probe_video(
    source: VideoSource, *, field: str = "content", limits: VideoLimits = DEFAULT_VIDEO_LIMITS
) -> VideoInfo:
    """Check an uploaded video (bytes or a path) against ``limits`` and describe it.

    Raises ``VideoTooLarge`` (naming the limit) or ``InvalidVideo``.
    """
    container = source_container(source, limits, field)
    if container in ANIMATIONS:
        return _probe_animation(source, container, field, limits)
    with open_av(source, container, field) as file:
        return _probe_av(file, container, field, limits)


def _probe_av(
    file: InputContainer, container: Container, field: str, limits: VideoLimits
) -> VideoInfo:
    with av_errors(field, f"truncated or corrupt {container} data"):
        if not file.streams.video:
            raise InvalidVideo(f"the {container} file has no video stream", field=field)
        video = file.streams.video[0]
        audio = file.streams.audio[0] if file.streams.audio else None
        width, height = video.codec_context.width, video.codec_context.height
        if not width or not height:
            raise InvalidVideo("the video stream declares no frame size", field=field)
        check_pixels(width, height, limits, field)
        if video.frames:  # MP4 declares its frame count: refuse before reading
            check_frames(video.frames, limits, field)
        if video.duration and video.time_base:
            check_seconds(float(video.duration * video.time_base), limits, field)

        index = _PacketIndex(video, audio)
        for packet in file.demux(*[s for s in (video, audio) if s is not None]):
            index.add(packet, field)
            check_frames(index.video_packets, limits, field, at_least=True)
            check_seconds(index.video_seconds, limits, field)
        index.check_complete(file, video, audio, field)

        decoded = [f for p in index.key_packets for f in video.decode(p)]
        decoded += video.decode(None)
        if not decoded:
            raise InvalidVideo("no frame of the video could be decoded", field=field)
        if decoded[0].rotation % 180:
            width, height = height, width
        fps = float(video.average_rate or 0) or index.video_packets / max(index.video_seconds, 1e-3)
        return VideoInfo(
            container,
            width,
            height,
            fps,
            index.video_packets,
            index.video_seconds,
            audio is not None and index.audio_packets > 0,
        )


class _PacketIndex:
    """Counts and time span of each stream's packets, as read (not as declared)."""

    def __init__(self, video: VideoStream, audio: AudioStream | None) -> None:
        self.video, self.audio = video, audio
        self.video_packets = self.audio_packets = 0
        self.start: Fraction | None = None
        self.video_end = self.audio_end = Fraction(0)
        self.key_packets: list[Packet] = []  # the first and the last key frame

    def add(self, packet: Packet, field: str) -> None:
        if packet.size == 0:  # the demuxer's end-of-stream marker
            return
        if packet.is_corrupt:
            raise InvalidVideo("the video holds a corrupt packet", field=field)
        if packet.pts is None:
            time = self.video_end if packet.stream.index == self.video.index else self.audio_end
        else:
            time = packet.pts * packet.time_base
        end = time + (packet.duration or 0) * packet.time_base
        if packet.stream.index == self.video.index:
            self.video_packets += 1
            self.start = time if self.start is None else min(self.start, time)
            self.video_end = max(self.video_end, end)
            if packet.is_keyframe:
                self.key_packets = [*self.key_packets[:1], packet]
        else:
            self.audio_packets += 1
            self.audio_end = max(self.audio_end, end)

    @property
    def video_seconds(self) -> float:
        return float(self.video_end - self.start) if self.start is not None else 0.0

    def check_complete(
        self, file: InputContainer, video: VideoStream, audio: AudioStream | None, field: str
    ) -> None:
        """A file cut short demuxes without an error, so compare with what it declares."""
        if self.video_packets == 0:
            raise InvalidVideo("the video stream holds no frames", field=field)
        if not self.key_packets:
            raise InvalidVideo("the video stream has no key frame to start from", field=field)
        declared = [(video, self.video_packets), (audio, self.audio_packets)]
        for stream, read in declared:
            if stream is not None and stream.frames and read < stream.frames:
                raise InvalidVideo(
                    f"truncated: the file declares {stream.frames} {stream.type} frames "
                    f"but holds {read}",
                    field=field,
                )
        if not any(s is not None and s.frames for s, _ in declared) and file.duration:
            # Matroska/WebM declare only a duration: the data must reach its end.
            start = Fraction(file.start_time or 0, 1_000_000)
            declared_end = start + Fraction(file.duration, 1_000_000)
            frame = 1 / (video.average_rate or 25)
            data_end = max(self.video_end, self.audio_end)
            if data_end < declared_end - max(Fraction(1, 10), 2 * frame):
                raise InvalidVideo(
                    f"truncated: the file declares {float(declared_end - start):.2f} s "
                    f"but its data ends at {float(data_end - start):.2f} s",
                    field=field,
                )


def _probe_animation(
    source: VideoSource, container: Container, field: str, limits: VideoLimits
) -> VideoInfo:
    with (
        open_animation(source, field) as image,
        pillow_errors(field, f"truncated or corrupt {container.upper()} data"),
    ):
        width, height = image.size
        check_pixels(width, height, limits, field)
        frames = int(getattr(image, "n_frames", 1))
        if frames < 2:
            raise InvalidVideo(
                f"a still {container.upper()} (one frame) is an image, not a video", field=field
            )
        check_frames(frames, limits, field)
        milliseconds = 0
        for i in range(frames):
            image.seek(i)
            image.load()  # a truncated frame fails here
            milliseconds += animation_duration_ms(image)
            check_seconds(milliseconds / 1000, limits, field)
    seconds = milliseconds / 1000
    return VideoInfo(container, width, height, frames / seconds, frames, seconds, False)
