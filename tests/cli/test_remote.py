"""`stylize run --server URL`: the same command line, executed by the real API process and
a real worker through the Python client; the same pixels as the engine in this process."""

import shutil
from pathlib import Path

import pytest
from PIL import Image
from stylize_client import Client

from cli import remote
from cli.main import main
from models.types import ProgressEvent
from tests.support.paths import CONTENT, STYLE, TESTDATA

CONTENTS = ("chicago.jpg", "golden_gate.jpg", "sailboat.jpg")
STYLES = ("mondrian_cropped.jpg", "sketch.png")


def pixels(path: Path) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(path) as image:
        return image.mode, image.size, image.tobytes()


def half_and_half_mask(path: Path) -> Path:
    """Black on the left (the first style), white on the right; chicago.jpg's aspect."""
    mask = Image.new("L", (356, 237), 0)
    mask.paste(255, (178, 0, 356, 237))
    mask.save(path)
    return path


@pytest.mark.parametrize(
    "options",
    [
        ["--size", "256", "--alpha", "0.8", "--style-weights", "0.6", "0.4"],  # wct
        [
            "--size",
            "200",
            "--style-size",
            "300",
            "--method",
            "adain",
            "--preserve-color",
            "--style-weights",
            "0.6",
            "0.4",
        ],
        ["--size", "160", "--mask", "MASK"],
    ],  # fmt: skip
    ids=["wct-weights", "adain-preserve-color", "wct-mask"],
)
def test_a_run_on_the_server_makes_the_pixels_of_a_local_run(ready_api, tmp_path, capsys, options):
    here, there = tmp_path / "here.png", tmp_path / "there.png"
    inputs = [str(CONTENT), str(STYLE), str(TESTDATA / "style" / "mondrian_cropped.jpg")]
    mask = str(half_and_half_mask(tmp_path / "mask.png"))
    options = [mask if option == "MASK" else option for option in options]

    assert main(["run", *inputs, "-o", str(here), *options]) == 0
    assert main(["run", *inputs, "-o", str(there), *options, "--server", ready_api.url]) == 0

    assert pixels(there) == pixels(here)
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].startswith(f"wrote {there} (") and f"stylizing on {ready_api.url}" in printed[-1]  # fmt: skip


def test_the_progress_bar_is_fed_by_the_jobs_own_stages(ready_api):
    stages: list[ProgressEvent] = []
    with Client(ready_api.url) as client:
        # The stream samples the job every 0.25 s: long enough a job to be seen optimising.
        job = client.stylize(CONTENT, STYLE, method="gatys", size=128, style_size=128,
                             gatys={"iterations": 80, "tolerance": 0})  # fmt: skip
        done = remote.follow(client, job, stages.append)

    assert done.succeeded, done.error
    assert any(e.stage == "optimise" and e.total == 80 for e in stages), stages
    fractions = [e.fraction for e in stages]
    assert fractions == sorted(fractions) and stages[-1] == ProgressEvent("done", 1.0)


def test_a_batch_on_the_server_makes_the_files_of_a_local_batch(ready_api, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in CONTENTS:
        shutil.copy(TESTDATA / "content" / name, photos)
    styles = [str(TESTDATA / "style" / name) for name in STYLES]
    options = ["--size", "96", "--style-size", "128", "--method", "adain"]

    assert main(["run", str(photos), *styles, "-o", str(tmp_path / "here"), *options]) == 0
    assert main(["run", str(photos), *styles, "-o", str(tmp_path / "there"), *options,
                 "--server", ready_api.url, "--concurrency", "3"]) == 0  # fmt: skip

    here = sorted(p.name for p in (tmp_path / "here").iterdir())
    assert here == sorted(f"{Path(c).stem}__{Path(s).stem}.png" for c in CONTENTS for s in STYLES)
    assert sorted(p.name for p in (tmp_path / "there").iterdir()) == here
    for name in here:
        assert pixels(tmp_path / "there" / name) == pixels(tmp_path / "here" / name), name
    assert "6 done, 0 skipped (already there), 0 failed" in capsys.readouterr().out.splitlines()[-1]


def test_a_server_batch_reports_a_refused_file_and_goes_on(ready_api, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(CONTENT, photos)
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n and then nothing")
    out = tmp_path / "out"

    code = main(["run", str(photos), str(STYLE), "-o", str(out), "--size", "64",
                 "--server", ready_api.url])  # fmt: skip

    assert code == 1
    captured = capsys.readouterr()
    failures = [line for line in captured.err.splitlines() if line.startswith("failed: ")]
    assert len(failures) == 1 and failures[0].startswith(
        "failed: broken.png × sketch.png: content: "
    )
    assert "422 from" in failures[0]
    assert [p.name for p in out.iterdir()] == ["chicago__sketch.png"]
    assert "1 done, 0 skipped (already there), 1 failed" in captured.out


def test_a_server_batch_waits_out_the_keys_fair_share(
    start_api, session_prefix, ready_worker, tmp_path, monkeypatch, capsys
):
    # One active job per key: the other two submissions get 429 with Retry-After, and
    # the batch honours it rather than failing.
    api = start_api(session_prefix, STYLIZE_API_KEYS="batch-key", STYLIZE_MAX_ACTIVE_JOBS_PER_KEY="1")  # fmt: skip
    monkeypatch.setenv("STYLIZE_API_KEY", "batch-key")
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in CONTENTS:
        shutil.copy(TESTDATA / "content" / name, photos)

    code = main(["run", str(photos), str(STYLE), "-o", str(tmp_path / "out"), "--size", "64",
                 "--server", api.url, "--concurrency", "3"])  # fmt: skip

    assert code == 0
    assert "3 done, 0 skipped (already there), 0 failed" in capsys.readouterr().out
    assert len(list((tmp_path / "out").iterdir())) == 3


def test_size_0_is_refused_with_server_before_anything_is_sent(tmp_path, capsys):
    code = main(["run", str(CONTENT), str(STYLE), "-o", str(tmp_path / "o.png"), "--size", "0",
                 "--server", "http://127.0.0.1:9"])  # fmt: skip

    assert code == 1
    assert "stylize: error: size: --size 0" in capsys.readouterr().err


def test_an_unreachable_server_is_one_line(tmp_path, capsys):
    code = main(["run", str(CONTENT), str(STYLE), "-o", str(tmp_path / "o.png"),
                 "--server", "http://127.0.0.1:9"])  # fmt: skip

    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("stylize: error: no answer from the server at http://127.0.0.1:9")
    assert "\n" not in err
