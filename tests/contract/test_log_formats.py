"""Log formats: human lines on a terminal, JSON lines elsewhere, chosen once and named."""

import json
import logging
import os
import subprocess
import sys

import pytest

from contract.logs import HUMAN_LOGGING_CONFIG, HumanFormatter, resolve_log_format
from tests.support.paths import ROOT


def test_auto_is_human_on_a_terminal_and_json_anywhere_else(tmp_path, monkeypatch):
    monkeypatch.delenv("STYLIZE_LOG_FORMAT", raising=False)
    leader, follower = os.openpty()
    try:
        with os.fdopen(follower, "w") as terminal, open(tmp_path / "log", "w") as file:
            assert resolve_log_format(None, terminal) == "human"
            assert resolve_log_format(None, file) == "json"
            assert resolve_log_format("json", terminal) == "json"  # asked for: no guessing
    finally:
        os.close(leader)


def test_the_environment_chooses_when_the_command_line_does_not(tmp_path, monkeypatch):
    with open(tmp_path / "log", "w") as file:
        monkeypatch.setenv("STYLIZE_LOG_FORMAT", "text")  # the older name of human
        assert resolve_log_format(None, file) == "human"
        monkeypatch.setenv("STYLIZE_LOG_FORMAT", "yaml")
        with pytest.raises(ValueError, match="auto, human, json; got 'yaml'"):
            resolve_log_format(None, file)


def test_a_human_line_names_its_source_and_the_job_it_is_about():
    record = logging.LogRecord("stylize.worker", logging.INFO, __file__, 1, "took %s", ("x",), None)
    record.job_id = "3f2a9c1e"

    assert HumanFormatter().format(record) == "worker: took x [job 3f2a9c1e]"


def test_uvicorns_human_log_config_gives_human_lines():
    code = (
        "import json, logging, logging.config, sys; "
        f"logging.config.dictConfig(json.load(open({str(HUMAN_LOGGING_CONFIG)!r}))); "
        "logging.getLogger('uvicorn.access').info('%s - \"%s\" %d', '127.0.0.1:5', 'GET /', 200)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    line = result.stderr.strip()
    assert 'INFO     uvicorn.access: 127.0.0.1:5 - "GET /" 200' in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_human_lines_leave_out_rqs_routine_info_but_not_its_warnings():
    code = (
        "import logging; from contract.logs import configure_logging; "
        "configure_logging('info', 'human'); "
        "logging.getLogger('rq.worker').info('cleaning registries for queue: fast'); "
        "logging.getLogger('rq.worker').warning('moved to FailedJobRegistry'); "
        "logging.getLogger('stylize.worker').info('job 1: succeeded in 0.40 s')"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert "cleaning registries" not in result.stderr
    assert "rq.worker: moved to FailedJobRegistry" in result.stderr
    assert "worker: job 1: succeeded in 0.40 s" in result.stderr
