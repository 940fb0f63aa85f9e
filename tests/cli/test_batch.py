"""`stylize run` on folders and globs: every content × style into a directory, in this
process, with real files and the real engine."""

import shutil
from pathlib import Path

import pytest
from PIL import Image

from cli.batch import is_batch
from cli.main import main
from tests.support.paths import TESTDATA

SMALL = ["--size", "64", "--style-size", "64"]
CONTENTS = ("chicago.jpg", "golden_gate.jpg", "sailboat.jpg")
STYLES = ("sketch.png", "mondrian_cropped.jpg")


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A folder of three content photos (and a note that is no image)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in CONTENTS:
        shutil.copy(TESTDATA / "content" / name, folder / name)
    (folder / "notes.txt").write_text("not a photo: left alone")
    return folder


def styles_glob() -> str:
    return str(TESTDATA / "style" / "[ms][ok]*")  # mondrian_cropped.jpg, sketch.png


def test_a_folder_times_a_glob_makes_every_pair_named_content_style(photos, tmp_path, capsys):
    out = tmp_path / "out"

    code = main(["run", str(photos), styles_glob(), "-o", str(out), *SMALL])

    assert code == 0
    expected = {f"{Path(c).stem}__{Path(s).stem}.png" for c in CONTENTS for s in STYLES}
    assert {p.name for p in out.iterdir()} == expected
    assert Image.open(out / "chicago__sketch.png").size == (64, 43)
    summary = capsys.readouterr().out
    assert "6 done, 0 skipped (already there), 0 failed" in summary and "images/s" in summary


def test_a_batch_skips_outputs_that_exist_unless_overwrite(photos, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sailboat__sketch.png").write_bytes(b"kept")
    style = str(TESTDATA / "style" / "sketch.png")

    assert main(["run", str(photos), style, "-o", str(out), *SMALL]) == 0
    assert (out / "sailboat__sketch.png").read_bytes() == b"kept"
    assert "2 done, 1 skipped" in capsys.readouterr().out

    assert main(["run", str(photos), style, "-o", str(out), *SMALL, "--overwrite"]) == 0
    assert Image.open(out / "sailboat__sketch.png").size == (64, 64)
    assert "3 done, 0 skipped" in capsys.readouterr().out


def test_an_undecodable_file_fails_alone_and_the_batch_goes_on(photos, tmp_path, capsys):
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    out = tmp_path / "out"

    code = main(["run", str(photos), str(TESTDATA / "style" / "sketch.png"), "-o", str(out), *SMALL])  # fmt: skip

    assert code == 1
    captured = capsys.readouterr()
    failures = [line for line in captured.err.splitlines() if line.startswith("failed: ")]
    assert failures == [
        "failed: broken.jpg × sketch.png: content: not a decodable image (JPEG, PNG, WebP, BMP, "
        "TIFF, GIF, HEIC/HEIF or AVIF expected)"
    ]
    assert "3 done, 0 skipped (already there), 1 failed" in captured.out
    assert sorted(p.name for p in out.iterdir()) == [f"{Path(c).stem}__sketch.png" for c in CONTENTS]  # fmt: skip


def test_blend_gives_each_content_all_the_styles_with_their_weights(photos, tmp_path):
    out = tmp_path / "out"
    styles = [str(TESTDATA / "style" / name) for name in STYLES]

    code = main(["run", str(photos), *styles, "-o", str(out), *SMALL, "--blend",
                 "--style-weights", "0.7", "0.3", "--format", "jpeg"])  # fmt: skip

    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        f"{Path(c).stem}__sketch+mondrian_cropped.jpg" for c in CONTENTS
    ]


def test_a_pairs_file_lists_the_jobs_relative_to_itself(tmp_path):
    shutil.copy(TESTDATA / "content" / "chicago.jpg", tmp_path)
    for name in STYLES:
        shutil.copy(TESTDATA / "style" / name, tmp_path)
    pairs = tmp_path / "jobs.txt"
    pairs.write_text("# content  style(s)\nchicago.jpg sketch.png\n\nchicago.jpg sketch.png mondrian_cropped.jpg\n")  # fmt: skip
    out = tmp_path / "out"

    assert main(["run", "--pairs", str(pairs), "-o", str(out), *SMALL]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "chicago__sketch+mondrian_cropped.png",
        "chicago__sketch.png",
    ]


def test_style_weights_without_blend_are_refused_before_any_work(photos, tmp_path, capsys):
    styles = [str(TESTDATA / "style" / name) for name in STYLES]

    code = main(["run", str(photos), *styles, "-o", str(tmp_path / "out"), "--style-weights", "1", "2"])  # fmt: skip

    assert code == 1
    assert "add --blend" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_two_contents_with_one_name_would_clash_and_are_refused(tmp_path, capsys):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(TESTDATA / "content" / "chicago.jpg", tmp_path / folder / "chicago.jpg")

    code = main(["run", str(tmp_path / "*" / "chicago.jpg"), str(TESTDATA / "style" / "sketch.png"),
                 "-o", str(tmp_path / "out")])  # fmt: skip

    assert code == 1
    assert "would both be written to" in capsys.readouterr().err


def test_a_glob_that_matches_nothing_says_so(tmp_path, capsys):
    code = main(["run", str(tmp_path / "*.jpg"), str(TESTDATA / "style" / "sketch.png"), "-o", str(tmp_path / "out")])  # fmt: skip

    assert code == 1
    assert "content: no image files" in capsys.readouterr().err


def test_a_single_run_into_a_directory_points_at_batches(tmp_path, capsys):
    code = main(["run", str(TESTDATA / "content" / "chicago.jpg"), str(TESTDATA / "style" / "sketch.png"),
                 "-o", str(tmp_path) + "/"])  # fmt: skip

    assert code == 1
    assert "quoted glob" in capsys.readouterr().err


def test_a_file_with_brackets_in_its_name_is_that_file_not_a_glob(tmp_path):
    photo = tmp_path / "photo[1].jpg"
    shutil.copy(TESTDATA / "content" / "chicago.jpg", photo)

    assert not is_batch(str(photo), [str(TESTDATA / "style" / "sketch.png")], None)
    assert is_batch(str(tmp_path / "photo[0-9].jpg"), ["s.png"], None)
