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
    started = time.perf_counter()
    epochs: list[dict] = []

    def on_progress(entry: dict) -> None:
        if entry.get("type") != "epoch":
            return
        entry = {**entry, "elapsed": time.perf_counter() - started}
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
        raise RuntimeError(f"no cache hit: {(done.stdout or done.stderr).strip()[-200:]}")
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
            cached.append(_load_in_fresh_python(folder, Path(tmp) / "cold-0")["seconds"])
    return {"first_parse": first, "cached": cached, "rows": rows}


def time_course_parse(folder: Path, repeats: int) -> list[float]:
    """The course's way for reference: ``pandas.read_csv`` of both files."""
    from bench import course

    return stats.repeat_timed(lambda: course.read_course_frames(folder), repeats)
