"""Settings come from the environment, one class for the API and the workers."""

import pytest
from pydantic import ValidationError

from contract.settings import Settings


def test_settings_read_redis_url_and_comma_separated_lists_from_the_environment(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6380/2")
    monkeypatch.setenv("STYLIZE_API_KEYS", "one, two,")
    monkeypatch.setenv("STYLIZE_CORS_ORIGINS", "https://a.example,https://b.example")
    monkeypatch.setenv("STYLIZE_JOB_TTL", "600")
    monkeypatch.setenv("STYLIZE_KEEP_FREED_MEMORY", "false")

    settings = Settings()

    assert settings.redis_url == "redis://cache.internal:6380/2"
    assert settings.api_keys == ("one", "two")
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.job_ttl == 600
    assert settings.keep_freed_memory is False
    assert settings.keys.job("x") == "stylize:job:x"


def test_a_worker_lease_shorter_than_two_heartbeats_is_refused():
    with pytest.raises(ValidationError, match="STYLIZE_WORKER_LEASE"):
        Settings(worker_heartbeat=5, worker_lease=10)


def test_the_video_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("STYLIZE_MAX_VIDEO_BYTES", "5000000")
    monkeypatch.setenv("STYLIZE_MAX_VIDEO_SECONDS", "12.5")
    monkeypatch.setenv("STYLIZE_MAX_VIDEO_FRAMES", "300")
    monkeypatch.setenv("STYLIZE_MAX_VIDEO_PIXELS", "921600")

    limits = Settings().video_limits

    assert (limits.max_bytes, limits.max_seconds) == (5_000_000, 12.5)
    assert (limits.max_frames, limits.max_pixels) == (300, 921_600)


def test_the_body_cap_admits_the_largest_video_unless_it_is_set():
    assert Settings(max_video_bytes=100).request_limit == 100 + 50 * 2**20
    assert Settings(max_video_bytes=100, max_request_bytes=70).request_limit == 70


def test_each_queue_has_its_timeout_and_depth():
    settings = Settings(fast_timeout=1, slow_timeout=2, video_timeout=3, max_video_queue_depth=4)

    assert [settings.job_timeout(q) for q in ("fast", "slow", "video")] == [1, 2, 3]
    assert settings.queue_depth("video") == 4
    assert settings.queue_depth("fast") == settings.max_queue_depth == 100
