"""The README's Quick start: the three commands a newcomer types, as the README has them."""

import re
from dataclasses import dataclass

from tests.support.paths import ROOT


@dataclass(frozen=True)
class QuickStart:
    setup: str
    run: str
    test: str


def quick_start() -> QuickStart:
    """The lines of the first ```bash block under "## Quick start" (setup, run, test)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Quick start\n", 1)[1]
    block = re.search(r"^```bash\n(.*?)^```", section, re.M | re.S)
    assert block, "README: no ```bash block under ## Quick start"
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 3, f"README's Quick start has {len(lines)} commands, not 3: {lines}"
    return QuickStart(*lines)
