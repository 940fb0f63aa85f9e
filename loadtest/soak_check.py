"""The verdict of a chaos soak (``loadtest/soak.py``), as a pure function of what was
observed: what the users were told and downloaded, the job records and results left in
Redis, and when Redis was down.

Every accepted job must have ended ``succeeded``, or ``failed`` with a documented cause
(``DOCUMENTED_FAILURES``); none may be missing; a succeeded job's stored result must be
the one its record describes, every download of it the same bytes, and at least one
download must have worked; the only 5xx allowed are 503s while Redis was down (plus
``grace`` seconds for the API to notice it is back).
"""

from collections import Counter
from dataclasses import dataclass, field

DOCUMENTED_FAILURES = frozenset({"worker_lost", "timeout"})
"""Failures that chaos may cause and the API documents: a job that lost its worker more
often than ``STYLIZE_RETRY_LIMIT`` allows, or one that ran past its time limit."""
TERMINAL = frozenset({"succeeded", "failed", "canceled"})


@dataclass
class Observations:
    """What the virtual users saw (filled by ``loadtest/soak_client.py``)."""

    accepted: dict[str, str] = field(default_factory=dict)  # job id -> method
    downloads: dict[str, list[str]] = field(default_factory=dict)  # job id -> sha256 each
    server_errors: list[tuple[float, str, int]] = field(default_factory=list)  # (t, what, code)
    status_codes: Counter = field(default_factory=Counter)  # "POST /stylize 202" -> count
    transport_errors: Counter = field(default_factory=Counter)  # error type -> count


@dataclass(frozen=True)
class StoredJob:
    """A job as Redis had it at the end: its record's fields, and its result's sha256."""

    status: str
    error_code: str | None = None
    etag: str | None = None  # the record's result.etag: sha256 of the bytes, 32 hex
    attempts: int = 0
    result_sha256: str | None = None


def check(
    seen: Observations,
    stored: dict[str, StoredJob],
    outages: list[tuple[float, float]],
    grace: float = 5.0,
) -> dict:
    """The report: counts, and ``problems`` (empty when the soak passed)."""
    problems: list[str] = []
    outcomes: Counter = Counter()
    for job_id in sorted(seen.accepted):
        job = stored.get(job_id)
        if job is None:
            problems.append(f"{job_id}: accepted, but no record is left (lost)")
            continue
        outcomes[job.status if job.status != "failed" else f"failed ({job.error_code})"] += 1
        if job.status not in TERMINAL:
            problems.append(f"{job_id}: never finished (still {job.status})")
        elif job.status == "failed" and job.error_code not in DOCUMENTED_FAILURES:
            problems.append(f"{job_id}: failed with an undocumented cause {job.error_code!r}")
        elif job.status == "canceled":
            problems.append(f"{job_id}: canceled, though nobody canceled it")
        elif job.status == "succeeded":
            problems += _result_problems(job_id, job, seen.downloads.get(job_id, []))

    documented_503 = 0
    for at, what, code in seen.server_errors:
        if code == 503 and any(start <= at <= end + grace for start, end in outages):
            documented_503 += 1
        else:
            problems.append(f"{what} answered {code} at {at:.1f}, outside any Redis outage")

    accepted_stored = [stored[i] for i in seen.accepted if i in stored]
    return {
        "accepted": len(seen.accepted),
        "accepted_by_method": dict(Counter(seen.accepted.values())),
        "outcomes": dict(outcomes),
        "rerun_jobs": sum(1 for job in accepted_stored if job.attempts > 1),
        "downloads": sum(len(shas) for shas in seen.downloads.values()),
        "redis_outages": len(outages),
        "documented_503": documented_503,
        "status_codes": dict(sorted(seen.status_codes.items())),
        "transport_errors": dict(seen.transport_errors),
        "problems": problems,
        "passed": not problems,
    }


def _result_problems(job_id: str, job: StoredJob, downloads: list[str]) -> list[str]:
    if job.result_sha256 is None:
        return [f"{job_id}: succeeded, but its result is not stored"]
    problems = []
    if job.etag is None or not job.result_sha256.startswith(job.etag):
        problems.append(f"{job_id}: the stored result is not the one its record describes")
    if not downloads:
        problems.append(f"{job_id}: succeeded, but its result was never downloaded")
    elif set(downloads) != {job.result_sha256}:
        problems.append(f"{job_id}: produced two different results")
    return problems


def format_report(report: dict) -> str:
    lines = [
        f"accepted {report['accepted']} {report['accepted_by_method']}   "
        f"re-run {report['rerun_jobs']}   downloads {report['downloads']}",
        f"outcomes {report['outcomes']}",
        f"Redis outages {report['redis_outages']}   503s during them {report['documented_503']}"
        f"   transport errors {report['transport_errors'] or 0}",
        "status codes " + ", ".join(f"{k}: {n}" for k, n in report["status_codes"].items()),
    ]
    for name in ("chaos", "elapsed_s"):
        if name in report:
            lines.append(f"{name} {report[name]}")
    lines += [f"PROBLEM {problem}" for problem in report["problems"][:50]]
    lines.append("PASS" if report["passed"] else f"FAIL ({len(report['problems'])} problems)")
    return "\n".join(lines)
