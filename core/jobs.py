"""The job manager: one per server, shared by every browser session. It
deduplicates launches by run id, queues them (one training at a time by
default), runs each in a child process, cancels, and resumes.

Each training runs as ``python -m core.train --run-dir <run folder>`` in its
own process, so a crash or a SIGKILL of the child takes no page down and its
memory (TensorFlow, the model, the graph) returns to the system when it ends.
The child writes everything into its run folder (see ``core.store``); the
manager keeps only which run ids are queued or running and the child process
handles. Pages read progress from the run folder, never from this object's
threads, so nothing here touches Streamlit.

After a server restart a new manager knows no jobs: a run folder with
progress but no summary and no live process is listed by the store as
interrupted, and :meth:`JobManager.resume` continues it from its checkpoint.

Who may cancel whose training is decided by the caller (``core.access``);
this module only records each job's owner and checks the flag it is given.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core import paths, store
from core.config import TrainConfig, run_id

log = logging.getLogger(__name__)

# How long a child gets to stop by itself after a cancel before it is killed.
CANCEL_GRACE_S = 20.0
POLL_S = 0.2
# Exit status of ``python -m core.train`` when it stopped for a cancel.
EXIT_CANCELLED = 3


class JobRejected(ValueError):
    """A launch outside the server's bounds; the message is one sentence."""


class NotAllowed(PermissionError):
    """A participant acting on someone else's job; one sentence."""


@dataclass(frozen=True)
class Limits:
    """What anyone may launch on this server (environment variables override
    the defaults so a workshop host can tighten or widen them)."""

    max_epochs: int = 50
    max_batch_size: int = 1024
    max_queue: int = 8  # queued jobs, not counting the running ones
    max_running: int = 1  # trainings at the same time (the machine has few cores)

    @classmethod
    def from_env(cls) -> Limits:
        def read(name: str, default: int) -> int:
            try:
                return max(1, int(os.environ.get(name, default)))
            except ValueError:
                return default

        d = cls()
        return cls(
            max_epochs=read("ASL_MAX_EPOCHS", d.max_epochs),
            max_batch_size=read("ASL_MAX_BATCH_SIZE", d.max_batch_size),
            max_queue=read("ASL_MAX_QUEUE", d.max_queue),
            max_running=read("ASL_MAX_TRAININGS", d.max_running),
        )

    def check(self, config: TrainConfig) -> None:
        if not 1 <= config.epochs <= self.max_epochs:
            raise JobRejected(
                f"Epochs must be between 1 and {self.max_epochs} on this server."
            )
        if not 1 <= config.batch_size <= self.max_batch_size:
            raise JobRejected(
                f"Batch size must be between 1 and {self.max_batch_size} on this "
                "server."
            )


@dataclass
class Job:
    """A training the manager queued or runs. ``state`` is one of
    ``core.store.STATES``."""

    run_id: str
    run_dir: Path
    config: TrainConfig
    owner: str
    state: str = store.QUEUED
    resume: bool = False
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    message: str = ""
    process: subprocess.Popen | None = field(default=None, repr=False)
    cancel_sent: float | None = None

    @property
    def active(self) -> bool:
        return self.state in (store.QUEUED, store.RUNNING)


@dataclass(frozen=True)
class Submitted:
    """What a launch did: ``outcome`` is ``cached`` (a finished run, returned
    at once), ``attached`` (the same training is already queued or running),
    ``queued`` or ``resumed`` (continues an interrupted run's checkpoint)."""

    job: Job
    outcome: str


def save_data_copy(dataset: Any, store_root: Path) -> Path:
    """Write the arrays a child needs to the store once per fingerprint.

    ``dataset``: anything with ``train_x`` ``(n, 28, 28)`` uint8, ``train_y``
    ``(n,)`` int, ``valid_x``, ``valid_y`` and ``fingerprint``
    (``core.data.Dataset``)."""
    path = store.data_cache_path(dataset.fingerprint, store_root)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = store.temp_path_for(path)
    with open(tmp, "wb") as handle:
        np.savez(
            handle,
            train_x=np.asarray(dataset.train_x, np.uint8),
            train_y=np.asarray(dataset.train_y, np.int64),
            valid_x=np.asarray(dataset.valid_x, np.uint8),
            valid_y=np.asarray(dataset.valid_y, np.int64),
            fingerprint=np.asarray(dataset.fingerprint),
        )
    os.replace(tmp, path)
    return path


class JobManager:
    """Queue, run, cancel and resume trainings; safe to call from any thread."""

    def __init__(
        self,
        store_root: Path | None = None,
        limits: Limits | None = None,
        python: str = sys.executable,
    ) -> None:
        self.store_root = Path(store_root or paths.store_dir())
        self.limits = limits or Limits.from_env()
        self.python = python
        self._lock = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._queue: deque[str] = deque()
        self._closed = False
        self._thread = threading.Thread(
            target=self._supervise, name="training-supervisor", daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------ launching

    def submit(self, config: TrainConfig, dataset: Any, owner: str) -> Submitted:
        """Launch ``config`` on ``dataset`` for ``owner`` (a session id), or
        return the same run when it is cached, queued or running."""
        from core.train import canonical

        config = canonical(config)
        self.limits.check(config)
        rid = run_id(config, dataset.fingerprint)
        with self._lock:
            job = self._jobs.get(rid)
            if job is not None and job.active:
                return Submitted(job, "attached")
            info = store.find_run(rid, self.store_root)
            if info is not None and info.status == store.FINISHED:
                job = Job(rid, info.path, config, info.owner, state=store.FINISHED)
                return Submitted(job, "cached")
            if info is not None and info.status == store.RUNNING:
                # Started by another server or the command line: watch it.
                job = Job(rid, info.path, config, info.owner, state=store.RUNNING)
                self._jobs[rid] = job
                self._lock.notify_all()  # the supervisor watches it from now on
                return Submitted(job, "attached")
            self._check_queue_room()
            data_path = save_data_copy(dataset, self.store_root)
            run_dir = store.create_run(
                config,
                dataset.fingerprint,
                store=self.store_root,
                owner=owner,
                data={"npz": str(data_path)},
            )
            resume = info is not None and info.resumable
            return Submitted(
                self._enqueue(rid, run_dir, config, owner, resume),
                "resumed" if resume else "queued",
            )

    def resume(self, rid: str, owner: str) -> Submitted:
        """Continue an interrupted, cancelled or failed run from its
        checkpoint (after a server restart, for example)."""
        with self._lock:
            job = self._jobs.get(rid)
            if job is not None and job.active:
                return Submitted(job, "attached")
            info = store.find_run(rid, self.store_root)
            if info is None or info.config is None:
                raise JobRejected(f"There is no run {rid} in the store.")
            if info.status == store.FINISHED:
                return Submitted(
                    Job(rid, info.path, info.config, info.owner, state=store.FINISHED),
                    "cached",
                )
            if info.status == store.RUNNING:
                raise JobRejected(f"Run {rid} is already training.")
            meta = store.read_json_or_none(info.path / store.CONFIG_FILE) or {}
            data = meta.get("data") or {}
            if not (data.get("npz") and Path(data["npz"]).exists()) and not data.get(
                "folder"
            ):
                raise JobRejected(
                    f"Run {rid} cannot be resumed: its data copy is gone; launch it "
                    "again from the training page."
                )
            self._check_queue_room()
            job = self._enqueue(
                rid, info.path, info.config, info.owner or owner, info.resumable
            )
            return Submitted(job, "resumed" if job.resume else "queued")

    def _check_queue_room(self) -> None:
        if len(self._queue) >= self.limits.max_queue:
            raise JobRejected(
                f"The queue is full ({self.limits.max_queue} trainings waiting); "
                "try again when one has finished."
            )

    def _enqueue(self, rid, run_dir, config, owner, resume) -> Job:
        store.clear_ended(run_dir)
        job = Job(rid, run_dir, config, owner, resume=resume)
        self._jobs[rid] = job
        self._queue.append(rid)
        log.info("queued run %s for %s (resume=%s)", rid, owner or "?", resume)
        self._lock.notify_all()
        return job

    # ------------------------------------------------------------ cancelling

    def cancel(self, rid: str, requester: str, instructor: bool = False) -> Job | None:
        """Stop a queued or running job. A participant may cancel only their
        own; ``instructor`` may cancel any. Returns the job, or None when
        nothing was active under that id."""
        with self._lock:
            job = self._jobs.get(rid)
            if job is None:
                info = store.find_run(rid, self.store_root)
                if info is None or info.status != store.RUNNING:
                    return None
                # A training this manager did not start (another server, CLI).
                job = Job(rid, info.path, info.config, info.owner, state=store.RUNNING)
            if not job.active:
                return job
            if not instructor and job.owner != requester:
                raise NotAllowed(
                    "Only the person who started this training, or the instructor, "
                    "can cancel it."
                )
            if job.state == store.QUEUED:
                self._queue.remove(rid)
                job.state = store.CANCELLED
                job.ended = time.time()
                store.mark_ended(job.run_dir, store.CANCELLED, "cancelled while queued")
            else:
                store.request_cancel(job.run_dir)
                job.cancel_sent = time.time()
            self._lock.notify_all()
            return job

    # ------------------------------------------------------------ looking

    def jobs(self) -> list[Job]:
        """Running first, then the queue in order, then ended jobs, newest first."""
        with self._lock:
            running = [j for j in self._jobs.values() if j.state == store.RUNNING]
            queued = [self._jobs[r] for r in self._queue]
            ended = sorted(
                (j for j in self._jobs.values() if not j.active),
                key=lambda j: j.ended or 0,
                reverse=True,
            )
            return running + queued + ended

    def queue(self) -> list[Job]:
        with self._lock:
            return [self._jobs[r] for r in self._queue]

    def get(self, rid: str) -> Job | None:
        with self._lock:
            return self._jobs.get(rid)

    def position(self, rid: str) -> int | None:
        """1-based place in the queue, or None when not queued."""
        with self._lock:
            try:
                return list(self._queue).index(rid) + 1
            except ValueError:
                return None

    # ------------------------------------------------------------ supervising

    def _start(self, job: Job) -> None:
        command = [
            self.python,
            "-m",
            "core.train",
            "--run-dir",
            str(job.run_dir),
            "--quiet",
        ]
        if job.resume:
            command.append("--resume")
        env = dict(os.environ, ASL_STORE_DIR=str(self.store_root))
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        log_file = open(job.run_dir / "train.log", "ab")
        try:
            job.process = subprocess.Popen(
                command,
                cwd=paths.PROJECT_ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C of the server does not hit it
            )
        finally:
            log_file.close()
        job.state = store.RUNNING
        job.started = time.time()
        log.info("started run %s as pid %d", job.run_id, job.process.pid)

    def _reap(self, job: Job, code: int) -> None:
        job.ended = time.time()
        job.process = None
        try:
            info = store.read_run(job.run_dir)
        except store.StoreError as error:
            job.state, job.message = store.FAILED, str(error)
            return
        if info.status == store.FINISHED:
            job.state = store.FINISHED
        elif code == EXIT_CANCELLED or job.cancel_sent is not None:
            job.state = store.CANCELLED
            if info.status != store.CANCELLED:
                store.mark_ended(job.run_dir, store.CANCELLED, "cancelled")
        elif info.status == store.FAILED:
            job.state = store.FAILED
            job.message = info.message or _last_log_line(job.run_dir)
        else:
            # Killed from outside (SIGKILL, out of memory): resumable.
            job.state = store.INTERRUPTED
            job.message = f"the training process ended with status {code}"
        log.info("run %s ended: %s %s", job.run_id, job.state, job.message)

    def _supervise(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                running = [
                    j
                    for j in self._jobs.values()
                    if j.state == store.RUNNING and j.process is not None
                ]
                for job in running:
                    code = job.process.poll()
                    if code is not None:
                        self._reap(job, code)
                    elif (
                        job.cancel_sent
                        and time.time() - job.cancel_sent > CANCEL_GRACE_S
                    ):
                        job.process.kill()
                watched = [
                    j
                    for j in self._jobs.values()
                    if j.state == store.RUNNING and j.process is None
                ]
                for job in watched:  # trainings of another process
                    info = store.find_run(job.run_id, self.store_root)
                    if info is None or info.status != store.RUNNING:
                        job.state = info.status if info else store.FAILED
                        job.ended = time.time()
                busy = sum(1 for j in self._jobs.values() if j.state == store.RUNNING)
                while self._queue and busy < self.limits.max_running:
                    job = self._jobs[self._queue.popleft()]
                    try:
                        self._start(job)
                        busy += 1
                    except OSError as error:
                        job.state, job.message = store.FAILED, str(error)
                        store.mark_ended(job.run_dir, store.FAILED, str(error))
                # Idle (nothing running or queued): sleep until a submit,
                # resume, cancel or close notifies, instead of polling.
                busy = any(j.state == store.RUNNING for j in self._jobs.values())
                self._lock.wait(POLL_S if busy or self._queue else None)

    def kill(self, rid: str) -> None:
        """SIGKILL a job's child process (tests use this to simulate a crash)."""
        with self._lock:
            job = self._jobs.get(rid)
            if job is not None and job.process is not None:
                os.kill(job.process.pid, signal.SIGKILL)

    def wait(self, rid: str, timeout: float = 120.0) -> Job:
        """Block until the job is no longer queued or running (for tests and
        the command line; pages poll instead)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            job = self.get(rid)
            if job is None or not job.active:
                return job
            time.sleep(POLL_S)
        raise TimeoutError(f"run {rid} still {self.get(rid).state} after {timeout} s")

    def close(self) -> None:
        """Stop supervising and kill any child (tests; a server just exits)."""
        with self._lock:
            self._closed = True
            for job in self._jobs.values():
                if job.process is not None and job.process.poll() is None:
                    job.process.kill()
                    job.process.wait()
            self._lock.notify_all()
        self._thread.join(timeout=5)


def _last_log_line(run_dir: Path) -> str:
    try:
        lines = (run_dir / "train.log").read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][-300:] if lines else ""
