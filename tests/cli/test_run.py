"""`stylize run` as a person uses it: real files in, a real picture out, clear errors."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from cli.main import main
from tests.support.paths import ROOT, SHARED, WEIGHTS


def test_run_writes_a_stylized_jpeg_and_says_where_and_how_long(tmp_path, capsys):
    out = tmp_path / "nested" / "out.jpg"
    code = main(["run", str(SHARED / "testdata/content/chicago.jpg"), str(SHARED / "testdata/style/sketch.png"),
                 "-o", str(out), "--size", "160", "--alpha", "0.8"])  # fmt: skip
    assert code == 0
    with Image.open(out) as image:
        assert image.format == "JPEG" and image.size == (160, 107)
    printed = capsys.readouterr().out
    assert str(out) in printed and " s " in printed


def test_run_mixes_two_styles_with_weights_into_a_png(tmp_path):
    out = tmp_path / "mix.png"
    style = SHARED / "testdata/style"
    code = main(["run", str(SHARED / "testdata/content/sailboat.jpg"), str(style / "sketch.png"),
                 str(style / "mondrian_cropped.jpg"), "-o", str(out), "--size", "96",
                 "--style-weights", "0.3", "0.7", "--method", "wct", "--preserve-color"])  # fmt: skip
    assert code == 0
    assert Image.open(out).size == (96, 96)


def test_run_names_the_bad_input_and_exits_1_without_a_traceback(tmp_path):
    bogus = tmp_path / "notes.jpg"
    bogus.write_text("this is not a picture")
    result = subprocess.run(
        [sys.executable, "-m", "cli", "run", str(bogus), str(SHARED / "testdata/style/sketch.png"),
         "-o", str(tmp_path / "out.png")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("stylize: error: content:")
    assert "Traceback" not in result.stderr


def test_run_rejects_out_of_range_alpha_naming_the_field(tmp_path, capsys):
    code = main(["run", str(SHARED / "testdata/content/chicago.jpg"), str(SHARED / "testdata/style/sketch.png"),
                 "-o", str(tmp_path / "o.png"), "--alpha", "1.5"])  # fmt: skip
    assert code == 1
    assert "alpha" in capsys.readouterr().err


def test_run_refuses_an_output_suffix_it_cannot_encode(tmp_path, capsys):
    code = main(["run", str(SHARED / "testdata/content/chicago.jpg"), str(SHARED / "testdata/style/sketch.png"),
                 "-o", str(tmp_path / "o.gif")])  # fmt: skip
    assert code == 1
    assert "output" in capsys.readouterr().err


def test_run_reads_a_phone_heic_photo_upright_and_an_avif_style(tmp_path):
    # chicago.jpg (712x474) stored on its side, as a phone in portrait would: the pixels
    # turned, EXIF Orientation 8 and the container's rotation saying how to stand them up.
    photo = Image.open(SHARED / "testdata/content/chicago.jpg").transpose(
        Image.Transpose.ROTATE_270
    )
    exif = Image.Exif()
    exif[0x0112] = 8
    photo.save(tmp_path / "IMG_0001.HEIC", "HEIF", exif=exif.tobytes())
    Image.open(SHARED / "testdata/style/sketch.png").convert("RGB").save(
        tmp_path / "sketch.avif", "AVIF"
    )
    out = tmp_path / "out.png"

    code = main(["run", str(tmp_path / "IMG_0001.HEIC"), str(tmp_path / "sketch.avif"),
                 "-o", str(out), "--size", "96"])  # fmt: skip

    assert code == 0
    assert Image.open(out).size == (96, 64)


@pytest.mark.usefixtures("isolated_weights")
def test_run_downloads_missing_weights_on_first_use_with_progress_bars(tmp_path, serve):
    env = {**os.environ, "STYLIZE_WEIGHTS_MIRROR": serve(WEIGHTS)}  # a mirror: ../shared
    out = tmp_path / "out.png"

    result = subprocess.run(
        [sys.executable, "-m", "cli", "run", str(SHARED / "testdata/content/chicago.jpg"),
         str(SHARED / "testdata/style/sketch.png"), "-o", str(out), "--size", "64",
         "--method", "wct"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert Image.open(out).size == (64, 43)
    cache = Path(os.environ["STYLIZE_CACHE_DIR"])
    for level in (4, 2, 1):  # the wct cascade's levels, encoder and decoder each
        for part in ("encoder", "decoder"):
            name = f"vgg19-cd16x/{part}_relu{level}_1"
            assert (cache / f"{name}.pth").read_bytes() == (WEIGHTS / f"{name}.pth").read_bytes()
            bar = next(line for line in result.stderr.splitlines() if f"download {name}" in line)
            assert "100%" in bar and "MiB" in bar


@pytest.mark.usefixtures("isolated_weights")
def test_run_offline_without_the_weights_is_one_line_naming_the_way_out(tmp_path):
    env = {**os.environ, "STYLIZE_OFFLINE": "1"}

    result = subprocess.run(
        [sys.executable, "-m", "cli", "run", str(SHARED / "testdata/content/chicago.jpg"),
         str(SHARED / "testdata/style/sketch.png"), "-o", str(tmp_path / "out.png")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("stylize: error: weight file "), lines
    assert "STYLIZE_OFFLINE=1" in lines[0] and "stylize weights import DIR" in lines[0]
    assert not (tmp_path / "out.png").exists()
