"""Run one training from a ``TrainConfig`` into a run folder; also the command
line ``python -m core.train`` that fills the same cache as the dashboard.

Input contract: ``train_x``/``valid_x`` ``(n, 28, 28)`` uint8 (any numeric
type is accepted and cast), ``train_y``/``valid_y`` ``(n,)`` int class indices
0..23 into ``core.labels.LETTERS``.

What a training writes, and in which order, is described in ``core.store``.
Every epoch ends with a checkpoint (weights, optimizer state, the schedule's
and early stopping's state, the best weights so far), so a training killed at
any moment resumes from its last finished epoch. Data order and augmentation
are a pure function of (seed, epoch), so a resumed run sees the same batches
as an uninterrupted one.

This module does not queue, deduplicate or supervise trainings (``core.jobs``
does, by running this module's command line in a child process), and it never
imports streamlit.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core import store
from core.config import OPTIMIZERS, SCHEDULES, AugmentSettings, TrainConfig, run_id
from core.labels import LETTERS, NUM_CLASSES

log = logging.getLogger(__name__)

# Early stopping watches validation accuracy and stops after this many epochs
# without a new best; reduce-on-plateau halves the rate after this many.
EARLY_STOP_PATIENCE = 3
PLATEAU_PATIENCE = 2
PLATEAU_FACTOR = 0.5
MIN_LEARNING_RATE = 1e-5
# Validation runs in big batches: no gradients, so memory is not the limit.
EVAL_BATCH_SIZE = 512
# At most one batch line a this many seconds in progress.jsonl.
BATCH_LINE_EVERY_S = 1.0
STRATEGIES = ("default", "mirrored", "multiworker")
# What the training page and the command line start from: the course CNN and
# augmentation, with the choices that reach the best validation accuracy in
# few epochs here (99.78% after 6 epochs on the full data, 99.55% already at
# epoch 4; Adam at 0.001 for 5 epochs stopped at 99.41%; the course's RMSprop,
# constant rate and 10+ epochs are one option away).
RECOMMENDED = TrainConfig(
    epochs=6,
    optimizer="adam",
    learning_rate=0.002,
    schedule="cosine",
    restore_best=True,
)

ProgressFn = Callable[[dict[str, Any]], None]


class Cancelled(Exception):
    """Raised inside ``fit`` when ``should_stop`` says so; ends within a batch."""


def canonical(config: TrainConfig) -> TrainConfig:
    """The same training with unused settings at their defaults, so that
    settings which change nothing do not change the run id: augmentation
    settings when augmentation is off."""
    if not config.augment and config.augmentation != AugmentSettings():
        return dataclasses.replace(config, augmentation=AugmentSettings())
    return config


def with_and_without_augmentation(
    config: TrainConfig,
) -> tuple[TrainConfig, TrainConfig]:
    """The pair of issue 9's comparison: ``config`` with augmentation on (its
    own settings) and the same with augmentation off."""
    return (
        dataclasses.replace(config, augment=True),
        canonical(dataclasses.replace(config, augment=False)),
    )


# ---------------------------------------------------------------- data


def _epoch_seed(seed: int, epoch: int) -> int:
    """A seed for one epoch's shuffle and augmentation, independent of where
    the run started (so a resume replays the same epoch)."""
    return (seed * 1_000_003 + epoch * 7919) % (2**31 - 1)


def make_train_dataset(
    config: TrainConfig, x: np.ndarray, y: np.ndarray, start_epoch: int
):
    """Batches for epochs ``start_epoch..config.epochs-1`` in one finite
    ``tf.data`` stream: ``((b, 28, 28, 1) float32 raw 0..255, (b,) int32)``.

    Each epoch is its own permutation and its own augmentation seed."""
    import tensorflow as tf

    n = len(x)
    images = tf.constant(x.reshape(n, 28, 28, 1), dtype=tf.uint8)
    labels = tf.constant(y, dtype=tf.int32)

    def gather(index):
        return tf.cast(tf.gather(images, index), tf.float32), tf.gather(labels, index)

    stream = None
    for epoch in range(start_epoch, config.epochs):
        order = np.random.default_rng(_epoch_seed(config.seed, epoch)).permutation(n)
        epoch_ds = (
            tf.data.Dataset.from_tensor_slices(order.astype(np.int32))
            .batch(config.batch_size)
            .map(gather, num_parallel_calls=tf.data.AUTOTUNE)
        )
        if config.augment and not config.augmentation.is_identity:
            from core.augment import augment_dataset

            epoch_ds = augment_dataset(
                epoch_ds, config.augmentation, _epoch_seed(config.seed, epoch) + 1
            )
        stream = epoch_ds if stream is None else stream.concatenate(epoch_ds)
    return stream.prefetch(tf.data.AUTOTUNE)


def make_eval_dataset(x: np.ndarray, y: np.ndarray | None = None):
    """Validation batches, in order, ``(b, 28, 28, 1) float32`` raw."""
    import tensorflow as tf

    images = np.asarray(x, dtype=np.float32).reshape(len(x), 28, 28, 1)
    if y is None:
        ds = tf.data.Dataset.from_tensor_slices(images)
    else:
        ds = tf.data.Dataset.from_tensor_slices((images, np.asarray(y, np.int32)))
    return ds.batch(EVAL_BATCH_SIZE).prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------- model


def make_strategy(name: str):
    """A ``tf.distribute`` strategy by name; ``default`` is the no-op one.
    ``multiworker`` reads the cluster from the ``TF_CONFIG`` variable."""
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"strategy must be one of {STRATEGIES}")


def is_chief(environ: dict[str, str] | None = None) -> bool:
    """Whether this process is the multi-worker chief (from ``TF_CONFIG``):
    the task of type ``chief``, or worker 0 when the cluster names no chief.
    Without ``TF_CONFIG`` (one machine) it is."""
    raw = (environ if environ is not None else os.environ).get("TF_CONFIG")
    if not raw:
        return True
    try:
        tf_config = json.loads(raw)
        task = tf_config.get("task") or {}
        kind, index = task.get("type", "worker"), int(task.get("index", 0))
        has_chief = "chief" in (tf_config.get("cluster") or {})
    except (ValueError, AttributeError, TypeError):
        return True
    return kind == "chief" or (kind == "worker" and index == 0 and not has_chief)


def _learning_rate(config: TrainConfig, steps_per_epoch: int):
    import keras

    if config.schedule == "cosine":
        # Per step from the configured rate down to 0 over the whole run.
        return keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=max(1, steps_per_epoch * config.epochs)
        )
    return config.learning_rate


def compile_model(config: TrainConfig, steps_per_epoch: int):
    import keras

    from core.model import build_model

    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}")
    if config.schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}")
    rate = _learning_rate(config, steps_per_epoch)
    optimizer = (
        keras.optimizers.Adam(rate)
        if config.optimizer == "adam"
        else keras.optimizers.RMSprop(rate)
    )
    model = build_model(config)
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _build_outside_fit(model) -> None:
    """Build model, loss, metrics and optimizer from a plain sample batch,
    inside the strategy's scope.

    Under a tf.distribute strategy, Keras 3.15's ``fit`` builds them from the
    first batch of the distributed dataset after averaging it across
    replicas: that takes one batch out of the stream (MirroredStrategy), and
    under MultiWorkerMirroredStrategy the average itself fails ("Attempt to
    convert a value (PerReplica ...)"). Building here first avoids both; lift
    this when Keras builds without the average.
    """
    import tensorflow as tf

    sample = (tf.zeros((1, 28, 28, 1), tf.float32), tf.zeros((1,), tf.int32))
    symbolic_build = getattr(model, "_symbolic_build", None)
    if symbolic_build is None or not hasattr(model, "_maybe_symbolic_build"):
        return  # another Keras: let fit build as it does
    symbolic_build(data_batch=sample)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None


def _patch_multi_worker_logs() -> None:
    """Let Keras 3.15's ``fit`` average its per-step logs across workers.

    Its reduction for MultiWorkerMirroredStrategy averages along axis 0,
    which scalars (the loss, the accuracy) do not have ("Invalid reduction
    dimension 0 for input with 0 dimensions", tensorflow/tensorflow#72388).
    This wraps it to average scalars whole; every other case is unchanged.
    Lift it when Keras fixes the reduction.
    """
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original = tf_trainer.reduce_per_replica
    if getattr(original, "asl_patched", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and (
            tf_trainer._collective_all_reduce_multi_worker(strategy)
        ):
            import tensorflow as tf

            return tf.nest.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None), values
            )
        return original(values, strategy, reduction)

    reduce_per_replica.asl_patched = True
    tf_trainer.reduce_per_replica = reduce_per_replica


def current_learning_rate(model) -> float:
    optimizer = model.optimizer
    rate = optimizer.learning_rate
    return float(np.asarray(rate))


# ---------------------------------------------------------------- callback


def _make_callback(
    config: TrainConfig,
    run_dir: Path,
    steps_per_epoch: int,
    state: dict[str, Any],
    on_progress: ProgressFn | None,
    should_stop: Callable[[], bool] | None,
):
    """The Keras callback (defined here so this module imports without Keras)
    that writes progress lines, checks for a cancel after each batch, runs the
    plateau schedule and early stopping, keeps the best weights and writes
    the epoch checkpoint."""
    import keras

    class _RunFolderCallback(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epoch_started = time.time()
            self.last_line = 0.0
            self.epoch_seconds = list(state.get("epoch_seconds", []))

        def _emit(self, entry: dict[str, Any], to_file: bool = True) -> None:
            entry = {"time": time.time(), **entry}
            if to_file:
                store.append_jsonl(run_dir / store.PROGRESS_FILE, entry)
            if on_progress is not None:
                on_progress(entry)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.time()
            self.current_epoch = epoch

        def on_test_batch_end(self, batch, logs=None):
            # Validation at an epoch's end takes seconds too: stop there as well.
            if should_stop is not None and should_stop():
                raise Cancelled(f"cancelled in epoch {self.current_epoch + 1}")

        def on_train_batch_end(self, batch, logs=None):
            if should_stop is not None and should_stop():
                raise Cancelled(f"cancelled in epoch {self.current_epoch + 1}")
            now = time.time()
            done = batch + 1
            if done == 1:
                self.first_batch_end = now  # the first batch also traces the graph
            if now - self.last_line < BATCH_LINE_EVERY_S and done < steps_per_epoch:
                return
            self.last_line = now
            if done > 1:
                per_batch = (now - self.first_batch_end) / (done - 1)
            else:
                per_batch = now - self.epoch_started
            epochs_left = config.epochs - self.current_epoch - 1
            epoch_estimate = (
                float(np.mean(self.epoch_seconds))
                if self.epoch_seconds
                else per_batch * steps_per_epoch * 1.1  # + validation
            )
            eta = per_batch * (steps_per_epoch - done) + epochs_left * epoch_estimate
            logs = logs or {}
            self._emit(
                {
                    "type": "batch",
                    "epoch": self.current_epoch + 1,
                    "batch": done,
                    "of": steps_per_epoch,
                    "eta": round(eta, 1),
                    "loss": float(logs.get("loss", float("nan"))),
                    "accuracy": float(logs.get("accuracy", float("nan"))),
                }
            )

        def on_epoch_end(self, epoch, logs=None):
            logs = {k: float(v) for k, v in (logs or {}).items()}
            seconds = time.time() - self.epoch_started
            self.epoch_seconds.append(seconds)
            rate = current_learning_rate(self.model)
            entry = {
                "type": "epoch",
                "epoch": epoch + 1,
                "loss": logs.get("loss"),
                "accuracy": logs.get("accuracy"),
                "val_loss": logs.get("val_loss"),
                "val_accuracy": logs.get("val_accuracy"),
                "learning_rate": rate,
                "seconds": round(seconds, 2),
            }
            state["history"].append(entry)
            state["epoch_seconds"] = self.epoch_seconds

            val_acc = logs.get("val_accuracy", 0.0)
            if val_acc > state["best_val_accuracy"]:
                state["best_val_accuracy"] = val_acc
                state["best_epoch"] = epoch + 1
                state["wait"] = 0
                state["plateau_wait"] = 0
                if config.restore_best:
                    self.model.save_weights(run_dir / ".best.tmp.weights.h5")
                    os.replace(
                        run_dir / ".best.tmp.weights.h5", run_dir / "best.weights.h5"
                    )
            else:
                state["wait"] += 1
                state["plateau_wait"] += 1
            if (
                config.schedule == "plateau"
                and state["plateau_wait"] >= PLATEAU_PATIENCE
            ):
                new_rate = max(rate * PLATEAU_FACTOR, MIN_LEARNING_RATE)
                self.model.optimizer.learning_rate.assign(new_rate)
                state["plateau_wait"] = 0
                log.info(
                    "epoch %d: learning rate %.2g -> %.2g", epoch + 1, rate, new_rate
                )
            if config.early_stopping and state["wait"] >= EARLY_STOP_PATIENCE:
                state["stopped_early"] = True
                self.model.stop_training = True

            state["epoch"] = epoch + 1
            write_checkpoint(run_dir, self.model, state)
            self._emit(entry)

    return _RunFolderCallback()


def write_checkpoint(run_dir: Path, model, state: dict[str, Any]) -> None:
    """Save the model with optimizer state as ``checkpoint-eN.keras``, then
    point ``checkpoint.json`` at it, then remove the previous one: at every
    moment checkpoint.json names a complete file."""
    name = f"checkpoint-e{state['epoch']}.keras"
    tmp = store.temp_path_for(run_dir / name)
    model.save(tmp)
    os.replace(tmp, run_dir / name)
    previous = store.read_json_or_none(run_dir / store.CHECKPOINT_FILE) or {}
    store.atomic_write_json(run_dir / store.CHECKPOINT_FILE, {**state, "model": name})
    old = previous.get("model")
    if old and old != name:
        (run_dir / old).unlink(missing_ok=True)


def _fresh_state() -> dict[str, Any]:
    return {
        "epoch": 0,
        "history": [],
        "best_val_accuracy": -1.0,
        "best_epoch": 0,
        "wait": 0,
        "plateau_wait": 0,
        "stopped_early": False,
        "epoch_seconds": [],
        "seconds": 0.0,
    }


# ---------------------------------------------------------------- train


def confusion_matrix(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """``(24, 24)`` int counts: row = true class, column = predicted class."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true, np.int64), np.asarray(pred, np.int64)), 1)
    return matrix


def train(
    config: TrainConfig,
    train_x: np.ndarray,
    train_y: np.ndarray,
    valid_x: np.ndarray,
    valid_y: np.ndarray,
    run_dir: Path,
    on_progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: bool = False,
    strategy: str = "default",
    data_fingerprint: str = "",
) -> dict[str, Any]:
    """Train ``config`` on the arrays into ``run_dir`` and return its summary.

    ``resume`` continues from ``checkpoint.json`` when there is one (else
    starts fresh). ``should_stop`` is polled after every batch; when it
    returns True, :class:`Cancelled` is raised within that batch and the run
    is marked cancelled. Any other error marks the run failed and re-raises.
    """
    import keras

    import core.model  # noqa: F401 - registers the custom layer for loading

    run_dir = Path(run_dir)
    if strategy == "multiworker" and not is_chief():
        # Every worker must save (saving is collective), but only the chief
        # writes the run folder; the others write to a scratch folder.
        import tempfile

        run_dir = Path(tempfile.mkdtemp(prefix="asl-worker-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    if config.train_rows:
        train_x, train_y = train_x[: config.train_rows], train_y[: config.train_rows]
    train_x = np.asarray(train_x)
    train_y = np.asarray(train_y, dtype=np.int64)
    if len(train_x) == 0 or len(valid_x) == 0:
        raise ValueError("training needs at least one training and one validation row")
    steps_per_epoch = math.ceil(len(train_x) / config.batch_size)

    store.atomic_write_json(run_dir / store.RUNNING_FILE, store.process_identity())
    store.clear_ended(run_dir)
    started = time.time()
    try:
        dist = make_strategy(strategy)
        checkpoint = store.read_json_or_none(run_dir / store.CHECKPOINT_FILE)
        with dist.scope():
            if resume and checkpoint and (run_dir / checkpoint["model"]).exists():
                state = {k: v for k, v in checkpoint.items() if k != "model"}
                model = keras.saving.load_model(
                    run_dir / checkpoint["model"], safe_mode=True
                )
                log.info("resuming %s after epoch %d", run_dir.name, state["epoch"])
            else:
                state = _fresh_state()
                keras.utils.set_random_seed(config.seed)
                model = compile_model(config, steps_per_epoch)
            if strategy != "default":
                _build_outside_fit(model)
            if strategy == "multiworker":
                _patch_multi_worker_logs()
        start_epoch = int(state["epoch"])
        # Dropout's randomness continues from a seed of its own per start.
        keras.utils.set_random_seed(_epoch_seed(config.seed, start_epoch))
        store.append_jsonl(
            run_dir / store.PROGRESS_FILE,
            {
                "type": "start",
                "start_epoch": start_epoch,
                "time": time.time(),
                "pid": os.getpid(),
                "epochs": config.epochs,
                "of": steps_per_epoch,
            },
        )
        if start_epoch < config.epochs and not state.get("stopped_early"):
            callback = _make_callback(
                config, run_dir, steps_per_epoch, state, on_progress, should_stop
            )
            model.fit(
                make_train_dataset(config, train_x, train_y, start_epoch),
                validation_data=make_eval_dataset(valid_x, valid_y),
                epochs=config.epochs,
                initial_epoch=start_epoch,
                steps_per_epoch=steps_per_epoch,
                callbacks=[callback],
                shuffle=False,  # the stream is already shuffled, per epoch
                verbose=0,
            )
        state["seconds"] = float(state.get("seconds", 0.0)) + time.time() - started

        if config.restore_best and (run_dir / "best.weights.h5").exists():
            if state["best_epoch"] != state["epoch"]:
                model.load_weights(run_dir / "best.weights.h5")
        summary = _finish(
            config, model, valid_x, valid_y, run_dir, state, data_fingerprint
        )
    except Cancelled as error:
        store.mark_ended(run_dir, store.CANCELLED, str(error))
        raise
    except BaseException as error:
        store.mark_ended(run_dir, store.FAILED, f"{type(error).__name__}: {error}")
        raise
    finally:
        (run_dir / store.RUNNING_FILE).unlink(missing_ok=True)
    return summary


def _finish(config, model, valid_x, valid_y, run_dir, state, fingerprint):
    """Save model, predictions and history, then summary.json last."""
    from core.model import build_model

    probabilities = model.predict(make_eval_dataset(valid_x), verbose=0)
    pred = probabilities.argmax(axis=1)
    true = np.asarray(valid_y, dtype=np.int64)
    matrix = confusion_matrix(true, pred)
    val_accuracy = float((pred == true).mean())

    # A fresh, uncompiled copy: the stored model carries no optimizer state.
    plain = build_model(config)
    plain.set_weights(model.get_weights())
    tmp = store.temp_path_for(run_dir / store.MODEL_FILE)
    plain.save(tmp)
    os.replace(tmp, run_dir / store.MODEL_FILE)

    buffer_path = store.temp_path_for(run_dir / store.PREDICTIONS_FILE)
    with open(buffer_path, "wb") as handle:
        np.savez(
            handle,
            pred=pred.astype(np.int8),
            prob=probabilities.max(axis=1).astype(np.float32),
            true=true.astype(np.int8),
        )
    os.replace(buffer_path, run_dir / store.PREDICTIONS_FILE)

    history = state["history"]
    store.atomic_write_json(run_dir / store.HISTORY_FILE, history)
    per_letter = {
        LETTERS[i]: (float(matrix[i, i] / matrix[i].sum()) if matrix[i].sum() else None)
        for i in range(NUM_CLASSES)
    }
    accuracies = [
        e["val_accuracy"] for e in history if e.get("val_accuracy") is not None
    ]
    summary = {
        "run_id": run_dir.name,
        "config": config.to_dict(),
        "data_fingerprint": fingerprint,
        "epochs_run": len(history),
        "best_epoch": state["best_epoch"],
        "best_val_accuracy": max(accuracies) if accuracies else None,
        "final_val_accuracy": accuracies[-1] if accuracies else None,
        "model_val_accuracy": val_accuracy,
        "stopped_early": bool(state.get("stopped_early")),
        "seconds": round(state["seconds"], 1),
        "seconds_per_epoch": (
            round(float(np.mean(state["epoch_seconds"])), 1)
            if state["epoch_seconds"]
            else None
        ),
        "history": history,
        "confusion": matrix.tolist(),
        "per_letter_accuracy": per_letter,
        "files": {
            name: store.sha256_file(run_dir / name) for name in store.CHECKED_FILES
        },
        "finished": time.time(),
    }
    store.atomic_write_json(run_dir / store.SUMMARY_FILE, summary)
    checkpoint = store.read_json_or_none(run_dir / store.CHECKPOINT_FILE) or {}
    # The run is complete: its resume files are no longer needed.
    if checkpoint.get("model"):
        (run_dir / checkpoint["model"]).unlink(missing_ok=True)
    (run_dir / "best.weights.h5").unlink(missing_ok=True)
    log.info("run %s finished: val accuracy %.4f", run_dir.name, val_accuracy)
    return summary


# ---------------------------------------------------------------- command line


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option for every TrainConfig and AugmentSettings field."""
    d, a = RECOMMENDED, AugmentSettings()
    g = parser.add_argument_group("training configuration (part of the run id)")
    g.add_argument(
        "--network",
        default=d.network,
        help="network builder in core.model (default %(default)s)",
    )
    g.add_argument(
        "--epochs",
        type=int,
        default=d.epochs,
        help="epochs to train (default %(default)s)",
    )
    g.add_argument(
        "--batch-size",
        type=int,
        default=d.batch_size,
        help="images per batch (default %(default)s)",
    )
    g.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default=d.optimizer,
        help="rmsprop (the course's) or adam (default %(default)s)",
    )
    g.add_argument(
        "--learning-rate",
        type=float,
        default=d.learning_rate,
        help="initial learning rate (default %(default)s)",
    )
    g.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=d.schedule,
        help="constant; cosine: per step from the rate down to 0 over the run; "
        f"plateau: halve after {PLATEAU_PATIENCE} epochs without a better "
        "validation accuracy (default %(default)s)",
    )
    g.add_argument(
        "--early-stopping",
        action=argparse.BooleanOptionalAction,
        default=d.early_stopping,
        help=f"stop after {EARLY_STOP_PATIENCE} epochs without a better validation "
        "accuracy",
    )
    g.add_argument(
        "--restore-best",
        action=argparse.BooleanOptionalAction,
        default=d.restore_best,
        help="keep the weights of the epoch with the best validation accuracy "
        "(default on)",
    )
    g.add_argument(
        "--normalize",
        action=argparse.BooleanOptionalAction,
        default=d.normalize,
        help="per-image min-max contrast normalisation inside the model",
    )
    g.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=d.augment,
        help="random augmentation of the training batches",
    )
    g.add_argument(
        "--seed", type=int, default=d.seed, help="random seed (default %(default)s)"
    )
    g.add_argument(
        "--train-rows",
        type=int,
        default=d.train_rows,
        help="use only the first N training rows; 0 = all",
    )
    g = parser.add_argument_group("augmentation (ImageDataGenerator semantics)")
    g.add_argument(
        "--rotation",
        type=float,
        default=a.rotation,
        help="degrees, uniform in +-this (default %(default)s)",
    )
    g.add_argument(
        "--zoom",
        type=float,
        default=a.zoom,
        help="factors in [1-z, 1+z] per axis (default %(default)s)",
    )
    g.add_argument(
        "--width-shift",
        type=float,
        default=a.width_shift,
        help="fraction of the width (default %(default)s)",
    )
    g.add_argument(
        "--height-shift",
        type=float,
        default=a.height_shift,
        help="fraction of the height (default %(default)s)",
    )
    g.add_argument(
        "--horizontal-flip",
        action=argparse.BooleanOptionalAction,
        default=a.horizontal_flip,
        help="mirror half the images",
    )
    g.add_argument(
        "--vertical-flip",
        action=argparse.BooleanOptionalAction,
        default=a.vertical_flip,
        help="turn half the images upside down",
    )
    g.add_argument(
        "--fill-mode",
        default=a.fill_mode,
        help="nearest, constant, reflect or wrap (default %(default)s)",
    )
    g.add_argument(
        "--fill-value",
        type=float,
        default=a.fill_value,
        help="pixel value for fill mode constant",
    )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    augmentation = AugmentSettings(
        **{f.name: getattr(args, f.name) for f in dataclasses.fields(AugmentSettings)}
    )
    values = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if f.name != "augmentation"
    }
    return canonical(TrainConfig(augmentation=augmentation, **values))


def command_for(config: TrainConfig) -> list[str]:
    """The command-line options that reproduce ``config`` (only those that
    differ from the defaults), e.g. for a model card."""
    args: list[str] = []
    defaults = RECOMMENDED
    for f in dataclasses.fields(TrainConfig):
        if f.name == "augmentation":
            continue
        value, default = getattr(config, f.name), getattr(defaults, f.name)
        if value == default:
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + flag[2:])
        else:
            args += [flag, str(value)]
    if config.augment:
        aug_defaults = AugmentSettings()
        for f in dataclasses.fields(AugmentSettings):
            value = getattr(config.augmentation, f.name)
            if value == getattr(aug_defaults, f.name):
                continue
            flag = "--" + f.name.replace("_", "-")
            if isinstance(value, bool):
                args.append(flag if value else "--no-" + flag[2:])
            else:
                args += [flag, str(value)]
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core.train",
        description="Train the sign-language CNN headless and store the run in the "
        "same cache the dashboard uses (a finished run with the same settings on "
        "the same data is reported, not retrained).",
    )
    _add_config_options(parser)
    g = parser.add_argument_group("where and how")
    g.add_argument(
        "--data-dir", help="folder with the two CSVs (default: ASL_DATA_DIR or data/)"
    )
    g.add_argument("--store-dir", help="run store (default: ASL_STORE_DIR or runs/)")
    g.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from its last epoch checkpoint",
    )
    g.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="default",
        help="tf.distribute: mirrored = all GPUs of this machine; multiworker = "
        "the machines named in TF_CONFIG (start the same command on each, with "
        "its own task index; only the chief writes the store)",
    )
    g.add_argument(
        "--compare-augmentation",
        action="store_true",
        help="train the configuration twice, with and without augmentation "
        "(the training page's comparison then comes from the cache)",
    )
    g.add_argument(
        "--publish-default",
        metavar="DIR",
        nargs="?",
        const="",
        help="after training, copy the model to the shipped default "
        "model folder (default models/default) with its card",
    )
    g.add_argument("--run-dir", help=argparse.SUPPRESS)  # used by core.jobs
    g.add_argument("--quiet", action="store_true", help="print only the final line")
    return parser


def _print_progress(entry: dict[str, Any]) -> None:
    if entry.get("type") == "epoch":
        print(
            f"epoch {entry['epoch']}: loss {entry['loss']:.4f} "
            f"acc {entry['accuracy']:.4f} "
            f"val_loss {entry['val_loss']:.4f} val_acc {entry['val_accuracy']:.4f} "
            f"({entry['seconds']:.0f} s)",
            flush=True,
        )
    elif entry.get("type") == "batch":
        print(
            f"  epoch {entry['epoch']} batch {entry['batch']}/{entry['of']} "
            f"loss {entry['loss']:.4f} eta {entry['eta']:.0f} s",
            end="\r" if sys.stdout.isatty() else "\n",
            flush=True,
        )


def load_arrays(data: dict[str, str], data_dir: str | None = None):
    """(train_x, train_y, valid_x, valid_y, fingerprint) from a store data
    copy (``{"npz": path}``) or a CSV folder."""
    if data.get("npz"):
        with np.load(data["npz"], allow_pickle=False) as arrays:
            return (
                arrays["train_x"],
                arrays["train_y"],
                arrays["valid_x"],
                arrays["valid_y"],
                str(arrays["fingerprint"]),
            )
    from core import paths
    from core.data import load_dataset

    folder = data.get("folder") or data_dir or str(paths.data_dir())
    ds = load_dataset(Path(folder))
    return ds.train_x, ds.train_y, ds.valid_x, ds.valid_y, ds.fingerprint


def run_from_folder(run_dir: Path, resume: bool, strategy: str, quiet: bool) -> int:
    """Train the run whose config.json is already in ``run_dir`` (how
    ``core.jobs`` starts a child). Exit status 0 finished, 3 cancelled."""
    meta = json.loads((run_dir / store.CONFIG_FILE).read_text())
    config = TrainConfig.from_dict(meta["config"])
    train_x, train_y, valid_x, valid_y, fingerprint = load_arrays(meta.get("data", {}))
    if fingerprint != meta["data_fingerprint"]:
        store.mark_ended(
            run_dir, store.FAILED, "The data changed since this training was queued."
        )
        return 2
    try:
        train(
            config,
            train_x,
            train_y,
            valid_x,
            valid_y,
            run_dir,
            on_progress=None if quiet else _print_progress,
            should_stop=lambda: store.cancel_requested(run_dir),
            resume=resume,
            strategy=strategy,
            data_fingerprint=fingerprint,
        )
    except Cancelled:
        print("cancelled", flush=True)
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if args.run_dir:
        return run_from_folder(
            Path(args.run_dir), args.resume, args.strategy, args.quiet
        )

    from core import paths

    store_root = Path(args.store_dir) if args.store_dir else paths.store_dir()
    try:
        config = config_from_args(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configs = [config]
    if args.compare_augmentation:
        configs = list(with_and_without_augmentation(config))
    data_dir = args.data_dir or str(paths.data_dir())
    try:
        train_x, train_y, valid_x, valid_y, fingerprint = load_arrays({}, data_dir)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    status = 0
    for cfg in configs:
        rid = run_id(cfg, fingerprint)
        existing = store.find_run(rid, store_root)
        if existing is not None and existing.finished:
            print(
                f"run {rid}: already in the store, val accuracy "
                f"{existing.final_val_accuracy:.4f}",
                flush=True,
            )
            continue
        if existing is not None and existing.status == store.RUNNING:
            print(f"run {rid}: already training in another process", flush=True)
            continue
        resume = args.resume or (existing is not None and existing.resumable)
        run_dir = store.create_run(
            cfg,
            fingerprint,
            store=store_root,
            owner="cli",
            data={"folder": str(Path(data_dir).resolve())},
        )
        print(f"run {rid}: training {cfg.epochs} epochs into {run_dir}", flush=True)
        try:
            summary = train(
                cfg,
                train_x,
                train_y,
                valid_x,
                valid_y,
                run_dir,
                on_progress=None if args.quiet else _print_progress,
                should_stop=lambda d=run_dir: store.cancel_requested(d),
                resume=resume,
                strategy=args.strategy,
                data_fingerprint=fingerprint,
            )
        except Cancelled:
            print(f"run {rid}: cancelled", flush=True)
            status = 3
            continue
        print(
            f"run {rid}: finished, "
            f"best val accuracy {summary['best_val_accuracy']:.4f}, "
            f"model val accuracy {summary['model_val_accuracy']:.4f}, "
            f"{summary['seconds']:.0f} s",
            flush=True,
        )
    if args.publish_default is not None and status == 0:
        target = Path(args.publish_default or paths.DEFAULT_MODEL_DIR)
        rid = run_id(configs[0], fingerprint)
        command = " ".join(
            shlex.quote(a) for a in ["python", "-m", "core.train", *argv]
        )
        card = publish_default(store_root / rid, target, command)
        print(
            f"published run {rid} to {target}: val accuracy {card['val_accuracy']:.4f}",
            flush=True,
        )
    return status


def publish_default(run_dir: Path, target: Path, command: str) -> dict[str, Any]:
    """Copy a finished run's model (checksum-verified) to ``target`` as the
    shipped default: ``model.keras``, ``card.json`` and ``MODEL_CARD.md``."""
    source = store.verified_file(run_dir)
    summary = json.loads((run_dir / store.SUMMARY_FILE).read_text())
    target.mkdir(parents=True, exist_ok=True)
    store.atomic_write_bytes(target / store.MODEL_FILE, source.read_bytes())
    meta = store.read_json_or_none(run_dir / store.CONFIG_FILE) or {}
    config = summary.get("config") or meta.get("config") or {}
    per_letter = summary.get("per_letter_accuracy") or {}
    card = {
        "command": command,
        "run_id": run_dir.name,
        "data_fingerprint": summary.get("data_fingerprint")
        or meta.get("data_fingerprint"),
        "val_accuracy": summary.get("model_val_accuracy"),
        "best_epoch": summary.get("best_epoch"),
        "epochs_run": summary.get("epochs_run"),
        "seconds_per_epoch": summary.get("seconds_per_epoch"),
        "sha256": store.sha256_file(target / store.MODEL_FILE),
        "config": config,
        "per_letter_accuracy": per_letter,
        "trained": time.strftime(
            "%Y-%m-%d", time.gmtime(summary.get("finished") or time.time())
        ),
    }
    store.atomic_write_json(target / "card.json", card)
    weakest = sorted((v, k) for k, v in per_letter.items() if v is not None and v < 1)[
        :3
    ]
    fingerprint = str(card["data_fingerprint"] or "unknown")
    aug = config.get("augmentation") or {}
    if not config.get("augment"):
        aug_text = "off"
    elif aug == dataclasses.asdict(AugmentSettings()):
        aug_text = "on (the course's settings)"
    else:
        aug_text = "on (" + ", ".join(f"{k} {v}" for k, v in sorted(aug.items())) + ")"
    accuracy = card["val_accuracy"]
    per_epoch = card["seconds_per_epoch"]
    text = f"""# The shipped default model

The course CNN (Conv2D 75-50-25 with batch norm, Dense 512, 24-way softmax)
with per-image min-max contrast normalisation as its first layer, so it gives
the same letters for an image and for `a * image + b`.

- Trained with: `{command}`
- Data: the Sign Language MNIST training split (fingerprint {fingerprint[:16]}...),
  validated on the test split (the course's `sign_mnist_valid.csv`).
- Settings: {config.get("optimizer")} at {config.get("learning_rate")}, schedule
  {config.get("schedule")}, {config.get("epochs")} epochs, batch {
        config.get("batch_size")
    },
  augmentation {aug_text}, {
        "best" if config.get("restore_best") else "last"
    } epoch kept,
  seed {config.get("seed")}.
- Validation accuracy: **{f"{accuracy:.2%}" if accuracy is not None else "unknown"}**
  (best epoch {card["best_epoch"]} of {card["epochs_run"]}{
        f", about {per_epoch:.0f} s an epoch on 2 CPU cores" if per_epoch else ""
    }).
- Weakest letters on validation: {
        ", ".join(f"{k} {v:.1%}" for v, k in weakest) or "unknown"
    }.
- Saved without optimizer state; `card.json` holds the file's sha256, which the
  app checks before loading it in Keras safe mode.

Known limits: trained on 28x28 grayscale crops of hands on plain backgrounds by
a small group of signers; photos, drawings and other signers are read less
reliably. J and Z need motion and are not in the data.
"""
    store.atomic_write_bytes(target / "MODEL_CARD.md", text.encode())
    return card


if __name__ == "__main__":
    sys.exit(main())
