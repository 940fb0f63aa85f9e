"""Weight files: the manifest, verification, lookup, loading, fetching, importing, the CLI.

Everything runs on the real published files in ../shared/weights (copied to tmp_path when
a test needs to damage or serve them); only small files (at most 52 kB) are copied or served.
"""

import hashlib
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from models import weights
from models.errors import WeightsCorrupt, WeightsMissing
from tests.support.paths import WEIGHTS
from tests.support.weight_files import SMALL, copy_layout, flip_byte

FIX_COMMANDS = ("stylize weights fetch", "stylize weights import ../shared/weights")
Serve = Callable[[Path], str]

pytestmark = pytest.mark.usefixtures("isolated_weights")


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


# --- manifest and directories ---------------------------------------------------------------


def test_repo_manifest_agrees_with_shared_manifest() -> None:
    shared = {entry["file"]: entry for entry in json.loads((WEIGHTS / "MANIFEST.json").read_text())}
    ours = weights.manifest()
    assert {wf.file for wf in ours.values()} == set(shared)
    for name, wf in ours.items():
        assert name == wf.file.removesuffix(".pth")
        entry = shared[wf.file]
        for field in ("bytes", "sha256", "url", "license", "upstream_repo", "upstream_commit"):
            assert getattr(wf, field) == entry[field], (name, field)
        assert (wf.upstream_path, wf.description) == (entry["upstream_path"], entry["description"])


def test_search_dirs_read_environment_at_call_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_weights: Path
) -> None:
    assert weights.search_dirs() == [isolated_weights]
    monkeypatch.setenv("STYLIZE_WEIGHTS_DIR", str(tmp_path / "weights"))
    assert weights.search_dirs() == [tmp_path / "weights", isolated_weights]


def test_cache_dir_falls_back_to_xdg_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STYLIZE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert weights.cache_dir() == tmp_path / "xdg" / "stylize" / "weights"


# --- locate and verify ----------------------------------------------------------------------


def test_locate_finds_and_verifies_real_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLIZE_WEIGHTS_DIR", str(WEIGHTS))
    for name, wf in weights.manifest().items():
        assert weights.locate(name) == WEIGHTS / wf.file


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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_weights: Path
) -> None:
    name = "vgg19-cd16x/decoder_relu1_1"
    bad = copy_layout([name], tmp_path / "weights")
    flip_byte(bad / f"{name}.pth")
    copy_layout([name], isolated_weights)  # an intact copy in the cache, searched second
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
    isolated_weights: Path,
) -> None:
    name = "vgg19-normalised/decoder_relu3_1"
    with pytest.raises(WeightsMissing) as caught:
        weights.locate(name)

    message = str(caught.value)
    assert "vgg19-normalised/decoder_relu3_1.pth" in message
    assert str(isolated_weights) in message
    assert weights.manifest()[name].sha256 in message
    assert all(command in message for command in FIX_COMMANDS)


def test_an_unknown_name_lists_the_known_names() -> None:
    with pytest.raises(WeightsMissing) as caught:
        weights.locate("vgg19/encoder_relu4_1")
    assert "vgg19-cd16x/encoder_relu4_1" in str(caught.value)


# --- loading --------------------------------------------------------------------------------


def test_load_state_dict_unwraps_cd16x_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLIZE_WEIGHTS_DIR", str(WEIGHTS))
    state = weights.load_state_dict("vgg19-cd16x/encoder_relu5_1")
    assert "model" not in state and "epoch" not in state
    assert state["conv51.weight"].shape == (128, 128, 3, 3)
    assert state["conv0.weight"].shape == (3, 3, 1, 1)


def test_load_state_dict_reads_normalised_vgg_by_sequential_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STYLIZE_WEIGHTS_DIR", str(WEIGHTS))
    state = weights.load_state_dict("vgg19-normalised/encoder_relu3_1")
    assert isinstance(state["16.weight"], torch.Tensor)
    assert state["16.weight"].shape == (256, 128, 3, 3)
    # index 0 subtracts the ImageNet mean in BGR x 255
    assert torch.allclose(state["0.bias"], torch.tensor([-103.939, -116.779, -123.68]))


# --- import ---------------------------------------------------------------------------------


def test_import_dir_copies_every_known_file_it_finds_into_the_cache(
    tmp_path: Path, isolated_weights: Path
) -> None:
    names = [*SMALL, "vgg19-normalised/encoder_relu1_1"]
    source = copy_layout(names, tmp_path / "source")

    paths = weights.import_dir(source)

    assert sorted(paths) == sorted(isolated_weights / f"{name}.pth" for name in names)
    for name in names:
        copied = isolated_weights / f"{name}.pth"
        assert copied.read_bytes() == (WEIGHTS / f"{name}.pth").read_bytes()
        assert weights.locate(name) == copied


def test_import_dir_refuses_a_corrupt_source_and_copies_nothing(
    tmp_path: Path, isolated_weights: Path
) -> None:
    name = "vgg19-cd16x/encoder_relu1_1"
    source = copy_layout([name], tmp_path / "source")
    flip_byte(source / f"{name}.pth")

    with pytest.raises(WeightsCorrupt) as caught:
        weights.import_dir(source, names=[name])

    assert str(source / f"{name}.pth") in str(caught.value)
    assert weights.manifest()[name].sha256 in str(caught.value)
    assert files_under(isolated_weights) == []


# --- fetch ----------------------------------------------------------------------------------


def test_fetch_from_a_mirror_downloads_verifies_and_reports_progress(
    tmp_path: Path, serve: Serve, isolated_weights: Path
) -> None:
    name = "vgg19-cd16x/encoder_relu2_1"  # 52 kB: several chunks, so several progress calls
    mirror = serve(copy_layout([name, *SMALL], tmp_path / "mirror"))
    calls: list[tuple[str, int, int]] = []

    paths = weights.fetch([name, *SMALL], mirror=mirror, progress=lambda *c: calls.append(c))

    assert paths == [isolated_weights / f"{n}.pth" for n in [name, *SMALL]]
    for n, path in zip([name, *SMALL], paths, strict=True):
        weights.verify(path, weights.manifest()[n])
    done = [d for (n, d, _) in calls if n == name]
    assert done[0] == 0 and done[-1] == weights.manifest()[name].bytes
    assert len(done) > 2 and done == sorted(set(done))
    assert {total for (n, _, total) in calls if n == name} == {weights.manifest()[name].bytes}


def test_fetch_skips_files_already_intact(
    tmp_path: Path, serve: Serve, isolated_weights: Path
) -> None:
    copy_layout(SMALL, isolated_weights)
    (tmp_path / "empty").mkdir()
    empty_mirror = serve(tmp_path / "empty")  # would answer 404 to any download
    calls: list[tuple[str, int, int]] = []

    paths = weights.fetch(SMALL, mirror=empty_mirror, progress=lambda *c: calls.append(c))

    assert paths == [isolated_weights / f"{n}.pth" for n in SMALL]
    assert calls == []


def test_fetch_of_a_corrupt_download_raises_and_leaves_no_file(
    tmp_path: Path, serve: Serve, isolated_weights: Path
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
    assert files_under(isolated_weights) == []  # neither the file nor a temporary


def test_fetch_from_an_unreachable_mirror_names_the_url() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mirror = f"http://127.0.0.1:{port}/weights"

    with pytest.raises(WeightsMissing) as caught:
        weights.fetch(["vgg19-cd16x/decoder_relu1_1"], mirror=mirror, timeout=5)

    assert f"{mirror}/vgg19-cd16x/decoder_relu1_1.pth" in str(caught.value)


# --- download on first use ------------------------------------------------------------------


def test_a_missing_file_is_downloaded_on_first_use_with_progress_and_checksum(
    tmp_path: Path, serve: Serve, isolated_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "vgg19-cd16x/encoder_relu2_1"  # 52 kB: several chunks, so several progress calls
    monkeypatch.setenv("STYLIZE_WEIGHTS_MIRROR", serve(copy_layout([name], tmp_path / "mirror")))
    with pytest.raises(WeightsMissing):  # without the caller's consent: no download
        weights.locate(name)
    calls: list[tuple[str, int, int]] = []

    with weights.download_missing(progress=lambda *call: calls.append(call)):
        path = weights.locate(name)

    assert path == isolated_weights / f"{name}.pth"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == weights.manifest()[name].sha256
    total = weights.manifest()[name].bytes
    assert calls[0] == (name, 0, total) and calls[-1] == (name, total, total) and len(calls) > 2
    assert weights.locate(name) == path  # from now on it is simply there


def test_a_corrupt_file_on_the_mirror_is_refused_on_first_use_naming_file_and_fix(
    tmp_path: Path, serve: Serve, isolated_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "vgg19-cd16x/decoder_relu1_1"
    mirror = copy_layout([name], tmp_path / "mirror")
    flip_byte(mirror / f"{name}.pth")
    monkeypatch.setenv("STYLIZE_WEIGHTS_MIRROR", serve(mirror))

    with pytest.raises(WeightsCorrupt) as caught, weights.download_missing():
        weights.locate(name)

    message = str(caught.value)
    assert message.startswith(f"weight file {name}.pth ({name}) is missing from")
    assert "downloading it failed" in message and weights.manifest()[name].sha256 in message
    assert "stylize weights import DIR" in message
    assert files_under(isolated_weights) == []  # nothing kept, not even a temporary


def test_offline_mode_refuses_the_download_and_says_what_to_do(
    tmp_path: Path, serve: Serve, isolated_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "vgg19-cd16x/decoder_relu1_1"
    monkeypatch.setenv("STYLIZE_WEIGHTS_MIRROR", serve(copy_layout([name], tmp_path / "mirror")))
    monkeypatch.setenv("STYLIZE_OFFLINE", "1")

    with pytest.raises(WeightsMissing) as caught, weights.download_missing():
        weights.locate(name)

    message = str(caught.value)
    assert f"{name}.pth" in message and "STYLIZE_OFFLINE=1" in message
    assert "stylize weights import DIR" in message
    assert files_under(isolated_weights) == []


def test_a_failed_first_use_download_says_which_file_and_why(
    isolated_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("STYLIZE_WEIGHTS_MIRROR", f"http://127.0.0.1:{port}")
    name = "vgg19-cd16x/encoder_relu1_1"

    with pytest.raises(WeightsMissing) as caught, weights.download_missing():
        weights.locate(name)

    message = str(caught.value)
    assert f"http://127.0.0.1:{port}/{name}.pth" in message and "refused" in message
    assert "stylize weights import DIR" in message
