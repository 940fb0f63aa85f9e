"""Typed engine errors.

Each carries a stable machine-readable ``code`` and, where it applies, the ``field`` that
was wrong, so the HTTP layer can map them to status codes in one place and a client
developer can see which input to fix. No torch import here: the API process uses these.
"""


class StylizeError(Exception):
    """Base class of every error the engine raises on purpose."""

    code = "stylize_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidImage(StylizeError):
    """The bytes are not an image Pillow can decode, or the image is unusable."""

    code = "invalid_image"


class ImageTooLarge(InvalidImage):
    """Dimensions over the configured limit, or a decompression bomb."""

    code = "image_too_large"


class InvalidVideo(InvalidImage):
    """The bytes are not a video the engine can decode: corrupt, truncated, no video stream,
    an unsupported codec, or a still image where a video was expected."""

    code = "invalid_video"


class VideoTooLarge(InvalidVideo, ImageTooLarge):
    """Over one of the configured video limits; ``limit`` names which (``VideoLimits`` field)."""

    code = "video_too_large"

    def __init__(self, message: str, *, field: str | None = None, limit: str) -> None:
        super().__init__(message, field=field)
        self.limit = limit


class InvalidParameter(StylizeError):
    """A parameter is out of range or inconsistent with the others."""

    code = "invalid_parameter"


class InvalidMask(InvalidParameter):
    """The spatial-control mask does not fit the content or the styles."""

    code = "invalid_mask"


class WeightsMissing(StylizeError):
    """A weight file is not in any weights directory."""

    code = "weights_missing"


class WeightsCorrupt(StylizeError):
    """A weight file is present but its size or SHA-256 is not the manifest's."""

    code = "weights_corrupt"


class Canceled(StylizeError):
    """The caller asked to stop (between Gatys iterations, or before a job started)."""

    code = "canceled"
