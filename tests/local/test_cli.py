"""The service's command line and the client-side controls, as a learner uses them."""

from __future__ import annotations

import subprocess
import sys

from helpers.local import control


def _cli(service, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "helpers.local", *args,
         "--port", str(service.port), "--state-dir", str(service.state_dir)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_status_start_and_env_against_a_running_service(service):
    status = _cli(service, "status")
    assert status.returncode == 0 and f"127.0.0.1:{service.port}" in status.stdout
    start = _cli(service, "start")  # idempotent: reports the service that already runs
    assert start.returncode == 0 and str(control.health(service)["pid"]) in start.stdout
    env = _cli(service, "env").stdout
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{service.port}" in env
    assert "export AWS_EC2_METADATA_DISABLED=true" in env


def test_running_service_reports_the_code_it_runs(service):
    running = control.health(service)
    assert control.is_current(running)
    assert not control.is_current({**running, "code": "older"})


def test_status_of_a_service_that_is_not_running(tmp_path):
    from tests.conftest import free_port

    result = subprocess.run(
        [sys.executable, "-m", "helpers.local", "status",
         "--port", str(free_port()), "--state-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 3 and "not running" in result.stdout
