"""The project's side of the benchmark: its default training, the same network
without augmentation (the compute floor), a cache hit, and loading the data.

Training runs in this process through ``core.train.train`` into a run folder
of a store of the benchmark's own (never the user's ``runs/``), like the
course pipeline runs in this process; seconds an epoch are the training's own
per-epoch figures (training plus validation pass), and the time to an
accuracy is wall time from the call to that epoch's progress event (so it
includes building the model, the ``tf.data`` stream and each epoch
checkpoint). The cache hit then asks ``core.jobs`` for that same
configuration, as the training page does.

Not here: the course's pipeline (``bench.course``) and the app (``bench.app``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import stats

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def train_project(config, dataset, store_root: Path, on_epoch=None) -> dict:
    """Train ``config`` on ``dataset`` (a ``core.data.Dataset``) into the
    benchmark's store; per-epoch seconds, validation accuracy and elapsed
    wall time, plus the run folder for the cache hit and the prediction."""
    from core import store
    from core.train import train

    run_dir = store.create_run(
        config,
        dataset.fingerprint,
        store=store_root,
        owner="bench",
        data={"folder": dataset.source},
    )
    started, started_cpu = time.perf_counter(), time.process_time()
    epochs: list[dict] = []

    def on_progress(entry: dict) -> None:
        if entry.get("type") != "epoch":
            return
        entry = {
            **entry,
            "elapsed": time.perf_counter() - started,
            "cpu_elapsed": time.process_time() - started_cpu,
        }
        epochs.append(entry)
        if on_epoch is not None:
            on_epoch(entry["epoch"], entry)

    summary = train(
        config,
        dataset.train_x,
        dataset.train_y,
        dataset.valid_x,
        dataset.valid_y,
        run_dir,
        on_progress=on_progress,
        data_fingerprint=dataset.fingerprint,
    )
    return {
        "config": config.to_dict(),
        "run_id": run_dir.name,
        "run_dir": str(run_dir),
        "train_rows": int(config.train_rows or len(dataset.train_x)),
        "valid_rows": int(len(dataset.valid_x)),
        "epoch_seconds": [float(e["seconds"]) for e in epochs],
        "elapsed": [float(e["elapsed"]) for e in epochs],
        "cpu_elapsed": [float(e["cpu_elapsed"]) for e in epochs],
        # CPU seconds between epoch events (each also holds the previous epoch's
        # checkpoint; the first also the set-up), this process, all threads.
        "epoch_cpu_seconds": stats.differences([e["cpu_elapsed"] for e in epochs]),
        "val_accuracy": [float(e["val_accuracy"]) for e in epochs],
        "accuracy": [float(e["accuracy"]) for e in epochs],
        "total_s": time.perf_counter() - started,
        "best_val_accuracy": summary.get("best_val_accuracy"),
        "model_val_accuracy": summary.get("model_val_accuracy"),
    }


def floor_config(config):
    """The same training with augmentation switched off: the compute floor."""
    return dataclasses.replace(config, augment=False)


def time_cache_hit(config, dataset, store_root: Path, repeats: int) -> dict:
    """Seconds from ``JobManager.submit`` of an already-finished configuration
    to its summary and history read back (what the training page shows)."""
    from core import store
    from core.jobs import JobManager

    manager = JobManager(store_root=store_root)
    outcomes = []

    def launch() -> None:
        submitted = manager.submit(config, dataset, owner="bench")
        outcomes.append(submitted.outcome)
        info = store.read_run(submitted.job.run_dir)
        if not info.finished or not info.summary.get("history"):
            raise RuntimeError(f"run {info.run_id} is {info.status}, not a cache hit")

    try:
        seconds = stats.repeat_timed(launch, repeats, warmup=1)
    finally:
        manager.close()
    return {"seconds": seconds, "outcomes": sorted(set(outcomes))}


def time_cli_cache_hit(config, data_dir: Path, store_root: Path) -> float:
    """Wall seconds of ``python -m core.train`` for a finished configuration:
    a fresh Python that loads the data (parse cache), finds the run, prints it."""
    command = [sys.executable, "-m", "core.train", "--quiet"]
    command += ["--data-dir", str(data_dir), "--store-dir", str(store_root)]
    command += cli_options(config)
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    seconds = time.perf_counter() - started
    if "already in the store" not in done.stdout:
        raise RuntimeError(
            f"no cache hit: {(done.stdout or done.stderr).strip()[-200:]}"
        )
    return seconds


def cli_options(config) -> list[str]:
    """``python -m core.train`` options that name exactly ``config``."""
    options = []
    values = config.to_dict()
    augmentation = values.pop("augmentation")
    for name, value in {**values, **augmentation}.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            options.append(flag if value else "--no-" + flag[2:])
        else:
            options += [flag, str(value)]
    return options


_LOAD_SNIPPET = """
import json, sys, time
start = time.perf_counter()
from core.data import load_dataset
ds = load_dataset(sys.argv[1])
print("LOAD " + json.dumps({"seconds": time.perf_counter() - start,
                            "rows": [len(ds.train_x), len(ds.valid_x)]}))
"""


def _load_in_fresh_python(folder: Path, cache_dir: Path) -> dict:
    env = dict(os.environ, ASL_CACHE_DIR=str(cache_dir))
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_SNIPPET, str(folder)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("LOAD ")]
    if not lines:
        raise RuntimeError(f"load failed: {done.stderr.strip()[-300:]}")
    return json.loads(lines[-1][5:])


def time_data_loading(folder: Path, repeats: int) -> dict:
    """``core.data.load_dataset`` of both CSVs, each time in a fresh Python
    (timed inside it, from before the import of ``core.data``): first parses
    with an empty parse cache, then loads from the cache those parses wrote."""
    first, cached, rows = [], [], None
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        for index in range(repeats):
            cache_dir = Path(tmp) / f"cold-{index}"
            result = _load_in_fresh_python(folder, cache_dir)
            first.append(result["seconds"])
            rows = result["rows"]
        for _ in range(repeats):
            cached.append(
                _load_in_fresh_python(folder, Path(tmp) / "cold-0")["seconds"]
            )
    return {"first_parse": first, "cached": cached, "rows": rows}


def time_course_parse(folder: Path, repeats: int) -> list[float]:
    """The course's way for reference: ``pandas.read_csv`` of both files."""
    from bench import course

    return stats.repeat_timed(lambda: course.read_course_frames(folder), repeats)


_PAGE_DEFAULTS_SNIPPET = """
import json, os, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(os.path.abspath("pages/train.py"), default_timeout=180)
at.run()
values = {}
for kind in ("number_input", "select_slider", "radio", "selectbox", "toggle"):
    for widget in getattr(at, kind):
        values[widget.key] = widget.value
print("DEFAULTS " + json.dumps({"values": values,
                                "exceptions": [str(e.value) for e in at.exception]}))
"""

# Training page widget key -> TrainConfig field.
PAGE_KEYS = {
    "train_epochs": "epochs",
    "train_batch_size": "batch_size",
    "train_optimizer": "optimizer",
    "train_learning_rate": "learning_rate",
    "train_schedule": "schedule",
    "train_early_stopping": "early_stopping",
    "train_restore_best": "restore_best",
    "train_augment": "augment",
    "train_seed": "seed",
}


def config_from_page_values(values: dict):
    """The TrainConfig the training page launches for these widget values
    (augmentation settings: the augmentation page's defaults)."""
    from core.config import TrainConfig
    from core.train import canonical

    fields = {PAGE_KEYS[k]: v for k, v in values.items() if k in PAGE_KEYS}
    for name in ("epochs", "batch_size", "seed"):
        if name in fields:
            fields[name] = int(fields[name])
    if "learning_rate" in fields:
        fields["learning_rate"] = float(fields["learning_rate"])
    return canonical(TrainConfig(**fields))


def page_default_config(data_dir: Path, store_root: Path) -> tuple[object, str]:
    """The configuration the training page launches when nobody touches a
    control, read from the page itself with AppTest in a fresh Python; falls
    back to ``TrainConfig()`` and says why when the page cannot be read."""
    from core.config import TrainConfig

    env = dict(
        os.environ,
        PYTHONPATH=str(PROJECT_ROOT),
        ASL_DATA_DIR=str(data_dir),
        ASL_STORE_DIR=str(store_root),
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PAGE_DEFAULTS_SNIPPET],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("DEFAULTS ")]
        if not lines:
            raise RuntimeError((done.stderr.strip().splitlines() or ["no output"])[-1])
        read = json.loads(lines[-1][len("DEFAULTS ") :])
        if read["exceptions"] or not read["values"]:
            raise RuntimeError(f"the page raised {read['exceptions'][:1]}")
        return config_from_page_values(read["values"]), (
            "the training page's defaults (read from pages/train.py with AppTest)"
        )
    except Exception as error:  # noqa: BLE001 - fall back, and say so
        return (
            TrainConfig(),
            f"TrainConfig() defaults (the page could not be read: {error})",
        )


def interleaved_epoch_ratio(
    config, x, y, blocks: int = 8, block_batches: int = 50
) -> dict:
    """Training with and without augmentation, alternated in short blocks on
    one model, so both see the same machine load: seconds a batch of each.

    Both streams are ``core.train.make_train_dataset`` (augmentation on, and
    the same with it off), each iterated without end; each block trains
    ``block_batches`` batches with ``train_on_batch``, the arms' order
    alternating block by block. The median over block pairs of augmented /
    plain seconds is the epoch slowdown augmentation costs (with its quartiles
    as the spread), far less noisy on a shared machine than two separate
    trainings minutes apart."""
    from core.train import compile_model, make_train_dataset

    one_epoch = dataclasses.replace(config, epochs=1)
    arms = {
        "augmented": make_train_dataset(one_epoch, x, y, 0).repeat(),
        "plain": make_train_dataset(floor_config(one_epoch), x, y, 0).repeat(),
    }
    iterators = {name: iter(ds) for name, ds in arms.items()}
    model = compile_model(one_epoch, steps_per_epoch=blocks * block_batches)

    def block(name: str) -> float:
        iterator = iterators[name]
        start = time.perf_counter()
        for _ in range(block_batches):
            images, labels = next(iterator)
            model.train_on_batch(images, labels)
        return (time.perf_counter() - start) / block_batches

    for name in arms:  # warm-up: traces the train step, fills the prefetch buffers
        block(name)
    seconds = {name: [] for name in arms}
    for index in range(blocks):
        order = ("augmented", "plain") if index % 2 == 0 else ("plain", "augmented")
        for name in order:
            seconds[name].append(block(name))
    augmented, plain = (
        stats.median(seconds["augmented"]),
        stats.median(seconds["plain"]),
    )
    # Each augmented block against the plain block run right beside it.
    paired = [a / p for a, p in zip(seconds["augmented"], seconds["plain"])]
    return {
        "blocks": blocks,
        "batches_per_block": block_batches,
        "augmented_s_per_batch": augmented,
        "plain_s_per_batch": plain,
        "ratio": stats.median(paired),
        "ratio_of_medians": stats.ratio(augmented, plain),
        "paired_ratio_p25": stats.percentile(paired, 25),
        "paired_ratio_p75": stats.percentile(paired, 75),
        "block_seconds_per_batch": {
            name: [round(v, 4) for v in values] for name, values in seconds.items()
        },
    }
