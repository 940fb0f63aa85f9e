"""What the engine reports while it works and what it returns: plain types, no torch.

Kept apart from the networks so that the command line and the workers can type their
progress callbacks without importing torch.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image


@dataclass(frozen=True)
class ProgressEvent:
    stage: str  # "encode_style", "level 4", "optimise", "done" …
    fraction: float  # 0 … 1 of the whole job
    iteration: int | None = None
    total: int | None = None
    losses: dict[str, float] | None = None
    preview: Image.Image | None = None


ProgressCallback = Callable[[ProgressEvent], None]
CancelCheck = Callable[[], bool]


@dataclass
class StylizeResult:
    image: Image.Image
    seconds: float
    canceled: bool = False  # a canceled optimisation returns its best image so far
    iterations: int | None = None
    losses: dict[str, float] = field(default_factory=dict)
