"""The page at ``/``, used as a person would: choose images, submit, watch, download,
cancel, and read what went wrong. Fixtures: tests/web/conftest.py."""

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from contract.keys import Keys
from contract.store import JobStore
from service.queueing import RETRY_AFTER
from tests.support.paths import CONTENT, STYLE, TESTDATA

SMALL_CONTENT = TESTDATA / "content" / "sailboat.jpg"  # 104 kB
SECOND_STYLE = TESTDATA / "style" / "woman_with_hat_matisse.jpg"  # 102 kB
JOB_TIMEOUT = 120_000  # ms: a 256 px job takes seconds, but the machine is shared
KEY = "web-test-key"
INVALID = re.compile(r"\binvalid\b")  # the class that outlines the field at fault


def choose(page: Page, content: Path = CONTENT, style: Path = STYLE, size: str = "256") -> None:
    page.set_input_files("#content", content)
    page.set_input_files("#style", style)
    page.select_option("#size", size)


def natural_width(page: Page, selector: str) -> int:
    return page.eval_on_selector(selector, "img => img.naturalWidth")


def shows_no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_a_job_runs_from_upload_to_download(ready_api, open_page):
    page = open_page(ready_api)
    expect(page.locator("#health")).to_contain_text("ready")
    choose(page)
    assert natural_width(page, ".drop[data-field=content] img") == 712  # the input preview

    page.click("#submit")

    expect(page.locator("#status")).to_have_text("Done", timeout=JOB_TIMEOUT)
    expect(page.locator("#result-img")).to_be_visible()
    assert natural_width(page, "#result-img") == 256  # chicago.jpg's longest side, resized
    assert page.get_attribute("#progress", "aria-valuenow") == "1"
    expect(page.locator("#output-caption")).to_contain_text("256 × 170 px")
    expect(page.locator("#error")).to_be_hidden()
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename.endswith(".png")
    assert Path(download.value.path()).read_bytes().startswith(b"\x89PNG")


def test_the_page_follows_the_jobs_live_events_and_polls_when_it_cannot(ready_api, open_page):
    page = open_page(ready_api)
    requests: list[tuple[str, str]] = []
    page.on("request", lambda request: requests.append((request.method, request.url)))
    polls = re.compile(r"/jobs/[0-9a-f]{32}$")

    choose(page, content=SMALL_CONTENT)
    page.click("#submit")
    expect(page.locator("#status")).to_have_text("Done", timeout=JOB_TIMEOUT)

    assert any(url.endswith("/events") for _, url in requests)
    assert not [url for method, url in requests if method == "GET" and polls.search(url)]

    page.route("**/events", lambda route: route.abort())  # as behind a proxy that drops it
    requests.clear()
    page.click("#submit")
    expect(page.locator("#status")).to_have_text("Done", timeout=JOB_TIMEOUT)
    expect(page.locator("#result-img")).to_be_visible()
    expect(page.locator("#error")).to_be_hidden()
    assert [url for method, url in requests if method == "GET" and polls.search(url)]


def test_two_styles_mix_with_the_chosen_weight(ready_api, open_page, redis, session_prefix):
    page = open_page(ready_api)
    choose(page)
    page.click("#mix summary")
    page.set_input_files("#style2", SECOND_STYLE)
    page.fill("#weight2", "0.3")
    page.get_by_label("wct", exact=True).check()

    page.click("#submit")

    expect(page.locator("#status")).to_have_text("Done", timeout=JOB_TIMEOUT)
    assert natural_width(page, "#result-img") == 256
    job = JobStore(redis, Keys(session_prefix)).get(page.text_content("#job-id code"))
    assert len(job.spec.styles) == 2
    assert job.spec.params.method == "wct"
    assert job.spec.params.style_weights == (0.7, 0.3)


def test_a_gatys_job_shows_previews_and_a_canceled_one_keeps_its_best_image(
    ready_api, open_page, screens
):
    page = open_page(ready_api)
    choose(page)
    page.get_by_label("gatys", exact=True).check()
    expect(page.locator("#gatys")).to_be_visible()
    page.fill("#iterations", "2000")
    page.fill("#preview-every", "1")

    page.click("#submit")

    # The first preview comes after one iteration and shows while the job runs.
    expect(page.locator("#preview-img")).to_be_visible(timeout=JOB_TIMEOUT)
    expect(page.locator("#status")).to_contain_text("of 2000")
    assert natural_width(page, "#preview-img") == 256
    fraction = float(page.get_attribute("#progress", "aria-valuenow"))
    assert 0 < fraction < 1
    screens.shoot(page, "preview")
    page.click("#cancel")
    expect(page.locator("#status")).to_contain_text("Canceled", timeout=JOB_TIMEOUT)
    expect(page.locator("#result-img")).to_be_visible()
    expect(page.locator("#output-caption")).to_contain_text("Partial result")
    expect(page.locator("#cancel")).to_be_hidden()


def test_a_file_that_is_not_an_image_shows_the_apis_message_and_field(
    session_api, open_page, tmp_path
):
    not_an_image = tmp_path / "notes.txt"
    not_an_image.write_text("hello, not a photo")
    expected = httpx.post(
        session_api.url + "stylize",
        files={
            "content": ("notes.txt", not_an_image.read_bytes(), "text/plain"),
            "style": ("sketch.png", STYLE.read_bytes(), "image/png"),
        },
    ).json()["error"]
    page = open_page(session_api)
    choose(page, content=not_an_image)

    page.click("#submit")

    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-title")).to_contain_text("415")
    expect(page.locator("#error-message")).to_have_text(expected["message"])
    expect(page.locator("#error-field")).to_have_text("Field: content")
    expect(page.locator(".drop[data-field=content]")).to_have_class(INVALID)
    expect(page.locator("#submit")).to_be_enabled()


def test_an_invalid_setting_names_its_field(session_api, open_page):
    page = open_page(session_api)
    choose(page)
    page.get_by_label("gatys", exact=True).check()
    page.fill("#iterations", "5000")

    page.click("#submit")

    expect(page.locator("#error-title")).to_contain_text("422")
    expect(page.locator("#error-field")).to_have_text("Field: gatys.iterations")
    expect(page.locator("[data-field='gatys.iterations']")).to_have_class(INVALID)


def test_without_the_api_key_the_page_asks_for_it_and_remembers_it(
    start_api, prefix, open_page, screens
):
    api = start_api(prefix, STYLIZE_API_KEYS=KEY)  # no worker: jobs stay queued
    assert httpx.get(api.url).status_code == 200  # the page itself needs no key
    page = open_page(api)
    choose(page, content=SMALL_CONTENT)

    page.click("#submit")

    expect(page.locator("#error-title")).to_contain_text("401")
    expect(page.locator("#error-message")).to_contain_text("Authorization: Bearer")
    expect(page.locator("#api-key")).to_be_focused()
    screens.shoot(page, "401")

    page.fill("#api-key", KEY)
    page.reload()  # the key survives: it is in localStorage
    expect(page.locator("#api-key")).to_have_value(KEY)
    choose(page, content=SMALL_CONTENT)
    page.click("#submit")
    expect(page.locator("#status")).to_have_text("Queued")
    expect(page.locator("#error")).to_be_hidden()

    page.click("#cancel")  # a queued job is canceled at once
    expect(page.locator("#status")).to_have_text("Canceled")
    expect(page.locator("#submit")).to_be_enabled()


def test_a_file_over_the_upload_limit_shows_413(start_api, prefix, open_page):
    api = start_api(prefix, STYLIZE_MAX_UPLOAD_BYTES="150000")
    page = open_page(api)
    choose(page)  # chicago.jpg is 220 kB

    page.click("#submit")

    expect(page.locator("#error-title")).to_contain_text("413")
    expect(page.locator("#error-message")).to_contain_text("content is too large")
    expect(page.locator("#error-field")).to_have_text("Field: content")


def test_a_full_queue_shows_429_and_when_to_retry(start_api, prefix, open_page):
    api = start_api(prefix, STYLIZE_MAX_QUEUE_DEPTH="1")  # no worker: jobs wait
    files = {
        "content": ("sailboat.jpg", SMALL_CONTENT.read_bytes(), "image/jpeg"),
        "style": ("sketch.png", STYLE.read_bytes(), "image/png"),
    }
    assert httpx.post(api.url + "stylize", files=files).status_code == 202  # someone else's
    page = open_page(api)
    choose(page, content=SMALL_CONTENT)

    page.click("#submit")

    expect(page.locator("#error-title")).to_contain_text("429")
    expect(page.locator("#error-message")).to_contain_text(
        f"Try again in {RETRY_AFTER['fast']} s"  # the Retry-After header
    )


def test_on_a_phone_the_page_fits_the_screen_and_runs_a_job(ready_api, open_page, screens):
    page = open_page(ready_api, phone=True)
    assert shows_no_horizontal_scroll(page)
    screens.shoot(page, "empty")
    choose(page, content=SMALL_CONTENT, style=SECOND_STYLE)

    page.click("#submit")

    expect(page.locator("#status")).to_have_text("Done", timeout=JOB_TIMEOUT)
    assert natural_width(page, "#result-img") == 256
    width = page.eval_on_selector("#result-img", "img => img.getBoundingClientRect().width")
    assert 300 < width <= 390  # the result spans the screen, no wider
    assert shows_no_horizontal_scroll(page)
