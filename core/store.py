"""The run store: one folder a training run, named by its run id, holding its
configuration, live progress, epoch checkpoint, and at the end the model and
its summary.

A run folder, in the order its files appear::

    config.json        who asked for what: the TrainConfig, data fingerprint, owner
    running.json       the training process's pid (removed when it ends)
    progress.jsonl     one JSON line an epoch, plus throttled batch lines
    checkpoint.json    the last finished epoch and the state needed to resume it,
    checkpoint-eN.keras  pointing at this model file (weights + optimizer state)
    model.keras        the trained model (no optimizer state)
    predictions.npz    the model's class for every validation row
    history.json       the per-epoch metrics
    summary.json       LAST: a run is finished exactly when this file exists
    status.json        only for runs that ended otherwise: cancelled or failed
    cancel             a flag a page drops to ask the training to stop

Every whole file is written to a temporary name and renamed into place, so a
kill at any moment leaves either the old file or the new one, never half of
one. ``progress.jsonl`` is appended to, and a reader skips a torn last line.

Listing runs imports no TensorFlow; only :func:`load_model` does. This module
does not start or schedule trainings (that is ``core.jobs``) and knows nothing
about who may delete what (``core.access`` and the pages decide).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import paths
from core.config import TrainConfig

log = logging.getLogger(__name__)

RUN_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
# Folders of the store that are not runs (the shared copy of each data set).
INTERNAL_PREFIX = "_"

CONFIG_FILE = "config.json"
RUNNING_FILE = "running.json"
PROGRESS_FILE = "progress.jsonl"
CHECKPOINT_FILE = "checkpoint.json"
MODEL_FILE = "model.keras"
PREDICTIONS_FILE = "predictions.npz"
HISTORY_FILE = "history.json"
SUMMARY_FILE = "summary.json"
STATUS_FILE = "status.json"
CANCEL_FILE = "cancel"

# Files whose checksums summary.json records; a mismatch refuses the run.
CHECKED_FILES = (MODEL_FILE, PREDICTIONS_FILE)

FINISHED = "finished"
RUNNING = "running"
QUEUED = "queued"
INTERRUPTED = "interrupted"
CANCELLED = "cancelled"
FAILED = "failed"
STATES = (FINISHED, RUNNING, QUEUED, INTERRUPTED, CANCELLED, FAILED)


class StoreError(Exception):
    """A run folder that cannot be read; the message is one sentence."""


class ModelIntegrityError(StoreError):
    """A stored file whose checksum does not match what the run recorded."""


# ---------------------------------------------------------------- writing


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and
    a rename, so readers see the old file or the new one, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide runs from other users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, json.dumps(value, indent=1, sort_keys=True).encode())


def append_jsonl(path: Path, value: dict[str, Any]) -> None:
    """Append one JSON line. A kill mid-write can tear only this last line,
    which :func:`read_progress` skips."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(value, sort_keys=True) + "\n")
        handle.flush()


def temp_path_for(path: Path) -> Path:
    """A temporary sibling of ``path`` with the same suffix (Keras insists the
    name of a model file ends in ``.keras``), hidden from listings."""
    path = Path(path)
    return path.with_name(f".tmp-{os.getpid()}-{path.name}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def create_run(
    config: TrainConfig,
    data_fingerprint: str,
    *,
    store: Path | None = None,
    owner: str = "",
    data: dict[str, str] | None = None,
) -> Path:
    """Make (or reuse) the folder for ``config`` on that data and write its
    ``config.json``. ``data`` says where the child process finds the arrays:
    ``{"npz": path}`` or ``{"folder": path}``."""
    from core.config import run_id

    rid = run_id(config, data_fingerprint)
    run_dir = Path(store or paths.store_dir()) / rid
    run_dir.mkdir(parents=True, exist_ok=True)
    existing = read_json_or_none(run_dir / CONFIG_FILE)
    if isinstance(existing, dict) and existing.get("run_id") == rid:
        return run_dir  # the same run again (a resume or a second launch)
    atomic_write_json(
        run_dir / CONFIG_FILE,
        {
            "run_id": rid,
            "config": config.to_dict(),
            "data_fingerprint": data_fingerprint,
            "owner": owner,
            "data": data or {},
            "created": time.time(),
        },
    )
    return run_dir


def mark_ended(run_dir: Path, state: str, message: str = "") -> None:
    """Record that a run ended as ``cancelled`` or ``failed``."""
    if state not in (CANCELLED, FAILED):
        raise ValueError(f"a run can only be marked cancelled or failed, not {state}")
    atomic_write_json(
        Path(run_dir) / STATUS_FILE,
        {"state": state, "message": message, "time": time.time()},
    )


def clear_ended(run_dir: Path) -> None:
    """Forget a cancel or failure (before a resume or a fresh attempt)."""
    for name in (STATUS_FILE, CANCEL_FILE):
        (Path(run_dir) / name).unlink(missing_ok=True)


def request_cancel(run_dir: Path) -> None:
    """Ask the training in ``run_dir`` to stop after its current batch."""
    atomic_write_bytes(Path(run_dir) / CANCEL_FILE, b"cancel\n")


def cancel_requested(run_dir: Path) -> bool:
    return (Path(run_dir) / CANCEL_FILE).exists()


# ---------------------------------------------------------------- reading


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StoreError(
            f"{path.name} in run {path.parent.name} is unreadable "
            f"({type(error).__name__})."
        ) from None


def read_json_or_none(path: Path) -> Any:
    """The JSON in ``path``, or None when it is missing or unreadable."""
    try:
        return _read_json(path)
    except (FileNotFoundError, StoreError):
        return None


def read_progress(run_dir: Path) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The run's finished epochs (in order, one dict each, a resumed epoch
    replacing its first attempt) and its latest batch line, if any."""
    epochs: dict[int, dict[str, Any]] = {}
    last_batch = None
    try:
        text = (Path(run_dir) / PROGRESS_FILE).read_text(
            encoding="utf-8", errors="replace"
        )
    except FileNotFoundError:
        return [], None
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line after a kill
        if not isinstance(entry, dict):
            continue
        kind = entry.get("type")
        if kind == "epoch" and isinstance(entry.get("epoch"), int):
            epochs[entry["epoch"]] = entry
            last_batch = None
        elif kind == "batch":
            last_batch = entry
        elif kind == "start":
            # A resume restarts the epoch after its checkpoint; drop what a
            # killed attempt logged past that point.
            resumed = entry.get("start_epoch", 0)
            if isinstance(resumed, int):
                epochs = {e: v for e, v in epochs.items() if e <= resumed}
            last_batch = None
    return [epochs[e] for e in sorted(epochs)], last_batch


def _proc_start_ticks(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None
    when the process is gone, a zombie, or there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def process_identity() -> dict[str, Any]:
    """What ``running.json`` records about this process, so a later reader can
    tell it from a different process that reused the pid."""
    return {"pid": os.getpid(), "start_ticks": _proc_start_ticks(os.getpid())}


def process_alive(record: dict[str, Any]) -> bool:
    """True when the process described by ``record`` (see
    :func:`process_identity`) is still alive and is the same process."""
    try:
        pid = int(record.get("pid", -1))
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    ticks = _proc_start_ticks(pid)
    if ticks is None:
        if Path("/proc/self/stat").exists():
            return False
        try:  # no /proc (not Linux): trust the signal check
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    return record.get("start_ticks") in (None, ticks)


@dataclass
class RunInfo:
    """What the store knows about one run folder."""

    run_id: str
    path: Path
    status: str
    config: TrainConfig | None
    data_fingerprint: str = ""
    owner: str = ""
    created: float = 0.0
    epochs_done: int = 0
    epochs_total: int = 0
    best_val_accuracy: float | None = None
    final_val_accuracy: float | None = None
    seconds: float | None = None
    message: str = ""
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status == FINISHED

    @property
    def resumable(self) -> bool:
        return (
            self.status in (INTERRUPTED, CANCELLED, FAILED)
            and (self.path / CHECKPOINT_FILE).exists()
        )


def read_run(run_dir: Path) -> RunInfo:
    """Read one run folder. Raises :class:`StoreError` with one sentence when
    the folder is not a run or its config is corrupt."""
    run_dir = Path(run_dir)
    try:
        meta = _read_json(run_dir / CONFIG_FILE)
    except FileNotFoundError:
        raise StoreError(
            f"{run_dir.name} has no {CONFIG_FILE}, so it is not a run."
        ) from None
    try:
        config = TrainConfig.from_dict(meta["config"])
        fingerprint = str(meta["data_fingerprint"])
    except (KeyError, TypeError, ValueError) as error:
        raise StoreError(
            f"{CONFIG_FILE} in run {run_dir.name} is not a training "
            f"configuration ({error})."
        ) from None

    info = RunInfo(
        run_id=run_dir.name,
        path=run_dir,
        status=INTERRUPTED,
        config=config,
        data_fingerprint=fingerprint,
        owner=str(meta.get("owner", "")),
        created=float(meta.get("created", 0) or 0),
        epochs_total=config.epochs,
    )
    epochs, _ = read_progress(run_dir)
    checkpoint = read_json_or_none(run_dir / CHECKPOINT_FILE) or {}
    info.epochs_done = max(len(epochs), int(checkpoint.get("epoch", 0) or 0))
    accuracies = [e["val_accuracy"] for e in epochs if "val_accuracy" in e]
    if accuracies:
        info.best_val_accuracy = max(accuracies)
        info.final_val_accuracy = accuracies[-1]

    summary = None
    if (run_dir / SUMMARY_FILE).exists():
        summary = read_json_or_none(run_dir / SUMMARY_FILE)
        if not isinstance(summary, dict):
            raise StoreError(f"{SUMMARY_FILE} in run {run_dir.name} is unreadable.")
    ended = read_json_or_none(run_dir / STATUS_FILE)
    running = read_json_or_none(run_dir / RUNNING_FILE)

    if summary is not None:
        info.status = FINISHED
        info.summary = summary
        info.epochs_done = int(summary.get("epochs_run", info.epochs_done))
        info.best_val_accuracy = summary.get("best_val_accuracy")
        info.final_val_accuracy = summary.get("final_val_accuracy")
        info.seconds = summary.get("seconds")
    elif isinstance(running, dict) and process_alive(running):
        info.status = RUNNING
    elif isinstance(ended, dict) and ended.get("state") in (CANCELLED, FAILED):
        info.status = ended["state"]
        info.message = str(ended.get("message", ""))
    else:
        info.status = INTERRUPTED
    return info


def list_runs(store: Path | None = None) -> tuple[list[RunInfo], list[str]]:
    """Every run in the store, newest first, and one sentence for each entry
    that was skipped (a foreign file, a corrupt run). Never raises for the
    store's content; a missing store is empty."""
    root = Path(store or paths.store_dir())
    runs: list[RunInfo] = []
    problems: list[str] = []
    try:
        entries = sorted(root.iterdir())
    except FileNotFoundError:
        return [], []
    except OSError as error:
        return [], [f"The run store could not be read ({type(error).__name__})."]
    for entry in entries:
        if entry.name.startswith(INTERNAL_PREFIX) or entry.name.startswith("."):
            continue
        if not entry.is_dir() or not RUN_ID_PATTERN.match(entry.name):
            problems.append(f"Skipped {entry.name!r}: it is not a run folder.")
            continue
        try:
            runs.append(read_run(entry))
        except StoreError as error:
            problems.append(f"Skipped run {entry.name}: {error}")
        except Exception as error:  # noqa: BLE001 - a listing must never crash
            log.warning("run %s unreadable: %r", entry.name, error)
            problems.append(
                f"Skipped run {entry.name}: it could not be read "
                f"({type(error).__name__})."
            )
    runs.sort(key=lambda r: r.created, reverse=True)
    return runs, problems


def finished_runs(store: Path | None = None) -> list[RunInfo]:
    """Only runs with a complete model, newest first."""
    return [r for r in list_runs(store)[0] if r.finished]


def find_run(run_id: str, store: Path | None = None) -> RunInfo | None:
    """The run with that id, or None when absent or unreadable."""
    if not RUN_ID_PATTERN.match(run_id or ""):
        return None
    run_dir = Path(store or paths.store_dir()) / run_id
    if not run_dir.is_dir():
        return None
    try:
        return read_run(run_dir)
    except StoreError:
        return None


# ---------------------------------------------------------------- models


def verified_file(run_dir: Path, name: str = MODEL_FILE) -> Path:
    """The path of a finished run's file after checking its sha256 against
    ``summary.json``. Raises :class:`ModelIntegrityError` (one sentence)."""
    run_dir = Path(run_dir)
    summary = read_json_or_none(run_dir / SUMMARY_FILE)
    if not isinstance(summary, dict):
        raise ModelIntegrityError(
            f"Run {run_dir.name} is not finished, so it has no model."
        )
    expected = (summary.get("files") or {}).get(name)
    path = run_dir / name
    if not expected or not path.is_file():
        raise ModelIntegrityError(f"Run {run_dir.name} has no recorded {name}.")
    if sha256_file(path) != expected:
        raise ModelIntegrityError(
            f"{name} of run {run_dir.name} was changed after training "
            "(its checksum does not match), so it is not loaded."
        )
    return path


def load_model(run_dir: Path):
    """The run's Keras model, checksum-verified and loaded in safe mode."""
    path = verified_file(run_dir, MODEL_FILE)
    import keras

    import core.model  # noqa: F401 - registers the custom layer for safe mode

    return keras.saving.load_model(path, safe_mode=True, compile=False)


def load_predictions(run_dir: Path) -> dict[str, Any]:
    """The run's validation predictions: ``pred`` (n,) int class, ``prob``
    (n,) float top probability, ``true`` (n,) int class."""
    import numpy as np

    path = verified_file(run_dir, PREDICTIONS_FILE)
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def delete_run(run_id: str, store: Path | None = None) -> None:
    """Remove a run folder. Refuses anything that is not a run folder directly
    inside the store (no path tricks)."""
    root = Path(store or paths.store_dir()).resolve()
    if not RUN_ID_PATTERN.match(run_id or ""):
        raise StoreError(f"{run_id!r} is not a run id.")
    target = (root / run_id).resolve()
    if target.parent != root or not target.is_dir():
        raise StoreError(f"There is no run {run_id} in the store.")
    shutil.rmtree(target)
    log.info("deleted run %s", run_id)


def data_cache_path(fingerprint: str, store: Path | None = None) -> Path:
    """Where the store keeps one copy of a data set's arrays for child
    processes, named by its fingerprint."""
    safe = re.sub(r"[^0-9A-Za-z_-]", "_", fingerprint)[:80]
    return Path(store or paths.store_dir()) / f"{INTERNAL_PREFIX}data" / f"{safe}.npz"
