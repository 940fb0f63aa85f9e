"""The client is its own distribution: it installs into a bare virtualenv (no system
site-packages, nothing of the server) without pulling torch, and its own tests pass
there against the installed copy."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT

CLIENT = ROOT / "clients" / "python"
# The test run's PYTHONPATH points at this checkout: the venv must not see it.
BARE_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


def run(*command: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=BARE_ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


def test_the_client_installs_alone_without_torch_and_its_tests_pass(tmp_path):
    run(sys.executable, "-m", "venv", tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"

    # A clean copy: building in place would leave build/ and *.egg-info in the checkout,
    # and a stale build/lib can carry deleted modules into the next wheel.
    source = tmp_path / "stylize-client"
    shutil.copytree(CLIENT, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "*cache*"))
    run(python, "-m", "pip", "install", "--quiet", f"{source}[test,image]")

    installed = run(
        python,
        "-c",
        "import importlib.util, stylize_client; "
        "print(stylize_client.__file__); "
        "print(*(m for m in ('torch', 'fastapi', 'redis', 'service') if importlib.util.find_spec(m)))",
        cwd=tmp_path,  # not the checkout, whose service/ would be importable from there
    ).splitlines()
    assert installed[0].startswith(str(tmp_path / "venv"))  # the installed copy, not the source
    assert installed[1:] in ([], [""])  # none of the server's packages came along
    requirements = run(python, "-m", "pip", "show", "stylize-client")
    assert "Requires: httpx" in requirements

    shutil.rmtree(source / "src")  # the tests must find the installed copy, not this one
    output = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=source)
    assert " passed" in output and "failed" not in output
