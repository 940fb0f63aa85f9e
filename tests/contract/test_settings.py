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
