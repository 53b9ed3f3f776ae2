"""The Jupyter server of a notebook instance: JupyterLab as a child process on a loopback port.

Each start gets a free port and a fresh random token, so a URL handed out before a Stop opens
nothing after it. The server's root is the instance's volume; its configuration and runtime files
live beside the volume (not in the user's ``~/.jupyter``), so no personal setting changes it.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import sys
import threading
import time
from pathlib import Path

from helpers.local.containers.logs import LineHandler
from helpers.local.containers.processes import PROCESSES, terminate
from helpers.local.containers.runner import free_port
from helpers.local.core.config import HOST

READY_TIMEOUT_SECONDS = 120.0


class JupyterServerError(Exception):
    """The server exited or never answered; the message says which (with its last output)."""


class JupyterServer:
    def __init__(self, volume: Path, settings: Path, environment: dict[str, str], on_line: LineHandler):
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.volume = volume
        settings.mkdir(parents=True, exist_ok=True)
        env = dict(environment)  # the whole environment: the instance's, not the service's
        env.update(
            JUPYTER_CONFIG_DIR=str(settings / "config"),
            JUPYTER_RUNTIME_DIR=str(settings / "runtime"),
            PYTHONUNBUFFERED="1",
        )
        self._tail: list[str] = []
        self._on_line = on_line
        self.proc = PROCESSES.spawn(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                f"--ServerApp.ip={HOST}",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                f"--ServerApp.root_dir={volume}",
                f"--IdentityProvider.token={self.token}",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ]  # fmt: skip
            # A container or a CI machine may run everything as root; Jupyter refuses that unless told.
            + (["--allow-root"] if os.geteuid() == 0 else []),
            env,
            volume,  # its own process group (spawn): a stop reaches the kernels too
        )
        self._reader = threading.Thread(target=self._pump, name=f"jupyter-{self.port}", daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            # The token is the instance's key: it stays out of the log, as on AWS.
            line = line.replace(self.token, "...")
            self._tail = [*self._tail[-4:], line.rstrip()]
            with contextlib.suppress(Exception):  # never stop draining: a full pipe blocks the server
                self._on_line(line)

    @property
    def url(self) -> str:
        """The address that opens JupyterLab on the volume, signed in."""
        return f"http://{HOST}:{self.port}/lab?token={self.token}"

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def answers(self) -> bool:
        """Whether ``GET /api/status`` with the token answers 200."""
        connection = http.client.HTTPConnection(HOST, self.port, timeout=2)
        try:
            connection.request("GET", "/api/status", headers={"Authorization": f"token {self.token}"})
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def wait_until_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                self._reader.join(2)
                last = " | ".join(self._tail[-3:]) or "no output"
                raise JupyterServerError(
                    f"the Jupyter server exited with code {self.proc.returncode} before answering: {last}"
                )
            if self.answers():
                return
            time.sleep(0.1)
        self.stop()
        raise JupyterServerError(f"the Jupyter server did not answer within {timeout:.0f} s")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Jupyter then shuts its kernels down), SIGKILL after ``timeout``."""
        terminate(self.proc, timeout)
        self._reader.join(2)
