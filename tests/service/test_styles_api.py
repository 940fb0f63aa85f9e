"""POST /styles: upload once, reuse by id; a reused style is not encoded again."""

import hashlib

from tests.support.images import unique_style_upload


def test_an_uploaded_style_gets_its_sha256_as_id(api_without_worker):
    client = api_without_worker.client
    upload = unique_style_upload()

    created = client.post("/styles", files={"style": upload})
    again = client.post("/styles", files={"style": upload})

    assert created.status_code == 201
    assert again.status_code == 200
    style = created.json()
    assert style["id"] == again.json()["id"] == hashlib.sha256(upload[1]).hexdigest()
    assert created.headers["Location"] == style["links"]["self"] == f"/styles/{style['id']}"
    assert (style["format"], style["width"], style["height"]) == ("PNG", 300, 300)
    fetched = client.get(f"/styles/{style['id']}").json()
    assert fetched["id"] == style["id"]
    assert 0 < fetched["expires_in"] <= api_without_worker.settings.style_ttl


def test_a_style_upload_is_checked_like_any_image(api_without_worker):
    response = api_without_worker.client.post(
        "/styles", files={"style": ("a.txt", b"not an image", "text/plain")}
    )

    assert response.status_code == 415
    assert response.json()["error"]["field"] == "style"


def test_reusing_a_style_id_skips_style_encoding(api):
    style_id = api.client.post("/styles", files={"style": unique_style_upload()}).json()["id"]

    first = api.submit(style_id=style_id, headers={"Prefer": "wait=60"}).json()
    second = api.submit(style_id=style_id, method="wct", headers={"Prefer": "wait=60"}).json()

    assert first["status"] == second["status"] == "succeeded"
    assert first["style_cache"] == {"hits": 0, "misses": 1}
    assert second["style_cache"] == {"hits": 1, "misses": 0}  # adain and wct share encodings


def test_a_different_style_size_is_encoded_again(api):
    style_id = api.client.post("/styles", files={"style": unique_style_upload()}).json()["id"]

    api.submit(style_id=style_id, style_size="128", headers={"Prefer": "wait=60"})
    other = api.submit(style_id=style_id, style_size="64", headers={"Prefer": "wait=60"}).json()

    assert other["style_cache"] == {"hits": 0, "misses": 1}
