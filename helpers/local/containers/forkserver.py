"""The warm process of one algorithm image: imported once, it forks a fresh child per container.

``python -m helpers.local.containers.forkserver <image module> <control fd>`` imports what a
container of the image imports (its ``import_runtime()`` hook first, then its ``train`` and
``serve`` modules and the libraries they load on first use), says ``ready`` on the control
socket, and then forks one child per ``fork`` request. The child becomes the container: its own
session and process group, the stdout/stderr pipe it was sent (SCM_RIGHTS), the container's
folder as cwd, the container's environment as ``os.environ``, and its thread share applied with
threadpoolctl, since OpenMP and OpenBLAS read their environment only when they are loaded.

No thread may exist here when forking, so OpenBLAS is loaded with one thread and no OpenMP
parallel region ever runs in this process. This process stays single threaded: one selector
waits for control messages and for children to end (a pidfd each).

Messages are JSON, one per SOCK_SEQPACKET datagram:

* ``{"op": "fork", "command", "cwd", "env", "argv0"}`` with two fds: the container's output pipe
  and its status pipe; answered ``{"op": "forked", "pid"}`` or ``{"op": "error", "message"}``.
* ``{"op": "exited", "pid", "code"}`` when a child ends (a negative code is the signal that
  ended it). The child stays a zombie, so its pid cannot be reused, until the service answers
  ``{"op": "reap", "pid"}``: the service never signals a pid that is not its container.

The status pipe carries ``<pid>`` when the child starts and ``exit <code>`` before it exits; the
service reads it only if this process dies while the child runs.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import traceback
from typing import Any

MAX_MESSAGE = 1 << 20
# Libraries a container loads on first use; importing them here saves every container that time.
WARM_LIBRARIES = ("numpy", "pandas", "uvicorn", "threadpoolctl", "helpers.local.images.toolkit.serving")


def preload(image_module: str) -> None:
    """Import what a container of ``image_module`` imports, in the order its ``__main__`` does."""
    package = importlib.import_module(image_module)
    hook = getattr(package, "import_runtime", None)
    if hook is not None:
        hook()  # e.g. xgboost without scikit-learn, exactly as the image's __main__ imports it
    for name in (f"{image_module}.train", f"{image_module}.serve", *WARM_LIBRARIES):
        importlib.import_module(name)
    global _THREAD_POOLS
    from threadpoolctl import ThreadpoolController

    # Finding the loaded OpenMP/BLAS libraries takes ~40 ms: once here rather than in every child.
    # (A library a child loads later reads the child's environment itself.)
    _THREAD_POOLS = ThreadpoolController()


_THREAD_POOLS: Any = None


def send(control: socket.socket, message: dict[str, Any]) -> None:
    control.send(json.dumps(message).encode())


class ForkServer:
    def __init__(self, image_module: str, control: socket.socket):
        self.image_module = image_module
        self.control = control
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ, None)
        self.children: dict[int, int] = {}  # pid -> pidfd, until reaped

    def serve(self) -> None:
        """Answer requests until the service closes the control socket (or dies)."""
        while True:
            for key, _ in self.selector.select():
                if key.data is None:
                    if not self._handle_request():
                        return
                else:
                    self._report_exit(key.data)

    def _handle_request(self) -> bool:
        try:
            data, fds, _, _ = socket.recv_fds(self.control, MAX_MESSAGE, 2)
        except OSError:
            return False
        if not data:
            for fd in fds:
                os.close(fd)
            return False
        message = json.loads(data)
        if message["op"] == "fork":
            self._fork(message, fds)
        elif message["op"] == "reap":
            pidfd = self.children.pop(message["pid"], None)
            if pidfd is not None:
                os.waitpid(message["pid"], 0)
                os.close(pidfd)
        return True

    def _fork(self, request: dict[str, Any], fds: list[int]) -> None:
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            send(self.control, {"op": "error", "message": "a fork request needs its output and status fds"})
            return
        output, status = fds
        sys.stdout.flush()
        sys.stderr.flush()
        grouped, in_group = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 70  # EX_SOFTWARE, should the container not even start
            try:
                self._become_child()
                os.close(grouped)
                code = run_container(self.image_module, request, output, status, in_group)
            finally:
                os._exit(code)
        os.close(in_group)
        os.close(output)
        os.close(status)
        # Answer once the child leads its own group: a signal to this process's group must not reach it.
        os.read(grouped, 1)
        os.close(grouped)
        pidfd = os.pidfd_open(pid)
        self.children[pid] = pidfd
        self.selector.register(pidfd, selectors.EVENT_READ, pid)
        send(self.control, {"op": "forked", "pid": pid})

    def _become_child(self) -> None:
        # Closing the selector closes only this process's epoll fd: the parent's registrations stay.
        self.selector.close()
        self.control.close()
        for pidfd in self.children.values():
            os.close(pidfd)

    def _report_exit(self, pid: int) -> None:
        # WNOWAIT: read the status but leave the zombie, so the pid stays this child's until "reap".
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        if info is None:
            return
        self.selector.unregister(self.children[pid])
        code = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
        send(self.control, {"op": "exited", "pid": pid, "code": code})


def run_container(image_module: str, request: dict[str, Any], output: int, status: int, in_group: int) -> int:
    """In the forked child: take on the container's contract, run the image, return the exit code."""
    os.write(status, f"{os.getpid()}\n".encode())
    os.setsid()  # its own process group, so killpg reaches it and whatever it starts
    os.close(in_group)  # tells the warm process so
    _restore_signals()
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [request["argv0"], request["command"]]
    apply_thread_share(os.environ)
    _reseed_numpy()
    code = _run_main(image_module, request["command"])
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.write(status, f"exit {code}\n".encode())
    return code


def _run_main(image_module: str, command: str) -> int:
    from helpers.local.images.toolkit.container import exit_code_of, main

    try:
        main(image_module, [command])
    except SystemExit as exc:
        return exit_code_of(exc)  # the same codes the interpreter would exit with
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _restore_signals() -> None:
    """The signal dispositions a fresh interpreter starts with."""
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)


def thread_count(value: str | None) -> int | None:
    """The first number of an OMP_NUM_THREADS-style value ("4" or "4,2"), None if there is none."""
    try:
        count = int((value or "").split(",", 1)[0])
    except ValueError:
        return None
    return count if count > 0 else None


def apply_thread_share(env: os._Environ | dict[str, str]) -> None:
    """Give OpenMP and BLAS the thread counts the container's environment asks for.

    A fresh interpreter's libraries would read OMP_NUM_THREADS / OPENBLAS_NUM_THREADS when loaded;
    here they are loaded already, so the same counts are set through their runtime calls.
    """
    from threadpoolctl import ThreadpoolController

    pools = _THREAD_POOLS or ThreadpoolController()
    openmp = thread_count(env.get("OMP_NUM_THREADS")) or os.cpu_count() or 1
    # OpenBLAS falls back to OMP_NUM_THREADS, as it does when it is loaded.
    blas = thread_count(env.get("OPENBLAS_NUM_THREADS")) or openmp
    pools.limit(limits=openmp, user_api="openmp")
    pools.limit(limits=blas, user_api="blas")


def _reseed_numpy() -> None:
    # Python's random reseeds itself in a forked child; numpy's global generator does not, and
    # every container would otherwise draw the same "random" numbers.
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def main(argv: list[str]) -> None:
    image_module, control_fd = argv[0], int(argv[1])
    control = socket.socket(fileno=control_fd)
    try:
        preload(image_module)
    except BaseException as exc:
        send(control, {"op": "failed", "message": f"{type(exc).__name__}: {exc}"})
        raise
    gc.collect()
    gc.freeze()  # what the imports built stays in shared pages instead of being copied per child
    send(control, {"op": "ready", "pid": os.getpid()})
    ForkServer(image_module, control).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
