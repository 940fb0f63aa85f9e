"""The job store's one step that ends a run: the result and the final status together,
and only for the job's latest run."""

import pytest

from contract.jobs import JobRecord, JobSpec, JobStatus
from contract.keys import Keys
from contract.store import JobStore
from models.params import StyleParams


@pytest.fixture
def store(redis, prefix):
    return JobStore(redis, Keys(prefix))


def running(store: JobStore, attempts: int) -> JobRecord:
    """A job that run number ``attempts`` has started."""
    spec = JobSpec(params=StyleParams(), content="a" * 64, styles=("b" * 64,), ttl=60)
    record = JobRecord(
        id="c" * 32, owner="anonymous", status=JobStatus.running, method="wct", queue="fast",
        spec=spec, attempts=attempts,
    )  # fmt: skip
    with store.redis.pipeline() as pipe:
        store.create(record, pipe)
        pipe.execute()
    return record


def test_the_latest_run_stores_its_result_and_status_together(store):
    record = running(store, attempts=2)

    ended = store.finish(record.id, 2, JobStatus.succeeded, {"stage": "done"}, b"image", 60)

    assert (ended.applied, ended.previous) == (True, JobStatus.running)
    assert store.get(record.id).status is JobStatus.succeeded
    assert store.get_result(record.id)[0] == b"image"


def test_a_run_given_up_for_lost_cannot_overwrite_the_newer_one(store):
    record = running(store, attempts=2)  # run 1's worker was paused; run 2 has the job

    late = store.finish(record.id, 1, JobStatus.succeeded, {"stage": "done"}, b"older", 60)
    store.finish(record.id, 2, JobStatus.succeeded, {"stage": "done"}, b"newer", 60)

    assert not late.applied
    assert store.get_result(record.id)[0] == b"newer"


def test_a_finished_job_is_not_finished_again(store):
    record = running(store, attempts=1)
    store.finish(record.id, 1, JobStatus.failed, {"stage": "failed"}, None, 60)

    again = store.finish(record.id, 1, JobStatus.succeeded, {}, b"image", 60)

    assert (again.applied, again.previous) == (False, JobStatus.failed)
    assert store.get_result(record.id) is None


# --- videos: moved a chunk at a time -------------------------------------------------------


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr("contract.store.CHUNK", 1000)  # so a few kB take several commands


def test_a_video_goes_in_and_out_in_chunks_byte_for_byte(store, small_chunks, tmp_path):
    data = bytes(range(256)) * 41  # 10,496 bytes: ten full chunks and a part

    store.put_video("v" * 32, data, 60)
    with open(tmp_path / "copy", "wb") as file:
        assert store.copy_video("v" * 32, file)

    assert (tmp_path / "copy").read_bytes() == data
    assert 0 < store.redis.ttl(store.keys.video("v" * 32)) <= 60
    store.delete_video("v" * 32)
    with open(tmp_path / "gone", "wb") as file:
        assert not store.copy_video("v" * 32, file)


def test_a_staged_result_becomes_the_result_with_the_final_status(store, small_chunks, tmp_path):
    record = running(store, attempts=1)
    (tmp_path / "out.mp4").write_bytes(data := bytes(range(256)) * 9)
    with open(tmp_path / "out.mp4", "rb") as file:
        assert store.stage_result(record.id, 1, file, 60) == len(data)

    ended = store.finish(record.id, 1, JobStatus.succeeded, {"stage": "done"}, None, 60,
                         staged=True)  # fmt: skip

    assert ended.applied
    assert store.result_size(record.id)[0] == len(data)
    assert b"".join(store.read_result(record.id, 0, len(data) - 1)) == data
    assert b"".join(store.read_result(record.id, 1500, 2099)) == data[1500:2100]
    assert not store.redis.exists(store.keys.staged_result(record.id, 1))
