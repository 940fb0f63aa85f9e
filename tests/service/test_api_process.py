"""The API process stays light: no torch, ever."""

import subprocess
import sys

from tests.support.paths import ROOT


def test_api_process_never_imports_torch():
    code = (
        "import sys\n"
        "import service.app\n"
        "service.app.create_app()\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
