"""GET /jobs: the caller's jobs, newest first, a page at a time; never another key's."""

ALICE = {"Authorization": "Bearer alice-key"}
BOB = {"Authorization": "Bearer bob-key"}


def all_pages(client, headers: dict, **query) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        params = {**query, **({"cursor": cursor} if cursor else {})}
        response = client.get("/jobs", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([job["id"] for job in page["jobs"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


def test_a_key_lists_its_own_jobs_newest_first_and_never_another_keys(make_api, prefix):
    api = make_api(key_prefix=prefix, api_keys="alice-key,bob-key")
    alice = [api.submit(headers=ALICE).json()["id"] for _ in range(3)]
    bob = [api.submit(headers=BOB).json()["id"] for _ in range(2)]

    assert all_pages(api.client, ALICE) == [alice[::-1]]
    assert all_pages(api.client, BOB) == [bob[::-1]]
    listed = api.client.get("/jobs", headers=ALICE).json()["jobs"][0]
    assert listed == api.job(alice[-1], ALICE)  # the same JSON as GET /jobs/{id}


def test_pages_follow_the_cursor_to_the_end_without_repeats(api_without_worker):
    ids = [api_without_worker.submit().json()["id"] for _ in range(5)]

    pages = all_pages(api_without_worker.client, {}, limit=2)

    assert pages == [ids[:2:-1], ids[2:0:-1], ids[:1]]


def test_a_status_filter_lists_only_jobs_in_that_state(api_without_worker):
    api = api_without_worker
    kept, canceled = api.submit().json()["id"], api.submit().json()["id"]
    api.client.delete(f"/jobs/{canceled}")

    assert all_pages(api.client, {}, status="canceled") == [[canceled]]
    assert all_pages(api.client, {}, status="queued") == [[kept]]
    assert all_pages(api.client, {}, status="succeeded") == [[]]


def test_bad_listing_parameters_are_422_naming_them(api_without_worker):
    for params, field in [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"status": "done"}, "status"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ]:
        response = api_without_worker.client.get("/jobs", params=params)
        assert response.status_code == 422, params
        assert response.json()["error"]["field"] == field


def test_listing_needs_the_key_when_keys_are_configured(make_api, prefix):
    api = make_api(key_prefix=prefix, api_keys="alice-key")

    assert api.client.get("/jobs").status_code == 401
