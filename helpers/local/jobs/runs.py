"""The registry of running work: every job run and background task, with one way to stop a job.

A run is registered before its job can be seen (so a Stop right after Create finds it) and leaves
the registry when its thread ends. Stopping is one store update that checks and changes the status
together, so a job that ends at the same moment is never marked Stopping, and then one signal to
the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from helpers.local.jobs.lifecycle import add_transition

STATUS_KEYS = {
    "TrainingJob": "TrainingJobStatus",
    "TransformJob": "TransformJobStatus",
    "HyperParameterTuningJob": "HyperParameterTuningJobStatus",
    "ProcessingJob": "ProcessingJobStatus",
}
END_TIME_KEYS = {
    "TrainingJob": "TrainingEndTime",
    "TransformJob": "TransformEndTime",
    "HyperParameterTuningJob": "HyperParameterTuningEndTime",
    "ProcessingJob": "ProcessingEndTime",
}


class Run(Protocol):
    def run(self) -> None: ...

    def stop(self, reason: str | None = None) -> None: ...


class Meter(Protocol):
    """Told when a job run starts and ends (the cost ledger)."""

    def started(self, kind: str, name: str) -> None: ...

    def ended(self, kind: str, name: str) -> None: ...


class RunRegistry:
    """Job runs by (kind, name), and the threads that carry them and other background work."""

    def __init__(self, meter: Meter | None = None) -> None:
        self.meter = meter
        self._runs: dict[tuple[str, str], Run] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self, kind: str, name: str, run: Run, create: Callable[[], None]) -> None:
        """Register ``run``, call ``create`` (which stores the job), then run it on its own thread.

        If ``create`` raises (a name taken, a limit reached), the run is forgotten and nothing starts.
        ``ResourceInUse`` style errors are the caller's: a second run under a registered name raises
        ``NameInUse`` before ``create`` is called.
        """
        key = (kind, name)
        with self._lock:
            if key in self._runs:
                raise NameInUse(f"A {kind} named {name} is already being created")
            self._runs[key] = run
        try:
            create()
        except BaseException:
            self._forget(key, run)
            raise

        def carry() -> None:
            try:
                if self.meter is not None:
                    self.meter.started(kind, name)
                run.run()
            finally:
                if self.meter is not None:
                    self.meter.ended(kind, name)
                self._forget(key, run)

        self.background(f"{kind}-{name}", carry)

    def get(self, kind: str, name: str) -> Run | None:
        with self._lock:
            return self._runs.get((kind, name))

    def background(self, name: str, target: Callable[[], None]) -> None:
        """Run ``target`` on its own thread, so the API call that asked for it returns at once."""
        thread = threading.Thread(target=target, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def join(self, timeout: float) -> None:
        """Wait, ``timeout`` seconds in all, for the threads still running (the service is stopping)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _forget(self, key: tuple[str, str], run: Run) -> None:
        with self._lock:
            if self._runs.get(key) is run:
                del self._runs[key]


class NameInUse(Exception):
    """Another run is being registered under the same name at this moment."""


def request_stop(
    store: Any, runs: RunRegistry, kind: str, name: str, message: str, reason: str | None = None
) -> str:
    """Move an InProgress job to Stopping and stop its run; returns the status the job had.

    Only an InProgress job is changed, checked inside the same store update. A job no run carries
    any more (its thread ended without ending it) is Stopped at once rather than left Stopping.
    ``message`` is the status message shown for the transition, ``reason`` what the run records
    as the job's end (e.g. an early-stopping rule); both default to a user's stop.
    """
    status_key = STATUS_KEYS[kind]
    run = runs.get(kind, name)
    before: list[str] = []

    def mark_stopping(doc: dict[str, Any]) -> None:
        before.append(doc[status_key])
        if doc[status_key] != "InProgress":
            return
        stopped_at = time.time()
        if run is None:
            doc[status_key] = "Stopped"
            doc[END_TIME_KEYS[kind]] = stopped_at
        else:
            doc[status_key] = "Stopping"
        if kind == "TrainingJob":
            add_transition(doc, doc[status_key], message)
        doc["LastModifiedTime"] = stopped_at

    store.update(kind, name, mark_stopping)
    if before == ["InProgress"] and run is not None:
        run.stop(reason)
    return before[0] if before else "missing"
