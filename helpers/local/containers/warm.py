"""The service's side of the warm image processes: one per image, each forking that image's containers.

Starting Python and importing numpy and xgboost takes most of a small training job's second. A
warm process (:mod:`.forkserver`) has done that once and forks a fresh child per container, so a
container starts in milliseconds on the same contract as a spawned one. The service itself never
forks: it is multi-threaded.

A warm process starts in the background the first time its image is asked for (that container
is spawned as before) and again after it dies; whenever it is not ready, containers are spawned.
``SAGEMAKER_LOCAL_WARM_IMAGES=0`` spawns every container.

OpenMP reads some settings (OMP_WAIT_POLICY, ...) only when it is loaded, so containers that ask
for different ones come from different warm processes, each loaded with its settings.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from helpers.local.containers.forkserver import MAX_MESSAGE
from helpers.local.core.config import warm_images_enabled

if TYPE_CHECKING:
    from helpers.local.containers.processes import ProcessRegistry

log = logging.getLogger("helpers.local")

FORKSERVER_MODULE = "helpers.local.containers.forkserver"
READY_TIMEOUT = 120.0
FORK_TIMEOUT = 30.0
# Read by OpenMP runtimes when they are loaded; OMP_NUM_THREADS is applied in the child instead.
_LOAD_TIME_PREFIXES = ("OMP_", "GOMP_", "KMP_")
_RUN_TIME = ("OMP_NUM_THREADS",)

Settings = tuple[tuple[str, str], ...]


def load_time_settings(env: dict[str, str]) -> Settings:
    """The container's variables that only take effect when OpenMP is loaded."""
    return tuple(
        sorted((k, v) for k, v in env.items() if k.startswith(_LOAD_TIME_PREFIXES) and k not in _RUN_TIME)
    )


class WarmImageLost(RuntimeError):
    """The warm process ended (or stopped answering) before it forked the container."""


class WarmImageFailed(RuntimeError):
    """The warm process could not import its image."""


class ForkedProcess:
    """A container forked by a warm process, with the part of ``subprocess.Popen`` the runner uses.

    Its exit status comes from the warm process, which keeps the child unreaped until ``poll`` or
    ``wait`` has seen the status: while ``poll()`` is None its pid (and process group) is still it.
    """

    def __init__(self, pid: int, args: list[str], output: int, status: int):
        self.pid = pid
        self.args = args
        self.returncode: int | None = None
        self.stdout = io.TextIOWrapper(open(output, "rb"), errors="replace")  # noqa: SIM115 (closed with the pipe)
        self._status = status
        self._ended = threading.Event()
        self._reap: Callable[[], None] | None = None
        self._lock = threading.Lock()
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:
            self._pidfd = None  # already gone and reaped (only when its warm process died)

    def poll(self) -> int | None:
        if not self._ended.is_set():
            return None
        self._release()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout)
        self._release()
        assert self.returncode is not None
        return self.returncode

    def _end(self, code: int, reap: Callable[[], None] | None) -> None:
        with self._lock:
            self.returncode, self._reap = code, reap
        self._ended.set()

    def _release(self) -> None:
        # The status was seen: now the warm process may reap the child and free its pid.
        with self._lock:
            reap, self._reap = self._reap, None
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
            if self._status >= 0:
                os.close(self._status)
                self._status = -1
        if reap is not None:
            reap()

    def watch_as_orphan(self) -> None:
        """Its warm process died: learn the end from the pidfd and the child's own status line."""
        threading.Thread(target=self._wait_as_orphan, name=f"orphan-{self.pid}", daemon=True).start()

    def _wait_as_orphan(self) -> None:
        if self._pidfd is not None:
            select.select([self._pidfd], [], [])
        os.set_blocking(self._status, False)
        try:
            text = os.read(self._status, 4096).decode(errors="replace")
        except (BlockingIOError, OSError):
            text = ""
        codes = [line.split()[1] for line in text.splitlines() if line.startswith("exit ")]
        # Without its "exit" line it was killed; the warm process that knew by what is gone.
        self._end(int(codes[-1]) if codes else -signal.SIGKILL, None)


class _ForkRequest:
    def __init__(self, output: int, status: int, args: list[str]):
        self.output, self.status, self.args = output, status, args
        self.process: ForkedProcess | None = None
        self.error: str | None = None
        self.answered = threading.Event()


class WarmImage:
    """One warm process of one image: started here, it forks containers on request."""

    def __init__(self, module: str, settings: Settings, registry: ProcessRegistry):
        self.module, self.settings = module, settings
        self._registry = registry
        self._lock = threading.Lock()  # one request on the wire at a time keeps answers in order
        self._pending: collections.deque[_ForkRequest] = collections.deque()
        self._children: dict[int, ForkedProcess] = {}
        self.alive = False
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {
            **os.environ,
            **dict(settings),
            # OpenBLAS starts its threads when loaded: loaded with one, it starts none before a fork.
            "OPENBLAS_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        try:
            self.proc = registry.spawn(
                [sys.executable, "-m", FORKSERVER_MODULE, module, str(theirs.fileno())],
                env,
                pass_fds=(theirs.fileno(),),
                line_buffered=False,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._socket = ours
        threading.Thread(target=self._log_output, name=f"warm-{module}-log", daemon=True).start()
        try:
            self._socket.settimeout(READY_TIMEOUT)
            data = self._socket.recv(MAX_MESSAGE)
            self._socket.settimeout(None)
            message = json.loads(data) if data else {"op": "failed", "message": "it exited while importing"}
        except (OSError, ValueError) as exc:
            message = {"op": "failed", "message": repr(exc)}
        if message.get("op") != "ready":
            self._stop_process()
            raise WarmImageFailed(f"the warm process of {module} did not start: {message.get('message')}")
        self.alive = True
        threading.Thread(target=self._read_answers, name=f"warm-{module}", daemon=True).start()

    def fork(self, command: str, cwd: Path, env: dict[str, str]) -> ForkedProcess:
        """A fresh child running ``command`` as a container; WarmImageLost if this process is gone."""
        output_read, output_write = os.pipe()
        status_read, status_write = os.pipe()
        request = _ForkRequest(output_read, status_read, ["forked", self.module, command])
        message = {"op": "fork", "command": command, "cwd": str(cwd), "env": env, "argv0": self.module}
        try:
            with self._lock:
                if not self.alive:
                    raise WarmImageLost(f"the warm process of {self.module} has ended")
                self._pending.append(request)
                try:
                    socket.send_fds(
                        self._socket, [json.dumps(message).encode()], [output_write, status_write]
                    )
                except OSError as exc:
                    self._pending.remove(request)
                    raise WarmImageLost(f"the warm process of {self.module} is gone: {exc}") from exc
        except BaseException:
            for fd in (output_read, status_read):
                os.close(fd)
            raise
        finally:
            os.close(output_write)
            os.close(status_write)
        if not request.answered.wait(FORK_TIMEOUT):
            self._stop_process()  # it hangs: end it, then see below whether the child exists
            request.answered.wait()
        if request.process is not None:
            return request.process
        if request.error is None:
            adopted = self._adopt(request)  # it died with our request: it may have forked the child
            if adopted is not None:
                return adopted
        os.close(output_read)
        os.close(status_read)
        raise WarmImageLost(request.error or f"the warm process of {self.module} ended")

    def _adopt(self, request: _ForkRequest) -> ForkedProcess | None:
        # A child writes its pid first thing; end of file means no child holds the pipe.
        first = b""
        while not first.endswith(b"\n"):
            chunk = os.read(request.status, 1)
            if not chunk:
                return None
            first += chunk
        process = ForkedProcess(int(first), request.args, request.output, request.status)
        process.watch_as_orphan()
        return process

    def _read_answers(self) -> None:
        try:
            while True:
                data = self._socket.recv(MAX_MESSAGE)
                if not data:
                    break
                self._handle(json.loads(data))
        except OSError:
            pass
        finally:
            self._lost()

    def _handle(self, message: dict) -> None:
        op = message["op"]
        if op in ("forked", "error"):
            with self._lock:
                request = self._pending.popleft()
            if op == "forked":
                pid = message["pid"]
                request.process = ForkedProcess(pid, request.args, request.output, request.status)
                with self._lock:
                    self._children[pid] = request.process
            else:
                request.error = message.get("message", "the fork failed")
            request.answered.set()
        elif op == "exited":
            pid = message["pid"]
            with self._lock:
                process = self._children.pop(pid, None)
            if process is not None:
                process._end(message["code"], lambda: self._send({"op": "reap", "pid": pid}))

    def _send(self, message: dict) -> None:
        try:
            with self._lock:
                self._socket.send(json.dumps(message).encode())
        except OSError:
            pass  # it is gone; its zombies go to init, which reaps them

    def _lost(self) -> None:
        with self._lock:
            self.alive = False
            pending, self._pending = list(self._pending), collections.deque()
            orphans, self._children = list(self._children.values()), {}
        for request in pending:
            request.answered.set()
        for process in orphans:
            process.watch_as_orphan()
        self._stop_process()
        self._socket.close()

    @property
    def exit_code(self) -> int | None:
        return self.proc.poll()

    def _stop_process(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._registry.discard(self.proc)

    def _log_output(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            log.info("warm %s process: %s", self.module, line.rstrip())


_WARMING = "warming"
_BROKEN = "broken"


class WarmImages:
    """The warm processes, one per (image, load-time OpenMP settings), started when first needed."""

    def __init__(self, registry: ProcessRegistry):
        self._registry = registry
        self._images: dict[tuple[str, Settings], WarmImage | str] = {}
        self._lock = threading.Lock()
        self._warmed = threading.Condition(self._lock)

    def start(self, module: str, command: str, cwd: Path, env: dict[str, str]) -> ForkedProcess | None:
        """The container forked from its image's warm process, or None: then spawn it."""
        if not warm_images_enabled():
            return None
        key = (module, load_time_settings(env))
        with self._lock:
            image = self._images.get(key)
            if image is None:
                self._warm_in_background(key)
                return None
            if isinstance(image, str):
                return None
            if not image.alive:
                log.warning(
                    "The warm process of %s ended (exit code %s); this container starts in a fresh "
                    "interpreter and the warm process starts again",
                    module,
                    image.exit_code,
                )
                self._warm_in_background(key)
                return None
        try:
            return image.fork(command, cwd, env)
        except WarmImageLost as exc:
            log.warning("%s; this container starts in a fresh interpreter", exc)
            return None

    def warm(self, module: str, env: dict[str, str] | None = None, timeout: float = READY_TIMEOUT) -> bool:
        """Start the warm process for containers with ``env`` (if needed) and wait until it is ready."""
        key = (module, load_time_settings(env if env is not None else dict(os.environ)))
        with self._lock:
            image = self._images.get(key)
            if image is None or (isinstance(image, WarmImage) and not image.alive):
                self._warm_in_background(key)
            self._warmed.wait_for(lambda: self._images.get(key) is not _WARMING, timeout)
            image = self._images.get(key)
            return isinstance(image, WarmImage) and image.alive

    def process(self, module: str, env: dict[str, str] | None = None) -> subprocess.Popen | None:
        """The warm process's own ``Popen``, if it is running."""
        key = (module, load_time_settings(env if env is not None else dict(os.environ)))
        image = self._images.get(key)
        return image.proc if isinstance(image, WarmImage) and image.alive else None

    def _warm_in_background(self, key: tuple[str, Settings]) -> None:
        self._images[key] = _WARMING
        threading.Thread(target=self._start_image, args=(key,), name=f"warm-{key[0]}", daemon=True).start()

    def _start_image(self, key: tuple[str, Settings]) -> None:
        from helpers.local.containers.processes import ServiceStopping

        result: WarmImage | str | None
        try:
            result = WarmImage(key[0], key[1], self._registry)
        except ServiceStopping:
            result = None  # try again once the service runs again
        except Exception as exc:
            log.warning("%s; its containers start in fresh interpreters", exc)
            result = _BROKEN
        with self._lock:
            if result is None:
                self._images.pop(key, None)
            else:
                self._images[key] = result
            self._warmed.notify_all()
