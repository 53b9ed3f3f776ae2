"""Every process the service started, so stopping the service (or a crash of it) leaves no orphan."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time

from helpers.local.containers.process_ledger import ChildLedger


class ProcessRegistry:
    """Every process the service started, so stopping the service leaves no orphans.

    With a ledger (set by the service at start-up) each process is also recorded in the state
    folder until it is reaped, so the next start can stop what a killed service left running.
    """

    def __init__(self) -> None:
        self._procs: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._ledger: ChildLedger | None = None
        self._closed = False

    def track_in(self, ledger: ChildLedger | None) -> None:
        """Record processes in ``ledger`` from now on (a service starting up opens the registry)."""
        with self._lock:
            self._ledger = ledger
            self._closed = False

    def add(self, proc: subprocess.Popen) -> None:
        with self._lock:
            if not self._closed:
                self._procs.add(proc)
                if self._ledger is not None:
                    self._ledger.record(proc.pid, [str(arg) for arg in proc.args])
                return
        # The service is stopping: a job thread that was still preparing must not leave a process.
        _signal_group(proc, signal.SIGKILL)
        proc.wait()
        raise ServiceStopping("the local service is stopping; no new containers start")

    def spawn(
        self,
        args: list[str],
        env: dict[str, str],
        cwd: str | os.PathLike | None = None,
        pass_fds: tuple[int, ...] = (),
        line_buffered: bool = True,
    ) -> subprocess.Popen:
        """Start a child as every child of the service starts, and record it (``add``).

        Its own session and process group, so a stop reaches whatever it starts; no stdin; stdout and
        stderr as one stream of text lines, undecodable bytes replaced: a child's output is its own
        business, and reading it must never stop.
        """
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            pass_fds=pass_fds,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1 if line_buffered else -1,
            start_new_session=True,
        )
        self.add(proc)
        return proc

    def discard(self, proc: subprocess.Popen) -> None:
        """Forget a process; call it only once the process has been reaped (its pid is free then)."""
        with self._lock:
            if proc not in self._procs:
                return
            self._procs.discard(proc)
            if self._ledger is not None:
                self._ledger.forget(proc.pid)

    def stop_all(self, timeout: float = 5.0) -> None:
        """Stop every process and refuse new ones: SIGTERM to all, one shared grace, then SIGKILL."""
        with self._lock:
            self._closed = True
            procs = list(self._procs)
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            terminate(proc, max(0.0, deadline - time.monotonic()))


class ServiceStopping(RuntimeError):
    """A container was asked for while the service shuts down."""


PROCESSES = ProcessRegistry()


def _signal_group(proc: subprocess.Popen, signum: int) -> None:
    # Only while the leader is unreaped is its pid (the group id) still ours to signal.
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signum)


def terminate(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        proc.wait()
    PROCESSES.discard(proc)
