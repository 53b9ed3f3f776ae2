"""Runs algorithm "containers" as local processes on the SageMaker container contract.

A container is ``python -m <image module> train|serve`` with ``SAGEMAKER_OPT_ML`` pointing at a
folder laid out like ``/opt/ml``. Its output goes line by line to CloudWatch Logs, with tabs shown
as ``#011`` exactly as the real log driver does (metric regexes depend on that).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from helpers.local.aws import backends as moto_backends
from helpers.local.containers.model_client import ModelAddress, ModelAnswer, ModelConnection
from helpers.local.containers.process_ledger import ChildLedger
from helpers.local.containers.warm import WarmImages
from helpers.local.images.toolkit.serving import INVOCATION_TOKEN_ENV

log = logging.getLogger("helpers.local")

LineHandler = Callable[[str], None]


class LogSink:
    """Ships container output to one CloudWatch log stream in batches, keeping only a short tail.

    Each line goes once to ``on_line`` (e.g. a job's metric scrapers) and into the next batch for
    ``put_log_lines``. A batch is sent when it is full, when ``close`` is called, and otherwise
    within ``FLUSH_SECONDS`` by one shared flusher thread, so ``fit(logs=True)`` still sees lines
    as they come. Nothing keeps the whole log: a job that prints a million lines holds
    ``TAIL_LINES`` of them.
    """

    BATCH_LINES = 1000  # well under CloudWatch's 10,000 events per PutLogEvents
    FLUSH_SECONDS = 0.2
    TAIL_LINES = 20

    def __init__(self, region: str, group: str, stream: str, on_line: LineHandler | None = None):
        self.region, self.group, self.stream = region, group, stream
        self.on_line = on_line
        self.lines_written = 0
        self._tail: collections.deque[str] = collections.deque(maxlen=self.TAIL_LINES)
        self._batch: list[str] = []
        self._idle_rounds = 0
        self._with_flusher = False
        # Lock order: a sink's lock, then the flusher's.
        self._lock = threading.Lock()
        moto_backends.ensure_log_stream(region, group, stream)

    def write(self, line: str) -> None:
        message = line.rstrip("\n").replace("\t", "#011")
        if self.on_line is not None:
            self.on_line(message)
        with self._lock:
            self._batch.append(message)
            self._tail.append(message)
            self.lines_written += 1
            if len(self._batch) >= self.BATCH_LINES:
                self._send()
            elif not self._with_flusher:
                self._with_flusher = True
                _FLUSHER.add(self)

    def flush(self) -> None:
        with self._lock:
            self._send()

    def close(self) -> None:
        """Send what is left; the sink can still be written to (it then flushes on its own again)."""
        with self._lock:
            self._send()
            self._leave_flusher()

    def tail(self, count: int = 3) -> list[str]:
        """The last ``count`` lines (at most ``TAIL_LINES``), for failure messages."""
        with self._lock:
            return list(self._tail)[-count:]

    def _send(self) -> None:
        if not self._batch:
            return
        batch, self._batch = self._batch, []
        try:
            moto_backends.put_log_lines(self.region, self.group, self.stream, batch)
        except Exception:
            # The group or stream was deleted under the job: make it again, as the log agent does.
            try:
                moto_backends.ensure_log_stream(self.region, self.group, self.stream)
                moto_backends.put_log_lines(self.region, self.group, self.stream, batch)
            except Exception:
                log.exception("%d log lines for %s/%s were dropped", len(batch), self.group, self.stream)

    def _leave_flusher(self) -> None:
        if self._with_flusher:
            self._with_flusher = False
            _FLUSHER.discard(self)

    def _flush_from_flusher(self) -> None:
        with self._lock:
            if self._batch:
                self._idle_rounds = 0
                self._send()
            else:
                self._idle_rounds += 1
                if self._idle_rounds >= _LogFlusher.IDLE_ROUNDS:
                    self._leave_flusher()  # a quiet sink stops costing the flusher anything


class _LogFlusher:
    """One thread for every sink with lines waiting: sends them every ``LogSink.FLUSH_SECONDS``."""

    IDLE_ROUNDS = 50  # rounds without lines before a sink leaves the flusher

    def __init__(self) -> None:
        self._sinks: set[LogSink] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, sink: LogSink) -> None:
        with self._lock:
            self._sinks.add(sink)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="log-flusher", daemon=True)
                self._thread.start()

    def discard(self, sink: LogSink) -> None:
        with self._lock:
            self._sinks.discard(sink)

    def _run(self) -> None:
        while True:
            time.sleep(LogSink.FLUSH_SECONDS)
            with self._lock:
                sinks = list(self._sinks)
            for sink in sinks:
                try:
                    sink._flush_from_flusher()
                except Exception:  # a log store hiccup must not end flushing for every job
                    log.exception("Sending log lines to %s failed", sink.stream)


_FLUSHER = _LogFlusher()


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


class CpuShare:
    """Splits the machine's cores between the training containers running at the same time.

    On AWS each job has its own instance; here they share one machine, and an algorithm that
    starts one thread per core in each of several processes spends its time fighting for them
    (two parallel Boston jobs took longer than the same two in a row). A container started while
    others run gets ``cores // running`` threads through OMP_NUM_THREADS.
    """

    def __init__(self) -> None:
        self.cores = os.cpu_count() or 1
        self.running = 0
        self._lock = threading.Lock()

    def acquire(self) -> int:
        with self._lock:
            self.running += 1
            return max(1, self.cores // self.running)

    def release(self) -> None:
        with self._lock:
            self.running -= 1


CPU_SHARE = CpuShare()
WARM_IMAGES = WarmImages(PROCESSES)


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


class Container:
    """One algorithm process; its merged stdout/stderr goes to ``on_line``."""

    def __init__(
        self,
        image_module: str,
        command: str,
        ml_root: Path,
        on_line: LineHandler,
        environment: dict[str, str] | None = None,
    ):
        env = dict(os.environ)
        self._shares_cpu = command == "train"
        if self._shares_cpu:
            threads = CPU_SHARE.acquire()
            env["OMP_NUM_THREADS"] = str(threads)
            if 1 < threads < CPU_SHARE.cores:
                # Idle threads sleep instead of spinning on a shared core. A container alone keeps
                # the default: waking sleeping threads costs ~20% on a Boston-sized job. One thread
                # has no team to wait for, so it keeps the default too (and the same warm process).
                env["OMP_WAIT_POLICY"] = "PASSIVE"
        env.update(environment or {})
        env["SAGEMAKER_OPT_ML"] = str(ml_root)
        env["PYTHONUNBUFFERED"] = "1"
        self.started = time.time()
        # Forked from the image's warm process when it is ready, else a fresh interpreter.
        self.proc = WARM_IMAGES.start(image_module, command, ml_root, env) or subprocess.Popen(
            [sys.executable, "-m", image_module, command],
            cwd=ml_root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",  # a container's bytes are its own business: never stop reading them
            bufsize=1,
            start_new_session=True,  # its own process group, so terminate() reaches its children
        )
        PROCESSES.add(self.proc)
        self._reader = threading.Thread(target=self._pump, args=(on_line,), daemon=True)
        self._reader.start()

    def _pump(self, on_line: LineHandler) -> None:
        # Keep draining whatever happens to a line: a reader that stops leaves the container
        # blocked on a full pipe.
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                on_line(line)
            except Exception:
                log.exception("container output line could not be handled")

    def wait(self) -> int:
        code = self.proc.wait()
        self._reader.join()
        PROCESSES.discard(self.proc)
        self._release_cpu()
        return code

    def _release_cpu(self) -> None:
        if self._shares_cpu:
            self._shares_cpu = False
            CPU_SHARE.release()

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        terminate(self.proc, timeout)
        self._reader.join(timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ModelServerError(Exception):
    pass


class ModelServer:
    """A ``serve`` container answering ``/ping`` and ``/invocations`` on its own port."""

    def __init__(
        self,
        image_module: str,
        ml_root: Path,
        on_line: LineHandler,
        environment: dict[str, str] | None = None,
    ):
        self.port = free_port()
        self.address = ModelAddress(self.port, secrets.token_hex(16))
        self.connection = ModelConnection(self.address)
        env = dict(environment or {})
        env["SAGEMAKER_BIND_TO_PORT"] = str(self.port)
        env[INVOCATION_TOKEN_ENV] = self.address.token
        self.container = Container(image_module, "serve", ml_root, on_line, env)

    def wait_until_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.container.running:
                raise ModelServerError(
                    f"the model server exited with code {self.container.proc.returncode} before "
                    "answering /ping; see the container log"
                )
            try:
                if self.connection.ping():
                    return
            except OSError:  # ModelUnreachable / ModelTimeout: not up yet
                pass
            time.sleep(0.02)
        raise ModelServerError(f"the model server did not answer /ping within {timeout:.0f} s")

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> ModelAnswer:
        """One ``/invocations`` request from the calling thread (batch transform)."""
        headers = {"content-type": content_type}
        if accept:
            headers["accept"] = accept
        return self.connection.invoke(body, headers)

    def stop(self) -> None:
        self.container.stop()
