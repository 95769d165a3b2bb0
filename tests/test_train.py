"""Training into a run folder: what it writes, cancel within a batch, resume
from a checkpoint, restore-best, contrast invariance of a trained model, the
command line, and MirroredStrategy on two logical CPU devices.

Every real fit uses a few hundred synthetic images and one or two epochs."""

import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from core import paths, store
from core.config import TrainConfig, run_id
from core.labels import NUM_CLASSES

FINGERPRINT = "synthetic-v1"


def synthetic_images(n, seed=0):
    """``(n, 28, 28)`` uint8 and ``(n,)`` int64: each class is a bright block
    at its own place of a 4x6 grid on a noisy background, learnable in an
    epoch or two."""
    rng = np.random.default_rng(seed)
    y = np.arange(n, dtype=np.int64) % NUM_CLASSES
    rng.shuffle(y)
    x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, cls in enumerate(y):
        row, col = divmod(int(cls), 6)
        x[i, row * 7 + 1 : row * 7 + 6, col * 4 + 2 : col * 4 + 6] = 250
    return x, y


@dataclasses.dataclass
class SyntheticDataset:
    train_x: np.ndarray
    train_y: np.ndarray
    valid_x: np.ndarray
    valid_y: np.ndarray
    fingerprint: str = FINGERPRINT


def synthetic_dataset(n_train=240, n_valid=96, fingerprint=FINGERPRINT):
    tx, ty = synthetic_images(n_train, seed=1)
    vx, vy = synthetic_images(n_valid, seed=2)
    return SyntheticDataset(tx, ty, vx, vy, fingerprint)


QUICK = TrainConfig(epochs=2, batch_size=16, optimizer="adam", augment=False)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One finished two-epoch run, shared by the tests that only read it."""
    from core.train import train

    data = synthetic_dataset()
    root = tmp_path_factory.mktemp("store")
    config = dataclasses.replace(QUICK, restore_best=True)
    run_dir = store.create_run(config, FINGERPRINT, store=root)
    lines = []
    summary = train(
        config,
        data.train_x,
        data.train_y,
        data.valid_x,
        data.valid_y,
        run_dir,
        on_progress=lines.append,
        data_fingerprint=FINGERPRINT,
    )
    return {
        "root": root,
        "run_dir": run_dir,
        "summary": summary,
        "lines": lines,
        "data": data,
        "config": config,
    }


@pytest.mark.slow
def test_finished_run_has_model_summary_and_curves(trained_run):
    run_dir, summary = trained_run["run_dir"], trained_run["summary"]
    info = store.read_run(run_dir)
    assert info.status == store.FINISHED
    assert summary["epochs_run"] == 2
    assert [e["epoch"] for e in store.read_progress(run_dir)[0]] == [1, 2]
    assert np.asarray(summary["confusion"]).sum() == len(trained_run["data"].valid_y)
    # The synthetic letters are easy: two short epochs read most of them.
    assert summary["model_val_accuracy"] > 0.7
    # restore_best: the stored model is the best epoch's.
    assert summary["model_val_accuracy"] == pytest.approx(
        summary["best_val_accuracy"], abs=1e-6
    )
    # No resume files or temporaries left behind once finished.
    names = {p.name for p in run_dir.iterdir()}
    assert not any(n.startswith(".") or n.startswith("checkpoint-e") for n in names)
    assert {"model.keras", "summary.json", "history.json", "predictions.npz"} <= names
    batch_lines = [e for e in trained_run["lines"] if e["type"] == "batch"]
    assert batch_lines and all(e["of"] == 15 for e in batch_lines)  # 240 / 16


@pytest.mark.slow
def test_trained_model_reads_the_same_letters_after_contrast_change(trained_run):
    model = store.load_model(trained_run["run_dir"])
    x = trained_run["data"].valid_x.astype(np.float32)[..., None]
    letters = model.predict(x, verbose=0).argmax(axis=1)
    for a, b in ((0.5, 30.0), (0.25, 0.0), (1.0, -40.0)):
        changed = model.predict(a * x + b, verbose=0).argmax(axis=1)
        np.testing.assert_array_equal(changed, letters)


@pytest.mark.slow
def test_stored_model_is_safe_mode_loadable_and_small(trained_run):
    import keras

    path = store.verified_file(trained_run["run_dir"])
    model = keras.saving.load_model(path, safe_mode=True, compile=False)
    assert getattr(model, "optimizer", None) is None  # no optimizer state saved
    assert path.stat().st_size < 3_000_000


@pytest.mark.slow
def test_cancel_stops_within_a_batch_and_is_not_finished(tmp_path):
    from core.train import Cancelled, train

    data = synthetic_dataset()
    run_dir = store.create_run(QUICK, FINGERPRINT, store=tmp_path)
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(Cancelled):
        train(
            QUICK,
            data.train_x,
            data.train_y,
            data.valid_x,
            data.valid_y,
            run_dir,
            should_stop=should_stop,
        )
    assert len(calls) == 3  # checked after every batch, stopped at the third
    info = store.read_run(run_dir)
    assert info.status == store.CANCELLED
    assert store.finished_runs(tmp_path) == []
    assert not (run_dir / store.MODEL_FILE).exists()


@pytest.mark.slow
def test_resume_continues_after_the_last_checkpoint(tmp_path):
    from core.train import Cancelled, train

    data = synthetic_dataset()
    arrays = (data.train_x, data.train_y, data.valid_x, data.valid_y)
    straight = train(QUICK, *arrays, tmp_path / "straight")

    run_dir = tmp_path / "interrupted"
    batches = []

    def stop_in_second_epoch(entry):
        batches.append(entry)

    def should_stop():
        return any(e["type"] == "epoch" for e in batches)

    with pytest.raises(Cancelled):
        train(
            QUICK,
            *arrays,
            run_dir,
            on_progress=stop_in_second_epoch,
            should_stop=should_stop,
        )
    checkpoint = json.loads((run_dir / store.CHECKPOINT_FILE).read_text())
    assert checkpoint["epoch"] == 1

    resumed = train(QUICK, *arrays, run_dir, resume=True)
    assert resumed["epochs_run"] == 2
    starts = [json.loads(line) for line in (run_dir / store.PROGRESS_FILE).open()]
    assert [s["start_epoch"] for s in starts if s["type"] == "start"] == [0, 1]
    # Epoch 1 is the very same training in both runs (same seed, same batches).
    assert resumed["history"][0]["loss"] == pytest.approx(
        straight["history"][0]["loss"], rel=1e-4
    )
    assert abs(resumed["model_val_accuracy"] - straight["model_val_accuracy"]) <= 0.15


@pytest.mark.slow
def test_plateau_schedule_and_early_stopping_run(tmp_path):
    from core.train import train

    data = synthetic_dataset(n_train=96)
    config = TrainConfig(
        epochs=2,
        batch_size=32,
        schedule="plateau",
        early_stopping=True,
        augment=True,
        seed=3,
    )
    summary = train(
        config, data.train_x, data.train_y, data.valid_x, data.valid_y, tmp_path / "run"
    )
    assert 1 <= summary["epochs_run"] <= 2
    assert all(e["learning_rate"] > 0 for e in summary["history"])


def test_cli_help_documents_every_setting():
    from core.train import build_parser

    text = build_parser().format_help()
    fields = [
        f.name for f in dataclasses.fields(TrainConfig) if f.name != "augmentation"
    ]
    fields += [f.name for f in dataclasses.fields(type(TrainConfig().augmentation))]
    for name in fields:
        assert "--" + name.replace("_", "-") in text, name
    for option in (
        "--data-dir",
        "--store-dir",
        "--resume",
        "--strategy",
        "--compare-augmentation",
    ):
        assert option in text


def test_cli_options_build_the_same_config_as_the_page_defaults():
    from core.train import RECOMMENDED, build_parser, config_from_args

    assert config_from_args(build_parser().parse_args([])) == RECOMMENDED
    args = build_parser().parse_args(
        [
            "--epochs",
            "3",
            "--no-horizontal-flip",
            "--optimizer",
            "rmsprop",
            "--early-stopping",
        ]
    )
    config = config_from_args(args)
    assert (config.epochs, config.optimizer, config.early_stopping) == (
        3,
        "rmsprop",
        True,
    )
    assert config.augmentation.horizontal_flip is False


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(paths.PROJECT_ROOT)!r})
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from core.config import TrainConfig
        from core.train import train, make_strategy
        from tests.test_train import synthetic_dataset
        assert make_strategy("mirrored").num_replicas_in_sync == 2
        d = synthetic_dataset(n_train=96, n_valid=48)
        lines = []
        s = train(TrainConfig(epochs=1, batch_size=32, augment=False),
                  d.train_x, d.train_y, d.valid_x, d.valid_y,
                  {str(tmp_path / "run")!r}, strategy="mirrored",
                  on_progress=lines.append)
        print("EPOCHS", s["epochs_run"])
        print("BATCHES", max(e["batch"] for e in lines if e["type"] == "batch"))
        """
    )
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=paths.PROJECT_ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "EPOCHS 1" in done.stdout
    assert "BATCHES 3" in done.stdout  # every batch of the epoch was trained
    assert (tmp_path / "run" / store.SUMMARY_FILE).exists()


@pytest.mark.slow
def test_cli_trains_into_the_store_and_then_hits_the_cache(tmp_path, real_data_dir):
    """Integration on the real data: one epoch on 3,000 rows through the
    command line, reloaded from the cache, classifying held-out rows."""
    command = [
        sys.executable,
        "-m",
        "core.train",
        "--data-dir",
        str(real_data_dir),
        "--store-dir",
        str(tmp_path),
        "--epochs",
        "1",
        "--train-rows",
        "3000",
        "--batch-size",
        "16",
        "--no-augment",
        "--quiet",
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    first = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        cwd=paths.PROJECT_ROOT,
        timeout=600,
    )
    assert first.returncode == 0, first.stderr[-2000:]
    runs = store.finished_runs(tmp_path)
    assert len(runs) == 1
    second = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        cwd=paths.PROJECT_ROOT,
        timeout=600,
    )
    assert "already in the store" in second.stdout

    from core.data import load_dataset

    data = load_dataset(real_data_dir)
    assert runs[0].run_id == run_id(runs[0].config, data.fingerprint)
    model = store.load_model(runs[0].path)
    held_out = data.valid_x[:500].astype(np.float32)[..., None]
    predicted = model.predict(held_out, verbose=0).argmax(axis=1)
    # The reloaded model reads each held-out row as the training run did.
    stored = store.load_predictions(runs[0].path)
    np.testing.assert_array_equal(predicted, stored["pred"][:500])
    # One such epoch (188 steps) read about 70% of held-out rows right once
    # batch norm's statistics follow at momentum 0.9 (at Keras's 0.99 they
    # had not settled and it read 6%); the full five-epoch default run 99.4%.
    accuracy = (predicted == data.valid_y[:500]).mean()
    print(f"one short epoch: {accuracy:.1%} of 500 held-out rows")
    assert accuracy > 0.4


@pytest.mark.slow
def test_tflite_export_reads_the_same_letters_as_keras(trained_run):
    from core.evaluate import export_tflite_checked, tflite_probabilities

    images = trained_run["data"].valid_x[:64]
    flatbuffer, agreement = export_tflite_checked(trained_run["run_dir"], images)
    assert agreement == 1.0
    probabilities = tflite_probabilities(flatbuffer, images)
    assert probabilities.shape == (64, NUM_CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)


def test_command_for_a_config_rebuilds_that_config():
    from core.config import AugmentSettings
    from core.train import build_parser, command_for, config_from_args

    configs = [
        TrainConfig(),
        TrainConfig(epochs=5, optimizer="adam", schedule="cosine", restore_best=True),
        TrainConfig(augment=False, normalize=False, seed=4, train_rows=3000),
        TrainConfig(
            augmentation=AugmentSettings(
                rotation=20, horizontal_flip=False, fill_mode="constant", fill_value=9
            )
        ),
    ]
    for config in configs:
        args = build_parser().parse_args(command_for(config))
        assert config_from_args(args) == config


def test_comparison_pair_differs_only_in_augmentation():
    from core.config import AugmentSettings
    from core.train import canonical, with_and_without_augmentation

    config = TrainConfig(epochs=3, augmentation=AugmentSettings(rotation=25))
    on, off = with_and_without_augmentation(config)
    assert on.augment and on.augmentation.rotation == 25
    assert not off.augment and off == canonical(off)
    assert dataclasses.replace(on, augment=False, augmentation=off.augmentation) == off
    # Settings that do nothing do not change the run id.
    noisy = dataclasses.replace(off, augmentation=config.augmentation)
    assert run_id(canonical(noisy), "x") == run_id(off, "x")


def test_plateau_halves_the_rate_and_early_stopping_stops(tmp_path):
    """The epoch-end rules on a scripted sequence of validation accuracies
    (no fit: the callback is driven directly)."""
    from core.train import (
        EARLY_STOP_PATIENCE,
        PLATEAU_PATIENCE,
        _fresh_state,
        _make_callback,
        compile_model,
    )

    config = TrainConfig(
        epochs=10,
        schedule="plateau",
        early_stopping=True,
        learning_rate=0.01,
        restore_best=True,
    )
    model = compile_model(config, steps_per_epoch=1)
    state = _fresh_state()
    callback = _make_callback(config, tmp_path, 1, state, None, None)
    callback.set_model(model)
    rates, stopped = [], []
    for epoch, val in enumerate([0.5, 0.6, 0.55, 0.58, 0.59, 0.6]):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(
            epoch, {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.0, "val_accuracy": val}
        )
        rates.append(float(np.asarray(model.optimizer.learning_rate)))
        stopped.append(bool(model.stop_training))
    assert PLATEAU_PATIENCE == 2 and EARLY_STOP_PATIENCE == 3
    # Best at epoch 2; epochs 3 and 4 do not improve -> halved after epoch 4.
    assert rates[:3] == pytest.approx([0.01] * 3)
    assert rates[3] == pytest.approx(0.005)
    # Epoch 5 is the third without a new best: stop.
    assert stopped == [False, False, False, False, True, True]
    assert state["best_epoch"] == 2
    assert (tmp_path / "best.weights.h5").exists()
    checkpoint = json.loads((tmp_path / store.CHECKPOINT_FILE).read_text())
    assert checkpoint["epoch"] == 6 and (tmp_path / checkpoint["model"]).exists()
    assert len(list(tmp_path.glob("checkpoint-e*.keras"))) == 1  # old ones removed


def test_only_the_chief_writes_the_run_folder_in_multi_worker_training():
    from core.train import is_chief

    def tf_config(kind, index, chief=False):
        cluster = {"worker": ["a:1", "b:1"], **({"chief": ["c:1"]} if chief else {})}
        return {
            "TF_CONFIG": json.dumps(
                {"cluster": cluster, "task": {"type": kind, "index": index}}
            )
        }

    assert is_chief({})
    assert is_chief(tf_config("worker", 0))
    assert not is_chief(tf_config("worker", 1))
    assert not is_chief(tf_config("worker", 0, chief=True))
    assert is_chief(tf_config("chief", 0, chief=True))


def free_ports(count):
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_multi_worker_strategy_on_two_local_processes(tmp_path):
    """Two workers on 127.0.0.1 train one run together; only the chief
    (worker 0) writes the run folder."""
    ports = free_ports(2)
    script = textwrap.dedent(
        f"""
        import json, os, sys
        sys.path.insert(0, {str(paths.PROJECT_ROOT)!r})
        from core.config import TrainConfig
        from core.train import train
        from tests.test_train import synthetic_dataset
        d = synthetic_dataset(n_train=128, n_valid=48)
        s = train(TrainConfig(epochs=1, batch_size=32, augment=False),
                  d.train_x, d.train_y, d.valid_x, d.valid_y,
                  {str(tmp_path / "run")!r}, strategy="multiworker")
        print("ACCURACY", s["model_val_accuracy"])
        """
    )
    workers = []
    for index in range(2):
        tf_config = {
            "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
            "task": {"type": "worker", "index": index},
        }
        env = dict(
            os.environ,
            CUDA_VISIBLE_DEVICES="",
            TF_CPP_MIN_LOG_LEVEL="2",
            TF_CONFIG=json.dumps(tf_config),
        )
        workers.append(
            subprocess.Popen(
                [sys.executable, "-c", script],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=paths.PROJECT_ROOT,
            )
        )
    outputs = []
    try:
        for worker in workers:
            out, err = worker.communicate(timeout=300)
            assert worker.returncode == 0, err[-2000:]
            outputs.append(out)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    accuracies = {
        line
        for out in outputs
        for line in out.splitlines()
        if line.startswith("ACCURACY")
    }
    assert len(accuracies) == 1  # the same model on both workers
    summary = json.loads((tmp_path / "run" / store.SUMMARY_FILE).read_text())
    assert summary["epochs_run"] == 1
