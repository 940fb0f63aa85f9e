"""Where the project and its shared data are (``../shared`` beside the checkout)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
WEIGHTS = SHARED / "weights"
TESTDATA = SHARED / "testdata"
CONTENT = TESTDATA / "content" / "chicago.jpg"  # 712x474, 220 kB
STYLE = TESTDATA / "style" / "sketch.png"
MASK = TESTDATA / "mask" / "mask.png"
