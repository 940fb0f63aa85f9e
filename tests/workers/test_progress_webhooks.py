"""Progress webhooks are throttled: a Gatys job reports progress every quarter second,
its webhook hears of it at most every STYLIZE_WEBHOOK_PROGRESS_INTERVAL seconds."""

import pytest

from contract.keys import Keys
from contract.store import JobStore
from models.types import ProgressEvent
from workers.progress import ProgressReporter


@pytest.mark.parametrize(("every", "expected"), [(3600, 1), (0, 20)])
def test_progress_is_announced_at_most_once_per_interval(redis, prefix, every, expected):
    announced: list[int] = []
    reporter = ProgressReporter(
        JobStore(redis, Keys(prefix)),
        "0" * 32,
        ttl=60,
        min_interval=0,
        announce=lambda: announced.append(1),
        announce_every=every,
    )

    for i in range(20):
        reporter(ProgressEvent(stage="optimise", fraction=i / 20, iteration=i, total=20))

    assert len(announced) == expected
