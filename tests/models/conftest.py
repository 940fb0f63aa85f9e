"""Engine fixtures: real weights from ../shared/weights, real images from ../shared/testdata."""

import pytest
from PIL import Image

from tests.support.paths import TESTDATA


@pytest.fixture(scope="session")
def stylizer():
    from models.stylizer import Stylizer

    return Stylizer(device="cpu")


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
