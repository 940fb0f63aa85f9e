"""Small video clips made in the tests with PyAV directly (not with the code under test)."""

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from tests.support.paths import SHARED


def write_clip(
    path: Path,
    frames: Sequence[np.ndarray],
    *,
    fps: int = 25,
    pts: Sequence[int] | None = None,
    audio: bool = True,
    format: str = "mp4",
    rotation: int | None = None,
) -> Path:
    """Frames (H, W, 3) uint8 as H.264 (mp4) or VP9 (webm) at ``fps``; ``pts`` in 1/fps
    ticks makes it variable-rate. ``audio``: a 440 Hz tone (AAC or Opus) as long as the video."""
    height, width = frames[0].shape[:2]
    pts = list(pts) if pts is not None else list(range(len(frames)))
    with av.open(str(path), "w", format=format) as output:
        video = output.add_stream("libx264" if format == "mp4" else "libvpx-vp9", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = Fraction(1, fps)
        if rotation is not None:
            video.set_display_rotation(rotation)
        sound = None
        if audio:
            sound = output.add_stream("aac" if format == "mp4" else "libopus", rate=48_000)
        for frame, t in zip(frames, pts, strict=True):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts, picture.time_base = t, Fraction(1, fps)
            output.mux(video.encode(picture))
        output.mux(video.encode(None))
        if sound is not None:
            _tone(output, sound, (pts[-1] + 1) / fps)
    return path


def _tone(output: av.container.OutputContainer, stream: av.AudioStream, seconds: float) -> None:
    rate, chunk = 48_000, 960
    for start in range(0, int(seconds * rate), chunk):
        t = np.arange(start, start + chunk) / rate
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
        frame.sample_rate, frame.pts = rate, start
        output.mux(stream.encode(frame))
    output.mux(stream.encode(None))


def photo(name: str = "cornell.jpg", scale: float = 1.0) -> np.ndarray:
    from PIL import Image

    image = Image.open(SHARED / "testdata" / "content" / name).convert("RGB")
    if scale != 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)))
    return np.asarray(image)


def pan(image: np.ndarray, frames: int, size: tuple[int, int], step: int) -> list[np.ndarray]:
    """A camera moving ``step`` pixels right per frame over ``image``: frame t shows the
    window at x = t·step, so frame t−1 shows pixel x of frame t at x + step."""
    width, height = size
    return [
        np.ascontiguousarray(image[:height, t * step : t * step + width]) for t in range(frames)
    ]


def slide(
    image: np.ndarray, frames: int, size: tuple[int, int], step: tuple[float, float]
) -> list[np.ndarray]:
    """A camera moving by a fraction of a pixel per frame, ``step`` (x, y): frame t
    shows ``image`` from (t·x, t·y) on, resampled (cubic), so frame t−1 shows pixel p
    of frame t at p + step."""
    return [
        cv2.warpAffine(
            image,
            np.array([[1, 0, -t * step[0]], [0, 1, -t * step[1]]]),
            size,
            flags=cv2.INTER_CUBIC,
        )
        for t in range(frames)
    ]


def read(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """Decoded RGB frames and their times in seconds."""
    with av.open(str(path)) as file:
        stream = file.streams.video[0]
        frames, times = [], []
        for frame in file.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(float(frame.pts * frame.time_base))
    return frames, times


def clip_upload(
    directory: Path, frames: int = 10, size: tuple[int, int] = (96, 64), **options: object
) -> tuple[str, bytes, str]:
    """A panning clip of ``frames`` frames as an upload (name, bytes, content type)."""
    format = str(options.get("format", "mp4"))
    path = write_clip(directory / f"clip-{frames}.{format}", pan(photo(), frames, size, 2),
                      **options)  # fmt: skip
    return path.name, path.read_bytes(), f"video/{format}"


def gif_upload(frames: int, size: tuple[int, int] = (48, 32)) -> tuple[str, bytes, str]:
    """An animated GIF (one frame: a still image) of solid colours, 80 ms a frame."""
    import io

    from PIL import Image

    images = [Image.new("RGB", size, (40 * i % 256, 90, 200)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=80)
    return "anim.gif", buffer.getvalue(), "image/gif"
