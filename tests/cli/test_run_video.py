"""`stylize run` on a video: frames, rate and audio kept, the temporal switch, the
formats, the same refusals as the API, and Ctrl-C keeping the frames done so far."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from PIL import Image

from cli.main import main
from tests.support.paths import CONTENT, ROOT, STYLE
from tests.support.video import pan, photo, read, write_clip

SMALL = ["--size", "64", "--style-size", "64"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 frames of 96×64 at 25 fps with an AAC track."""
    return write_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", pan(photo(), 10, (96, 64), 2))


def test_run_stylizes_a_video_keeping_frames_rate_and_audio(clip, tmp_path, capsys):
    out = tmp_path / "out.mp4"

    assert main(["run", str(clip), str(STYLE), "-o", str(out), *SMALL]) == 0

    frames, times = read(out)
    assert len(frames) == 10 and frames[0].shape == (42, 64, 3)
    assert times == pytest.approx([i / 25 for i in range(10)], abs=1e-3)
    with av.open(str(out)) as file:
        assert file.streams.video[0].average_rate == 25
        assert file.streams.audio[0].codec_context.name == "aac"
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed
    assert "10 frames, 0.40 s, with audio; wct, temporal on" in printed


def test_temporal_off_and_an_animated_gif(clip, tmp_path, capsys):
    out = tmp_path / "out.gif"

    assert main(["run", str(clip), str(STYLE), "-o", str(out), "--temporal", "off", *SMALL]) == 0

    with Image.open(out) as gif:
        assert gif.n_frames == 10
    assert "temporal off" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--method", "gatys"], "method: method 'gatys' is not available for video"),
        (["-o", "{tmp}/out.png"], "format: format 'png' is an image format"),
        (["--format", "jpeg"], "format: format 'jpeg' is an image format"),
    ],
)
def test_run_refuses_what_a_video_cannot_do_as_the_api_does(clip, tmp_path, capsys, options, words):
    options = [o.replace("{tmp}", str(tmp_path)) for o in options]
    out = ["-o", str(tmp_path / "out.mp4")] if "-o" not in options else []

    assert main(["run", str(clip), str(STYLE), *out, *options, *SMALL]) == 1

    assert words in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_a_truncated_video_is_refused_and_leaves_no_file(clip, tmp_path, capsys):
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size * 6 // 10])
    out = tmp_path / "out.mp4"

    assert main(["run", str(truncated), str(STYLE), "-o", str(out), *SMALL]) == 1

    assert capsys.readouterr().err.startswith("stylize: error: content: ")  # no traceback
    assert not out.exists()


def test_temporal_is_refused_for_a_photo(tmp_path, capsys):
    out = tmp_path / "o.png"

    assert main(["run", str(CONTENT), str(STYLE), "-o", str(out), "--temporal", "off"]) == 1

    assert "temporal: temporal applies to videos only" in capsys.readouterr().err


def test_ctrl_c_keeps_a_playable_video_of_the_frames_done(tmp_path):
    # 900 frames (a pan there and back, three times): at least 6 s of work at the fastest
    # speed seen (150 frames/s at 96 px, bfloat16 networks), so the signal 2 s after the
    # first frame always lands mid-video.
    there = pan(photo(), 150, (160, 96), 1)
    long = write_clip(tmp_path / "long.mp4", (there + there[::-1]) * 3, audio=False)
    out = tmp_path / "out.mp4"
    command = [sys.executable, "-m", "cli", "run", str(long), str(STYLE), "-o", str(out),
               "--size", "96", "--style-size", "64"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while not out.exists():  # the writer opens it once the first frame is on its way
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no output file after 180 s"
            time.sleep(0.1)
        time.sleep(2)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 0, stderr
    assert "stopped early" in stdout
    frames = len(read(out)[0])
    assert 1 <= frames < 900
    assert f"{frames} frames" in stdout
