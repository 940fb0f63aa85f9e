"""The page with a video as content: the video's settings appear, the job shows its
frames as it goes, and the result plays in a <video>. Fixtures: tests/web/conftest.py."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.paths import STYLE
from tests.support.video import pan, photo, write_clip

JOB_TIMEOUT = 180_000  # ms: a dozen frames at 256 px on a shared machine


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One second: 12 frames of 160×96 at 12 fps, with an AAC track."""
    frames = pan(photo(), 12, (160, 96), 3)
    return write_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", frames, fps=12)


def test_a_video_is_stylized_and_plays_in_the_page(ready_api, open_page, clip, screens):
    page = open_page(ready_api)
    page.set_input_files("#content", clip)
    page.set_input_files("#style", STYLE)
    page.select_option("#size", "256")

    expect(page.locator(".drop[data-field=content] video")).to_be_visible()
    expect(page.locator("#temporal")).to_be_checked()
    expect(page.locator("#gatys-method")).to_be_disabled()
    expect(page.locator("#format option[value=mp4]")).to_be_attached()
    assert page.eval_on_selector("#format option[value=png]", "o => o.hidden")
    screens.shoot(page, "chosen")

    page.click("#submit")

    expect(page.locator("#status")).to_have_text("Done", timeout=JOB_TIMEOUT)
    video = page.locator("#result-video")
    expect(video).to_be_visible()
    page.wait_for_function(
        "document.querySelector('#result-video').readyState >= 1", timeout=30_000
    )
    width, duration = page.eval_on_selector("#result-video", "v => [v.videoWidth, v.duration]")
    assert width == 256
    assert duration == pytest.approx(1.0, abs=0.1)
    expect(page.locator("#output-caption")).to_contain_text("256 × 154 px, 12 frames, 1.0 s")
    expect(page.locator("#result-img")).to_be_hidden()
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename.endswith(".mp4")
    assert Path(download.value.path()).read_bytes()[4:8] == b"ftyp"
