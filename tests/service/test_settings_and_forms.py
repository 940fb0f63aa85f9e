"""Settings come from the environment; the form's own rules agree with the engine's."""

import io

import pytest
from fastapi import UploadFile
from pydantic import ValidationError

from models.errors import InvalidParameter
from service.config import Settings
from service.forms import StylizeForm


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


def form(**fields: object) -> StylizeForm:
    content = UploadFile(io.BytesIO(b""), filename="c.png")
    return StylizeForm.model_validate({"content": content, **fields})


def test_form_fields_become_nested_style_params():
    params = form(method="gatys", alpha="0.5", **{"gatys.iterations": "30"}).to_params(2048)

    assert (params.method, params.alpha, params.gatys.iterations) == ("gatys", 0.5, 30)
    assert params.size == 512  # not given: the engine's default


def test_style_weights_may_be_comma_separated_or_repeated():
    comma = form(style_weights=["0.25, 0.75"]).to_params(2048)
    repeated = form(style_weights=["0.25", "0.75"]).to_params(2048)

    assert comma.style_weights == repeated.style_weights == (0.25, 0.75)


def test_a_size_over_the_server_maximum_is_refused_naming_it():
    with pytest.raises(InvalidParameter) as refused:
        form(style_size="1024").to_params(512)

    assert refused.value.field == "style_size"
