"""Where the project and its shared data are (``../shared`` beside the checkout), and the
device the engine's tests run on."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
WEIGHTS = SHARED / "weights"
TESTDATA = SHARED / "testdata"
CONTENT = TESTDATA / "content" / "chicago.jpg"  # 712x474, 220 kB
STYLE = TESTDATA / "style" / "sketch.png"
MASK = TESTDATA / "mask" / "mask.png"
# The engine's tests run on the CPU, as CI does; ``STYLIZE_TEST_DEVICE=cuda`` runs them
# on a GPU (``bench/gpu.sh``), where cuDNN's kernels and TF32 convolutions replace oneDNN's.
DEVICE = os.environ.get("STYLIZE_TEST_DEVICE", "cpu")
