"""The client side of the service process: start it in the background, stop it, ask its health.

Used by ``python -m helpers.local start|stop|status`` and by ``helpers.connect()``, in processes
that only talk to the service: it imports the core settings and the standard library, nothing of
the service itself (``server.py`` runs that).
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from helpers.local.core.config import ServiceConfig
from helpers.local.core.credentials import ensure_private_folder, health_proof
from helpers.local.core.health import HEALTH_PATH, HEALTH_SERVICE_NAME
from helpers.local.core.processes import is_same_process, process_start_time
from helpers.local.core.version import code_fingerprint


class ServiceStartError(RuntimeError):
    pass


def health(config: ServiceConfig, timeout: float = 0.5) -> dict[str, Any] | None:
    """The health document of the service on the port, or None if none answers.

    ``trusted`` says whether it proved it holds this state folder's secret: anything else on the
    port (another folder's service, another user's) must not receive this folder's requests.
    """
    challenge = secrets.token_hex(16)
    try:
        with urllib.request.urlopen(
            f"{config.url}{HEALTH_PATH}?challenge={challenge}", timeout=timeout
        ) as response:
            data = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    if not isinstance(data, dict) or data.get("service") != HEALTH_SERVICE_NAME:
        return None
    credentials = config.existing_credentials()
    expected = health_proof(credentials, challenge) if credentials else ""
    data["trusted"] = bool(expected) and hmac.compare_digest(str(data.get("proof") or ""), expected)
    return data


USAGE_PATH = "/_local/usage"


def usage(config: ServiceConfig, lesson: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
    """The service's cost report (``api/costs.py``) for the whole state folder or one ``lesson``.

    Signed with the state folder's own credentials, like every request the service answers; an
    ``OSError`` if no trusted service answers.
    """
    from urllib.parse import urlencode

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    credentials = config.existing_credentials()
    if credentials is None:
        raise OSError(f"no service credentials in {config.state_dir}")
    query = f"?{urlencode({'lesson': lesson})}" if lesson else ""
    request = AWSRequest(method="GET", url=f"{config.url}{USAGE_PATH}{query}")
    signer = Credentials(credentials.access_key_id, credentials.secret_access_key)
    SigV4Auth(signer, "sagemaker", config.region).add_auth(request)
    prepared = urllib.request.Request(request.url, headers=dict(request.headers.items()), method="GET")
    try:
        with urllib.request.urlopen(prepared, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise OSError(f"the service refused the usage report: {error.code} {error.read()[:300]!r}") from None


def _is_older_service_of(config: ServiceConfig, running: dict[str, Any]) -> bool:
    # Services from before the health proof answer without one; stop() still checks its process.
    return "proof" not in running and Path(running.get("stateDir", "")) == config.state_dir


def _require_trusted(config: ServiceConfig, running: dict[str, Any]) -> dict[str, Any]:
    if not running["trusted"]:
        raise ServiceStartError(
            f"Port {config.port} is taken by a local SageMaker service that is not the one of "
            f"{config.state_dir} "
            f"(it reports its state in {running.get('stateDir')}): stop that one, or use another port "
            "(--port or SAGEMAKER_LOCAL_PORT)."
        )
    return running


def is_current(running: dict[str, Any]) -> bool:
    """Whether a running service was started from the code installed now."""
    return running.get("code") == code_fingerprint()


def start_current(config: ServiceConfig) -> dict[str, Any]:
    """Like ``start``, but first restart a service that runs older code (its resources are kept)."""
    running = health(config)
    if running and not is_current(running) and (running["trusted"] or _is_older_service_of(config, running)):
        print(f"Restarting the local SageMaker service on {config.url}: it was started from older code.")
        stop(config)
    return start(config)


def log_file(config: ServiceConfig) -> Path:
    return config.state_dir / "service.log"


def pid_file(config: ServiceConfig) -> Path:
    return config.state_dir / "service.pid"


def start(config: ServiceConfig, timeout: float = 60.0) -> dict[str, Any]:
    """Start the service in the background unless it already runs; return once it answers."""
    running = health(config)
    if running:
        return _require_trusted(config, running)
    ensure_private_folder(config.state_dir)
    log = log_file(config).open("ab")
    env = dict(
        os.environ, SAGEMAKER_LOCAL_PORT=str(config.port), SAGEMAKER_LOCAL_STATE_DIR=str(config.state_dir)
    )
    for key in ("AWS_ENDPOINT_URL",):  # the service must not point at itself
        env.pop(key, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers.local", "serve"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    _write_pid_file(config, proc.pid)
    deadline = time.time() + timeout
    while time.time() < deadline:
        running = health(config, timeout=0.2)
        if running and running["trusted"]:
            return running
        if proc.poll() is not None:
            tail = log_file(config).read_text(errors="replace").strip().splitlines()[-5:]
            raise ServiceStartError(
                f"The local SageMaker service exited during start-up (code {proc.returncode}). "
                f"Last lines of {log_file(config)}: " + " | ".join(tail)
            )
        time.sleep(0.05)
    raise ServiceStartError(
        f"The local SageMaker service did not answer on {config.url} within {timeout:.0f} s; "
        f"see {log_file(config)}."
    )


def stop(config: ServiceConfig, timeout: float = 15.0) -> bool:
    """Stop the running service (and with it every job and endpoint process). False if none ran.

    Only a process that is provably this state folder's service is signalled: a pid file left by
    a service that is gone may name an unrelated process by now.
    """
    service = _service_process(config)
    if service is None:
        pid_file(config).unlink(missing_ok=True)  # stale: its process is gone or someone else's
        return False
    pid, started = service
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file(config).unlink(missing_ok=True)
        return False
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not _alive(pid):
            break
        time.sleep(0.05)
    else:
        if is_same_process(pid, started):
            os.kill(pid, signal.SIGKILL)
    pid_file(config).unlink(missing_ok=True)
    return True


def _write_pid_file(config: ServiceConfig, pid: int) -> None:
    record = {"pid": pid, "startTime": process_start_time(pid), "port": config.port}
    pid_file(config).write_text(json.dumps(record))


def _read_pid_file(config: ServiceConfig) -> dict[str, Any] | None:
    try:
        record = json.loads(pid_file(config).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("pid"), int) else None


def _service_process(config: ServiceConfig) -> tuple[int, int] | None:
    """(pid, start time) of this state folder's running service, or None if it is not running."""
    running = health(config)
    if running and running["trusted"]:
        # It answered on this port just now; a service from older code does not report its start.
        pid, started = running["pid"], running.get("startTime") or process_start_time(running["pid"])
    elif record := _read_pid_file(config):
        pid, started = record["pid"], record.get("startTime")
    else:
        return None
    if not is_same_process(pid, started) or not _is_service_command(pid):
        return None
    return pid, started


def _is_service_command(pid: int) -> bool:
    """Whether ``pid`` runs ``<python> -m helpers.local serve``."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(args[i : i + 3] == [b"-m", b"helpers.local", b"serve"] for i in range(len(args)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as gone
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True
