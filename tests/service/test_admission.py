"""Admission is one atomic step: the queue's depth cap and the per-key cap hold exactly
however many clients submit at once, on however many API processes; and one key that
fills its share leaves the others unaffected (fair share)."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.images import content_upload, style_upload
from tests.support.processes import ApiServer

ALICE = {"Authorization": "Bearer alice-key"}
BOB = {"Authorization": "Bearer bob-key"}
FILES = {"content": content_upload(), "style": style_upload()}


def submit_at_once(apis: list[ApiServer], count: int, headers: dict) -> list[httpx.Response]:
    """``count`` clients POST /stylize at the same moment, spread over ``apis``."""

    def post(i: int) -> httpx.Response:
        url = apis[i % len(apis)].url + "stylize"
        return httpx.post(url, files=FILES, data={"size": "128"}, headers=headers, timeout=60)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(post, range(count)))


@pytest.fixture
def two_apis(prefix, tmp_path, request):
    """Two API processes on one prefix with no worker, with the settings the test asks."""
    apis = [ApiServer(prefix, tmp_path, **request.param) for _ in range(2)]
    yield apis
    for api in apis:
        api.stop()


@pytest.mark.parametrize("two_apis", [{"STYLIZE_MAX_QUEUE_DEPTH": "5"}], indirect=True)
def test_twenty_concurrent_clients_get_exactly_the_queue_cap_accepted(two_apis, redis, prefix):
    responses = submit_at_once(two_apis, 20, {})

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202] * 5 + [429] * 15
    refused = [r for r in responses if r.status_code == 429]
    assert {r.json()["error"]["code"] for r in refused} == {"queue_full"}
    assert all(int(r.headers["Retry-After"]) > 0 for r in refused)
    assert redis.llen(f"rq:queue:{prefix}:fast") == 5


@pytest.mark.parametrize(
    "two_apis",
    [{"STYLIZE_MAX_ACTIVE_JOBS_PER_KEY": "3", "STYLIZE_API_KEYS": "alice-key,bob-key"}],
    indirect=True,
)
def test_twenty_concurrent_clients_of_one_key_get_exactly_its_share(two_apis, redis, prefix):
    responses = submit_at_once(two_apis, 20, ALICE)

    assert sorted(r.status_code for r in responses) == [202] * 3 + [429] * 17
    refused = [r for r in responses if r.status_code == 429]
    assert {r.json()["error"]["code"] for r in refused} == {"too_many_active_jobs"}
    assert all(int(r.headers["Retry-After"]) > 0 for r in refused)
    assert redis.llen(f"rq:queue:{prefix}:fast") == 3


def test_a_key_over_its_share_is_429_while_another_key_is_unaffected(make_api, prefix):
    api = make_api(key_prefix=prefix, api_keys="alice-key,bob-key", max_active_jobs_per_key=2)
    alice = [api.submit(headers=ALICE) for _ in range(2)]

    refused = api.submit(headers=ALICE)
    bob = api.submit(headers=BOB)

    assert [r.status_code for r in alice] == [202, 202]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_active_jobs"
    assert int(refused.headers["Retry-After"]) > 0
    assert bob.status_code == 202


def test_a_finished_job_frees_its_place_in_the_share(make_api, prefix):
    api = make_api(key_prefix=prefix, max_active_jobs_per_key=1)
    job = api.submit().json()
    assert api.submit().status_code == 429

    api.client.delete(f"/jobs/{job['id']}")  # canceled: no longer active

    assert api.submit().status_code == 202
