"""``stylize weights list | fetch | import`` as a person uses them: one line per problem."""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.main import main
from models import weights
from tests.support.paths import ROOT
from tests.support.weight_files import SMALL, copy_layout, flip_byte

Serve = Callable[[Path], str]

pytestmark = pytest.mark.usefixtures("isolated_weights")


def test_cli_weights_list_prints_each_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_layout(SMALL, tmp_path / "weights")
    flip_byte(root / f"{SMALL[1]}.pth")
    monkeypatch.setenv("STYLIZE_WEIGHTS_DIR", str(root))

    assert main(["weights", "list"]) == 0

    rows = capsys.readouterr().out.splitlines()[1 : 1 + len(weights.manifest())]
    states = {row.split()[0]: row.split()[1] for row in rows}
    assert states[SMALL[0]] == "ok"
    assert states[SMALL[1]] == "corrupt"
    assert states["vgg19-cd16x/encoder_relu5_1"] == "missing"


def test_cli_weights_fetch_failure_is_one_line_and_exit_1(
    tmp_path: Path, serve: Serve, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    mirror = serve(tmp_path / "empty")

    assert main(["weights", "fetch", "--mirror", mirror, SMALL[0]]) == 1

    err = capsys.readouterr().err
    assert err.startswith("stylize: error: could not download") and "HTTP Error 404" in err
    assert len(err.splitlines()) == 1  # no traceback


def test_cli_weights_import_copies_into_dest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = copy_layout(SMALL, tmp_path / "source")
    dest = tmp_path / "dest"

    assert main(["weights", "import", str(source), "--dest", str(dest)]) == 0

    assert "2 weight file(s) verified" in capsys.readouterr().out
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.pth")) == sorted(
        f"{n}.pth" for n in SMALL
    )


def test_cli_weights_list_does_not_import_torch() -> None:
    code = (
        "import sys; from cli.main import main; main(['weights', 'list']); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines()[-1] == "False"
