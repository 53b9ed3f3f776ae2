"""SDK v3 programs run with the v3 venv's python (``make test`` builds ``.venv/sdkv3``) against the
session's service, knowing only what ``python -m helpers.local env`` prints."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).parent / "programs"
# The SDK's defaults config: no telemetry calls to AWS from a test run.
SDK_CONFIG = "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"


def sdkv3_python() -> Path:
    """``$SAGEMAKER_SDKV3_PYTHON`` if set, else the venv ``make test`` builds."""
    return Path(os.environ.get("SAGEMAKER_SDKV3_PYTHON") or REPO / ".venv" / "sdkv3" / "bin" / "python")


@pytest.fixture(scope="session")
def run_v3_program(service, tmp_path_factory) -> Callable[[str], str]:
    """Run ``programs/<name>`` with SDK v3 after ``eval "$(python -m helpers.local env)"``; its stdout."""
    python = sdkv3_python()
    if not python.exists():
        pytest.skip(f"no SDK v3 environment at {python}: `make test` builds it from requirements-sdkv3.txt")
    exported = subprocess.run(
        [sys.executable, "-m", "helpers.local", "env",
         "--port", str(service.port), "--state-dir", str(service.state_dir)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    folder = tmp_path_factory.mktemp("sdkv3")
    config = folder / "sdk-config.yaml"
    config.write_text(SDK_CONFIG)
    # Only what a stranger's shell would have: no AWS_* of ours, no PYTHONPATH to the course.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONPATH"}
    # ModelTrainer checks the role with iam:SimulatePrincipalPolicy, which the service does not answer.
    env.update(SAGEMAKER_USER_CONFIG_OVERRIDE=str(config), SAGEMAKER_VALIDATE_ROLE="false")

    def run(name: str) -> str:
        result = subprocess.run(
            ["bash", "-c", f'eval "$1" && exec "{python}" "{PROGRAMS / name}"', "bash", exported],
            env=env, cwd=folder, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
        return result.stdout

    return run
