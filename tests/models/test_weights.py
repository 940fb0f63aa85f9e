"""Weight files: the manifest, verification, lookup, loading, fetching, importing, the CLI.

Everything runs on the real published files in ../shared/weights (copied to tmp_path when
a test needs to damage or serve them); only small files (at most 52 kB) are copied or served.
"""

import functools
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from models import cli, weights
from models.errors import WeightsCorrupt, WeightsMissing

SHARED = Path(__file__).resolve().parents[3] / "shared" / "weights"
SMALL = ["vgg19-cd16x/encoder_relu1_1", "vgg19-cd16x/decoder_relu1_1"]
FIX_COMMANDS = ("stylize weights fetch", "stylize weights import ../shared/weights")
Serve = Callable[[Path], str]


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache and no STYLIZE_WEIGHTS_DIR (CI sets it), whatever the environment."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(cache))
    monkeypatch.delenv("STYLIZE_WEIGHTS_DIR", raising=False)
    return cache


def copy_layout(names: list[str], root: Path) -> Path:
    """Copy real weight files into ``root`` laid out like ../shared/weights."""
    for name in names:
        file = weights.manifest()[name].file
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHARED / file, root / file)  # copyfile: not the read-only mode
    return root


def flip_byte(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Serve]:
    """``serve(root) -> base URL``: a real HTTP server on 127.0.0.1 for the directory."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    servers = []

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    def start(root: Path) -> str:
        handler = functools.partial(QuietHandler, directory=str(root))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# --- manifest and directories ---------------------------------------------------------------


def test_repo_manifest_agrees_with_shared_manifest() -> None:
    shared = {entry["file"]: entry for entry in json.loads((SHARED / "MANIFEST.json").read_text())}
    ours = weights.manifest()
    assert {wf.file for wf in ours.values()} == set(shared)
    for name, wf in ours.items():
        assert name == wf.file.removesuffix(".pth")
        entry = shared[wf.file]
        for field in ("bytes", "sha256", "url", "license", "upstream_repo", "upstream_commit"):
            assert getattr(wf, field) == entry[field], (name, field)
        assert (wf.upstream_path, wf.description) == (entry["upstream_path"], entry["description"])


def test_search_dirs_read_environment_at_call_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_dirs: Path
) -> None:
    assert weights.search_dirs() == [isolated_dirs]
    monkeypatch.setenv("STYLIZE_WEIGHTS_DIR", str(tmp_path / "weights"))
    assert weights.search_dirs() == [tmp_path / "weights", isolated_dirs]


def test_cache_dir_falls_back_to_xdg_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STYLIZE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert weights.cache_dir() == tmp_path / "xdg" / "stylize" / "weights"


# --- locate and verify ----------------------------------------------------------------------


def test_locate_finds_and_verifies_real_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLIZE_WEIGHTS_DIR", str(SHARED))
    for name, wf in weights.manifest().items():
        assert weights.locate(name) == SHARED / wf.file


def test_locate_rejects_a_corrupted_copy_naming_file_checksums_and_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "vgg19-cd16x/encoder_relu1_1"
    root = copy_layout([name], tmp_path / "weights")
    flip_byte(root / f"{name}.pth")
    monkeypatch.setenv("STYLIZE_WEIGHTS_DIR", str(root))

    with pytest.raises(WeightsCorrupt) as caught:
        weights.locate(name)

    message = str(caught.value)
    actual = hashlib.sha256((root / f"{name}.pth").read_bytes()).hexdigest()
    assert str(root / f"{name}.pth") in message
    assert weights.manifest()[name].sha256 in message
    assert actual in message
    assert str(root) in message and str(weights.cache_dir()) in message  # dirs searched
    assert all(command in message for command in FIX_COMMANDS)


def test_a_corrupt_first_copy_is_not_skipped_for_a_good_later_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_dirs: Path
) -> None:
    name = "vgg19-cd16x/decoder_relu1_1"
    bad = copy_layout([name], tmp_path / "weights")
    flip_byte(bad / f"{name}.pth")
    copy_layout([name], isolated_dirs)  # an intact copy in the cache, searched second
    monkeypatch.setenv("STYLIZE_WEIGHTS_DIR", str(bad))

    with pytest.raises(WeightsCorrupt):
        weights.locate(name)


def test_verify_rechecks_a_file_changed_after_it_was_verified(tmp_path: Path) -> None:
    name = "vgg19-cd16x/decoder_relu1_1"
    path = copy_layout([name], tmp_path) / f"{name}.pth"
    wf = weights.manifest()[name]
    weights.verify(path, wf)

    flip_byte(path)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    with pytest.raises(WeightsCorrupt):
        weights.verify(path, wf)


def test_a_missing_file_names_the_file_directories_checksum_and_fix(
    isolated_dirs: Path,
) -> None:
    name = "vgg19-normalised/decoder_relu3_1"
    with pytest.raises(WeightsMissing) as caught:
        weights.locate(name)

    message = str(caught.value)
    assert "vgg19-normalised/decoder_relu3_1.pth" in message
    assert str(isolated_dirs) in message
    assert weights.manifest()[name].sha256 in message
    assert all(command in message for command in FIX_COMMANDS)


def test_an_unknown_name_lists_the_known_names() -> None:
    with pytest.raises(WeightsMissing) as caught:
        weights.locate("vgg19/encoder_relu4_1")
    assert "vgg19-cd16x/encoder_relu4_1" in str(caught.value)


# --- loading --------------------------------------------------------------------------------


def test_load_state_dict_unwraps_cd16x_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLIZE_WEIGHTS_DIR", str(SHARED))
    state = weights.load_state_dict("vgg19-cd16x/encoder_relu5_1")
    assert "model" not in state and "epoch" not in state
    assert state["conv51.weight"].shape == (128, 128, 3, 3)
    assert state["conv0.weight"].shape == (3, 3, 1, 1)


def test_load_state_dict_reads_normalised_vgg_by_sequential_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STYLIZE_WEIGHTS_DIR", str(SHARED))
    state = weights.load_state_dict("vgg19-normalised/encoder_relu3_1")
    assert isinstance(state["16.weight"], torch.Tensor)
    assert state["16.weight"].shape == (256, 128, 3, 3)
    # index 0 subtracts the ImageNet mean in BGR x 255
    assert torch.allclose(state["0.bias"], torch.tensor([-103.939, -116.779, -123.68]))


# --- import ---------------------------------------------------------------------------------


def test_import_dir_copies_every_known_file_it_finds_into_the_cache(
    tmp_path: Path, isolated_dirs: Path
) -> None:
    names = [*SMALL, "vgg19-normalised/encoder_relu1_1"]
    source = copy_layout(names, tmp_path / "source")

    paths = weights.import_dir(source)

    assert sorted(paths) == sorted(isolated_dirs / f"{name}.pth" for name in names)
    for name in names:
        copied = isolated_dirs / f"{name}.pth"
        assert copied.read_bytes() == (SHARED / f"{name}.pth").read_bytes()
        assert weights.locate(name) == copied


def test_import_dir_refuses_a_corrupt_source_and_copies_nothing(
    tmp_path: Path, isolated_dirs: Path
) -> None:
    name = "vgg19-cd16x/encoder_relu1_1"
    source = copy_layout([name], tmp_path / "source")
    flip_byte(source / f"{name}.pth")

    with pytest.raises(WeightsCorrupt) as caught:
        weights.import_dir(source, names=[name])

    assert str(source / f"{name}.pth") in str(caught.value)
    assert weights.manifest()[name].sha256 in str(caught.value)
    assert files_under(isolated_dirs) == []


# --- fetch ----------------------------------------------------------------------------------


def test_fetch_from_a_mirror_downloads_verifies_and_reports_progress(
    tmp_path: Path, serve: Serve, isolated_dirs: Path
) -> None:
    name = "vgg19-cd16x/encoder_relu2_1"  # 52 kB: several chunks, so several progress calls
    mirror = serve(copy_layout([name, *SMALL], tmp_path / "mirror"))
    calls: list[tuple[str, int, int]] = []

    paths = weights.fetch([name, *SMALL], mirror=mirror, progress=lambda *c: calls.append(c))

    assert paths == [isolated_dirs / f"{n}.pth" for n in [name, *SMALL]]
    for n, path in zip([name, *SMALL], paths, strict=True):
        weights.verify(path, weights.manifest()[n])
    done = [d for (n, d, _) in calls if n == name]
    assert done[0] == 0 and done[-1] == weights.manifest()[name].bytes
    assert len(done) > 2 and done == sorted(set(done))
    assert {total for (n, _, total) in calls if n == name} == {weights.manifest()[name].bytes}


def test_fetch_skips_files_already_intact(
    tmp_path: Path, serve: Serve, isolated_dirs: Path
) -> None:
    copy_layout(SMALL, isolated_dirs)
    (tmp_path / "empty").mkdir()
    empty_mirror = serve(tmp_path / "empty")  # would answer 404 to any download
    calls: list[tuple[str, int, int]] = []

    paths = weights.fetch(SMALL, mirror=empty_mirror, progress=lambda *c: calls.append(c))

    assert paths == [isolated_dirs / f"{n}.pth" for n in SMALL]
    assert calls == []


def test_fetch_of_a_corrupt_download_raises_and_leaves_no_file(
    tmp_path: Path, serve: Serve, isolated_dirs: Path
) -> None:
    name = "vgg19-normalised/encoder_relu1_1"
    root = copy_layout([name], tmp_path / "mirror")
    flip_byte(root / f"{name}.pth")
    mirror = serve(root)

    with pytest.raises(WeightsCorrupt) as caught:
        weights.fetch([name], mirror=mirror)

    message = str(caught.value)
    assert f"{mirror}/{name}.pth" in message
    assert weights.manifest()[name].sha256 in message
    assert f"stylize weights fetch {name}" in message
    assert files_under(isolated_dirs) == []  # neither the file nor a temporary


def test_fetch_from_an_unreachable_mirror_names_the_url() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mirror = f"http://127.0.0.1:{port}/weights"

    with pytest.raises(WeightsMissing) as caught:
        weights.fetch(["vgg19-cd16x/decoder_relu1_1"], mirror=mirror, timeout=5)

    assert f"{mirror}/vgg19-cd16x/decoder_relu1_1.pth" in str(caught.value)


# --- the stylize command --------------------------------------------------------------------


def test_cli_weights_list_prints_each_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_layout(SMALL, tmp_path / "weights")
    flip_byte(root / f"{SMALL[1]}.pth")
    monkeypatch.setenv("STYLIZE_WEIGHTS_DIR", str(root))

    assert cli.main(["weights", "list"]) == 0

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

    assert cli.main(["weights", "fetch", "--mirror", mirror, SMALL[0]]) == 1

    err = capsys.readouterr().err
    assert err.startswith("stylize: error: could not download") and "HTTP Error 404" in err
    assert len(err.splitlines()) == 1  # no traceback


def test_cli_weights_import_copies_into_dest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = copy_layout(SMALL, tmp_path / "source")
    dest = tmp_path / "dest"

    assert cli.main(["weights", "import", str(source), "--dest", str(dest)]) == 0

    assert "2 weight file(s) verified" in capsys.readouterr().out
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.pth")) == sorted(
        f"{n}.pth" for n in SMALL
    )


def test_cli_weights_list_does_not_import_torch() -> None:
    code = (
        "import sys; from models import cli; cli.main(['weights', 'list']); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines()[-1] == "False"
