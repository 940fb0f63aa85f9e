"""``/`` and ``/static``: the try-it page is static files, served to anyone (the API calls
it makes carry the key). Its behaviour in a browser: tests/web."""

import re


def test_the_page_and_its_files_are_served_without_an_api_key(make_api, prefix):
    api = make_api(key_prefix=prefix, api_keys="secret-key")

    page = api.client.get("/")
    script = api.client.get("/static/app.js")
    styles = api.client.get("/static/style.css")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'src="static/app.js"' in page.text
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert styles.status_code == 200
    assert styles.headers["content-type"].startswith("text/css")
    assert api.client.post("/stylize").status_code == 401  # the API itself still needs it


def test_the_page_is_revalidated_so_a_new_version_shows_at_once(api_without_worker):
    for path in ("/", "/static/app.js", "/static/style.css"):
        assert api_without_worker.client.get(path).headers["cache-control"] == "no-cache"


def test_an_unknown_static_file_is_a_404_in_the_usual_error_shape(api_without_worker):
    response = api_without_worker.client.get("/static/nope.js")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_page_is_not_part_of_the_api_schema(api_without_worker):
    paths = api_without_worker.client.get("/openapi.json").json()["paths"]

    assert "/" not in paths
    assert "/stylize" in paths


def test_the_file_pickers_offer_phone_photos(api_without_worker):
    # Desktop systems often give .heic no image/* type, so the picker names them too.
    page = api_without_worker.client.get("/").text
    pickers = re.findall(r'<input id="(\w+)" type="file" accept="([^"]*)"', page)

    assert {name for name, _ in pickers} == {"content", "style", "style2"}
    for _, accept in pickers:
        assert {"image/*", ".heic", ".heif", ".avif", "image/heic", "image/avif"} <= set(
            accept.split(",")
        )
