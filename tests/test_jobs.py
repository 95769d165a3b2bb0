"""The job manager with real child processes on tiny synthetic data: one job
for two identical launches, the queue, cancel (own only), SIGKILL mid-epoch
followed by a listing and a resume after a "server restart", and bounds."""

import dataclasses
import os
import time

import pytest

from core import paths, store
from core.config import TrainConfig
from core.jobs import JobManager, JobRejected, Limits, NotAllowed
from tests.test_train import synthetic_dataset

TINY = TrainConfig(epochs=1, batch_size=32, optimizer="adam", augment=False)
# Long enough per epoch (a few seconds) to be caught in the middle of one.
SLOW = TrainConfig(epochs=2, batch_size=4, optimizer="adam", augment=False)


@pytest.fixture
def manager(tmp_path):
    jobs = JobManager(tmp_path / "store", limits=Limits(max_queue=2))
    yield jobs
    jobs.close()


def wait_for(predicate, timeout=120.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError("condition not reached")


def test_limits_refuse_oversized_launches(manager):
    data = synthetic_dataset(n_train=48, n_valid=24)
    with pytest.raises(JobRejected, match="Epochs must be between 1 and 50"):
        manager.submit(dataclasses.replace(TINY, epochs=500), data, "alice")
    with pytest.raises(JobRejected, match="Batch size"):
        manager.submit(dataclasses.replace(TINY, batch_size=100_000), data, "alice")
    assert store.list_runs(manager.store_root) == ([], [])  # nothing half-made


def test_limits_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("ASL_MAX_EPOCHS", "5")
    monkeypatch.setenv("ASL_MAX_QUEUE", "not a number")
    limits = Limits.from_env()
    assert limits.max_epochs == 5 and limits.max_queue == Limits().max_queue


@pytest.mark.slow
def test_identical_launches_share_one_job_and_then_hit_the_cache(manager):
    data = synthetic_dataset(n_train=64, n_valid=24)
    first = manager.submit(TINY, data, "alice")
    second = manager.submit(TINY, data, "bob")
    assert first.outcome == "queued" and second.outcome == "attached"
    assert second.job is first.job
    assert len([p for p in manager.store_root.iterdir() if p.name != "_data"]) == 1

    job = manager.wait(first.job.run_id)
    assert job.state == store.FINISHED, (job.state, job.message)
    third = manager.submit(TINY, data, "carol")
    assert third.outcome == "cached" and third.job.state == store.FINISHED
    # A new manager (a restarted server) finds it in the store too.
    restarted = JobManager(manager.store_root)
    try:
        assert restarted.submit(TINY, data, "dave").outcome == "cached"
    finally:
        restarted.close()


@pytest.mark.slow
def test_queue_cancel_and_ownership(manager):
    data = synthetic_dataset(n_train=1200, n_valid=24)
    running = manager.submit(SLOW, data, "alice").job
    wait_for(lambda: running.state == store.RUNNING)
    waiting = manager.submit(dataclasses.replace(SLOW, seed=1), data, "bob").job
    assert manager.position(waiting.run_id) == 1
    extra = manager.submit(dataclasses.replace(SLOW, seed=2), data, "carol").job
    with pytest.raises(JobRejected, match="queue is full"):
        manager.submit(dataclasses.replace(SLOW, seed=3), data, "carol")
    manager.cancel(extra.run_id, "carol")
    assert [j.run_id for j in manager.queue()] == [waiting.run_id]

    # Bob may not cancel Alice's training; the instructor may cancel anyone's.
    with pytest.raises(NotAllowed):
        manager.cancel(running.run_id, "bob")
    manager.cancel(waiting.run_id, "alice", instructor=True)
    assert waiting.state == store.CANCELLED

    wait_for(lambda: store.read_progress(running.run_dir)[1])  # a batch ran
    manager.cancel(running.run_id, "alice")
    job = manager.wait(running.run_id, timeout=60)
    assert job.state == store.CANCELLED
    assert store.read_run(running.run_dir).status == store.CANCELLED
    assert store.finished_runs(manager.store_root) == []


@pytest.mark.slow
def test_sigkill_mid_epoch_lists_interrupted_and_resumes_after_restart(manager):
    data = synthetic_dataset(n_train=800, n_valid=48)
    job = manager.submit(SLOW, data, "alice").job

    def in_second_epoch():
        epochs, batch = store.read_progress(job.run_dir)
        return len(epochs) == 1 and batch is not None and batch["epoch"] == 2

    wait_for(in_second_epoch)
    manager.kill(job.run_id)
    job = manager.wait(job.run_id, timeout=30)
    assert job.state == store.INTERRUPTED

    runs, problems = store.list_runs(manager.store_root)
    assert problems == []
    (info,) = runs
    assert info.status == store.INTERRUPTED and info.epochs_done == 1
    assert info.resumable and not info.finished
    assert store.finished_runs(manager.store_root) == []
    assert not list(info.path.glob(".tmp-*"))  # no temporaries mistaken for files
    # The app-level listing after the kill: the runs page shows it, no crash.
    from streamlit.testing.v1 import AppTest

    os.environ["ASL_STORE_DIR"] = str(manager.store_root)
    try:
        page = AppTest.from_file(
            str(paths.PROJECT_ROOT / "pages" / "runs.py"), default_timeout=60
        ).run()
    finally:
        del os.environ["ASL_STORE_DIR"]
    assert not page.exception
    assert "interrupted" in page.dataframe[0].value["state"].iloc[0]

    restarted = JobManager(manager.store_root)  # the server came back
    try:
        again = restarted.resume(info.run_id, "alice")
        assert again.outcome == "resumed"
        done = restarted.wait(info.run_id, timeout=180)
        assert done.state == store.FINISHED, done.message
        summary = store.read_run(info.path).summary
        assert summary["epochs_run"] == 2
        assert [e["epoch"] for e in summary["history"]] == [1, 2]
    finally:
        restarted.close()


@pytest.mark.slow
def test_training_of_a_killed_server_is_attached_to_after_restart(manager):
    """The child outlives its server (own session); a restarted server's
    manager watches it instead of starting a second training."""
    data = synthetic_dataset(n_train=1200, n_valid=24)
    job = manager.submit(SLOW, data, "alice").job
    wait_for(lambda: store.read_run(job.run_dir).status == store.RUNNING)

    restarted = JobManager(manager.store_root)
    try:
        again = restarted.submit(SLOW, data, "bob")
        assert again.outcome == "attached"
        assert again.job.process is None  # no second child
        with pytest.raises(NotAllowed):
            restarted.cancel(job.run_id, "bob")
        restarted.cancel(job.run_id, "alice")
        watched = restarted.wait(job.run_id, timeout=60)
        assert watched.state == store.CANCELLED
    finally:
        restarted.close()
