"""The load test's pure parts: the method mix, percentiles, the pass/fail verdict."""

import importlib.util
from collections import Counter
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "loadtest_run", Path(__file__).resolve().parents[2] / "loadtest" / "run.py"
)
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)


def test_mix_is_normalised_and_drops_zero_weights():
    assert run.parse_mix("adain=7,wct=3,gatys=0") == {"adain": 0.7, "wct": 0.3}


@pytest.mark.parametrize("text", ["adain", "vgg=1", "adain=-1", "adain=0", "adain=nan"])
def test_mix_rejects_unknown_methods_and_bad_weights(text):
    with pytest.raises(ValueError):
        run.parse_mix(text)


def test_percentile_interpolates_between_ranks():
    values = [4.0, 1.0, 3.0, 2.0]
    assert run.percentile(values, 0) == 1.0
    assert run.percentile(values, 50) == 2.5
    assert run.percentile(values, 100) == 4.0
    assert run.percentile([], 50) is None


def _stats(accepted: int, finished: int, codes: dict[str, int]) -> "run.Stats":
    stats = run.Stats()
    stats.accepted["adain"] = accepted
    stats.finished["adain"] = finished
    stats.time_to_result["adain"] = [1.0] * finished
    stats.status_codes["POST /stylize"] = Counter(codes)
    return stats


def test_report_passes_when_every_accepted_job_finished_without_5xx():
    report = run.summarize(_stats(3, 3, {"202": 3, "429": 2}), elapsed=2.0)
    assert report["jobs_per_s"] == 1.5
    assert run.passed(report)
    assert run.format_table(report).endswith("PASS")


def test_report_fails_on_an_unfinished_job_or_a_5xx():
    assert not run.passed(run.summarize(_stats(3, 2, {"202": 3}), elapsed=1.0))
    assert not run.passed(run.summarize(_stats(1, 1, {"202": 1, "503": 1}), elapsed=1.0))
