"""Engine fixtures: real weights from ../shared/weights, real images from ../shared/testdata."""

import pytest
from PIL import Image

from tests.support.paths import DEVICE, TESTDATA


@pytest.fixture(scope="session")
def stylizer():
    """The engine as a worker builds it: its networks in bfloat16 on a CPU with AMX or
    AMD's AVX512-BF16 (``models/precision.py``)."""
    from models.stylizer import Stylizer

    return Stylizer(device=DEVICE)


@pytest.fixture(scope="session")
def stylizer32():
    """The engine with float32 networks, for tests that hold a fast path to the plain
    computation at float32 precision (bfloat16 roundings differ by path)."""
    from models.stylizer import Stylizer

    return Stylizer(device=DEVICE, precision="float32")


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


@pytest.fixture(scope="session", autouse=True)
def _float32_convolutions_on_cuda():
    """On a GPU (``STYLIZE_TEST_DEVICE=cuda``) the tests hold the engine to the plain
    computation at float32's precision, so cuDNN's TF32 convolutions (a 10-bit mantissa,
    PyTorch's default, which workers keep: ``bench/precision.py`` measures what it moves)
    are turned off while they run."""
    import torch

    before = torch.backends.cudnn.allow_tf32
    if DEVICE.startswith("cuda"):
        torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32 = before
