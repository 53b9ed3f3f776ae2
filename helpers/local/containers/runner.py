"""Runs algorithm "containers" as local processes on the SageMaker container contract.

A container is an image's ``train`` or ``serve`` command with ``SAGEMAKER_OPT_ML`` pointing at a
folder laid out like ``/opt/ml``, forked from the image's warm process or spawned as
``python -m <image module> train|serve``; or, when a job gives one (``ContainerEntrypoint``), the
job's own command with ``/opt/ml`` mapped to that folder. Its output goes line by line to
``on_line`` (usually a ``logs.LogSink``).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import sys
import threading
import time
from pathlib import Path

from helpers.local.containers.logs import LineHandler
from helpers.local.containers.model_client import ModelAddress, ModelAnswer, ModelConnection
from helpers.local.containers.processes import PROCESSES, terminate
from helpers.local.containers.warm import WarmImages
from helpers.local.images.toolkit.entrypoint import command_environment, local_command
from helpers.local.images.toolkit.serving import INVOCATION_TOKEN_ENV

log = logging.getLogger("helpers.local")


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
CONTAINER_ROOT = "/opt/ml"


def _host_folder_pattern(ml_root: Path) -> re.Pattern[str]:
    """The job folder as a container's output names it (also resolved), not as a longer name's prefix."""
    spellings = sorted({str(ml_root), str(ml_root.resolve())}, key=len, reverse=True)
    return re.compile("(?:" + "|".join(map(re.escape, spellings)) + r")(?![\w.-])")


WARM_IMAGES = WarmImages(PROCESSES)


class Container:
    """One algorithm process; its merged stdout/stderr goes to ``on_line``."""

    def __init__(
        self,
        image_module: str,
        command: str,
        ml_root: Path,
        on_line: LineHandler,
        environment: dict[str, str] | None = None,
        entrypoint: list[str] | None = None,
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
        if entrypoint:
            # The job's own command replaces the image's: nothing of the image is pre-imported for it.
            args, env = local_command(entrypoint, ml_root), command_environment(env)
        else:
            args = [sys.executable, "-m", image_module, command]
        # Forked from the image's warm process when it is ready, else a fresh process.
        warm = None if entrypoint else WARM_IMAGES.start(image_module, command, ml_root, env)
        if warm is not None:
            PROCESSES.add(warm)
            self.proc = warm
        else:
            self.proc = PROCESSES.spawn(args, env, ml_root)
        self._host_folder = _host_folder_pattern(ml_root)
        self._reader = threading.Thread(target=self._pump, args=(on_line,), daemon=True)
        self._reader.start()

    def _pump(self, on_line: LineHandler) -> None:
        # Keep draining whatever happens to a line: a reader that stops leaves the container
        # blocked on a full pipe.
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                # The container sees its folder as /opt/ml, as on AWS: so does its log.
                on_line(self._host_folder.sub(CONTAINER_ROOT, line))
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
        self.load_error = ""  # the image's "ERROR: ..." line, when it could not load the model
        self._on_line = on_line
        self.container = Container(image_module, "serve", ml_root, self._line, env)

    def _line(self, line: str) -> None:
        if line.startswith("ERROR: ") and not self.load_error:
            self.load_error = line.removeprefix("ERROR: ").strip()
        self._on_line(line)

    def wait_until_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.container.running:
                self.container.stop()  # its last output lines are read
                why = f": {self.load_error}" if self.load_error else "; see the container log"
                raise ModelServerError(
                    f"the model server exited with code {self.container.proc.returncode} before "
                    f"answering /ping{why}"
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
