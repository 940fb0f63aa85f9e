"""Engine fixtures: real weights from ../shared/weights, real images from ../shared/testdata."""

import pytest
from PIL import Image

from tests.support.paths import TESTDATA


@pytest.fixture(scope="session")
def stylizer():
    """The engine as a worker builds it: its networks in bfloat16 on a CPU with AMX or
    AMD's AVX512-BF16 (``models/precision.py``)."""
    from models.stylizer import Stylizer

    return Stylizer(device="cpu")


@pytest.fixture(scope="session")
def stylizer32():
    """The engine with float32 networks, for tests that hold a fast path to the plain
    computation at float32 precision (bfloat16 roundings differ by path)."""
    from models.stylizer import Stylizer

    return Stylizer(device="cpu", precision="float32")


def _load(relative: str, size: int | None) -> Image.Image:
    from models.images import load_image, resize_longest

    return resize_longest(load_image(TESTDATA / relative), size)


@pytest.fixture(scope="session")
def photo() -> Image.Image:
    """cornell.jpg at longest side 128: a real photo, small enough for fast tests."""
    return _load("content/cornell.jpg", 128)


@pytest.fixture(scope="session")
def painting() -> Image.Image:
    return _load("style/woman_with_hat_matisse.jpg", 128)


@pytest.fixture(scope="session")
def sketch() -> Image.Image:
    """A nearly colourless style: makes colour-related behaviour easy to see."""
    return _load("style/sketch.png", 128)


@pytest.fixture
def load():
    return _load
