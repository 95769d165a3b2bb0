"""The run store without TensorFlow: atomic writes, status of run folders,
corrupt and foreign entries skipped, checksums refused, safe deletion."""

import json
import os

import pytest

from core import store
from core.config import TrainConfig, run_id

FINGERPRINT = "f" * 64


def make_finished_run(root, config=None, *, model_bytes=b"model", val=0.9):
    """A run folder that looks finished, with a fake model file."""
    config = config or TrainConfig(epochs=1)
    run_dir = store.create_run(config, FINGERPRINT, store=root, owner="alice")
    (run_dir / store.MODEL_FILE).write_bytes(model_bytes)
    (run_dir / store.PREDICTIONS_FILE).write_bytes(b"preds")
    store.append_jsonl(
        run_dir / store.PROGRESS_FILE,
        {"type": "epoch", "epoch": 1, "val_accuracy": val, "accuracy": val},
    )
    store.atomic_write_json(
        run_dir / store.SUMMARY_FILE,
        {
            "epochs_run": 1,
            "best_val_accuracy": val,
            "final_val_accuracy": val,
            "seconds": 1.0,
            "files": {
                name: store.sha256_file(run_dir / name) for name in store.CHECKED_FILES
            },
        },
    )
    return run_dir


def test_atomic_write_keeps_old_file_when_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    store.atomic_write_json(target, {"version": 1})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(store.os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.atomic_write_json(target, {"version": 2})
    assert json.loads(target.read_text()) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temp left


def test_run_folder_is_named_by_the_run_id(tmp_path):
    config = TrainConfig(epochs=3, seed=7)
    run_dir = store.create_run(config, FINGERPRINT, store=tmp_path)
    assert run_dir.name == run_id(config, FINGERPRINT)
    info = store.read_run(run_dir)
    assert info.config == config
    assert info.data_fingerprint == FINGERPRINT


def test_only_runs_with_a_summary_are_finished(tmp_path):
    finished = make_finished_run(tmp_path)
    partial = store.create_run(TrainConfig(epochs=5), FINGERPRINT, store=tmp_path)
    # A killed training: progress and a checkpoint, no summary, no process.
    store.append_jsonl(
        partial / store.PROGRESS_FILE,
        {"type": "epoch", "epoch": 1, "val_accuracy": 0.5},
    )
    store.atomic_write_json(partial / store.CHECKPOINT_FILE, {"epoch": 1, "model": "x"})
    store.atomic_write_json(partial / store.RUNNING_FILE, {"pid": 2**22 + 12345})
    (partial / store.MODEL_FILE).write_bytes(b"half a model")  # even a stray file

    runs, problems = store.list_runs(tmp_path)
    assert problems == []
    by_id = {r.run_id: r for r in runs}
    assert by_id[finished.name].status == store.FINISHED
    assert by_id[partial.name].status == store.INTERRUPTED
    assert by_id[partial.name].epochs_done == 1
    assert by_id[partial.name].resumable
    assert [r.run_id for r in store.finished_runs(tmp_path)] == [finished.name]


def test_running_status_needs_a_live_process(tmp_path):
    run_dir = store.create_run(TrainConfig(epochs=5), FINGERPRINT, store=tmp_path)
    store.atomic_write_json(run_dir / store.RUNNING_FILE, store.process_identity())
    assert store.read_run(run_dir).status == store.RUNNING
    # Same pid, different start time: a reused pid is not our training.
    record = store.process_identity()
    record["start_ticks"] = (record["start_ticks"] or 0) + 1
    store.atomic_write_json(run_dir / store.RUNNING_FILE, record)
    assert store.read_run(run_dir).status == store.INTERRUPTED


def test_cancelled_and_failed_runs_are_not_finished(tmp_path):
    cancelled = store.create_run(TrainConfig(epochs=2), FINGERPRINT, store=tmp_path)
    store.mark_ended(cancelled, store.CANCELLED, "cancelled in epoch 1")
    failed = store.create_run(TrainConfig(epochs=3), FINGERPRINT, store=tmp_path)
    store.mark_ended(failed, store.FAILED, "ValueError: boom")
    states = {r.run_id: r.status for r in store.list_runs(tmp_path)[0]}
    assert states == {cancelled.name: store.CANCELLED, failed.name: store.FAILED}
    assert store.finished_runs(tmp_path) == []


def test_corrupt_and_foreign_entries_are_reported_and_skipped(tmp_path):
    good = make_finished_run(tmp_path)
    (tmp_path / "notes.txt").write_text("not a run")
    garbled = tmp_path / ("a" * 16)
    garbled.mkdir()
    (garbled / store.CONFIG_FILE).write_bytes(b"\x00\xff{not json")
    wrong_shape = tmp_path / ("b" * 16)
    wrong_shape.mkdir()
    (wrong_shape / store.CONFIG_FILE).write_text(json.dumps({"config": {"x": 1}}))
    no_config = tmp_path / ("c" * 16)
    no_config.mkdir()
    bad_summary = make_finished_run(tmp_path, TrainConfig(epochs=9))
    (bad_summary / store.SUMMARY_FILE).write_text("{truncated")

    runs, problems = store.list_runs(tmp_path)
    assert [r.run_id for r in runs] == [good.name]
    assert len(problems) == 5
    assert any("notes.txt" in p for p in problems)
    assert all(p.endswith(".") or p.endswith(").") for p in problems)


def test_torn_progress_line_is_skipped(tmp_path):
    run_dir = store.create_run(TrainConfig(epochs=3), FINGERPRINT, store=tmp_path)
    store.append_jsonl(
        run_dir / store.PROGRESS_FILE,
        {"type": "epoch", "epoch": 1, "val_accuracy": 0.4},
    )
    with open(run_dir / store.PROGRESS_FILE, "a") as handle:
        handle.write('{"type": "epoch", "epoch": 2, "val_acc')  # killed mid-write
    epochs, batch = store.read_progress(run_dir)
    assert [e["epoch"] for e in epochs] == [1]
    assert batch is None


def test_resume_replaces_epochs_logged_after_the_checkpoint(tmp_path):
    run_dir = tmp_path
    for line in (
        {"type": "epoch", "epoch": 1, "val_accuracy": 0.3},
        {"type": "epoch", "epoch": 2, "val_accuracy": 0.4},
        {"type": "start", "start_epoch": 1},
        {"type": "batch", "epoch": 2, "batch": 3, "of": 10},
    ):
        store.append_jsonl(run_dir / store.PROGRESS_FILE, line)
    epochs, batch = store.read_progress(run_dir)
    assert [e["epoch"] for e in epochs] == [1]
    assert batch["batch"] == 3


def test_changed_model_file_is_refused(tmp_path):
    run_dir = make_finished_run(tmp_path, model_bytes=b"original weights")
    assert store.verified_file(run_dir) == run_dir / store.MODEL_FILE
    (run_dir / store.MODEL_FILE).write_bytes(b"tampered weights")
    with pytest.raises(store.ModelIntegrityError, match="checksum"):
        store.verified_file(run_dir)
    with pytest.raises(store.ModelIntegrityError, match="checksum"):
        store.load_model(run_dir)


def test_unfinished_run_has_no_model_to_load(tmp_path):
    run_dir = store.create_run(TrainConfig(), FINGERPRINT, store=tmp_path)
    (run_dir / store.MODEL_FILE).write_bytes(b"partial")
    with pytest.raises(store.ModelIntegrityError, match="not finished"):
        store.verified_file(run_dir)


def test_delete_refuses_paths_outside_the_store(tmp_path):
    root = tmp_path / "store"
    run_dir = make_finished_run(root)
    outside = tmp_path / ("d" * 16)
    outside.mkdir()
    os.symlink(outside, root / ("e" * 16))
    for bad in ("../" + "d" * 16, "e" * 16, "", "0" * 16):
        with pytest.raises(store.StoreError):
            store.delete_run(bad, root)
    assert outside.exists()
    store.delete_run(run_dir.name, root)
    assert not run_dir.exists()


def test_missing_store_lists_nothing(tmp_path):
    assert store.list_runs(tmp_path / "absent") == ([], [])
