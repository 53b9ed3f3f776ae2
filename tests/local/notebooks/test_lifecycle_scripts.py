"""Lifecycle scripts run alone (no service): the 5-minute limit, and what a failure says."""

from __future__ import annotations

import base64
import os

import pytest

from helpers.local.aws import backends as moto_backends
from helpers.local.notebooks.lifecycle_scripts import LifecycleScriptFailed, run_hook
from tests.service_helpers import processes_in

INSTANCE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb"
CONFIG_ARN = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance-lifecycle-config/setup"


def _run(tmp_path, script: str, timeout: float = 60) -> None:
    moto_backends.open_state(tmp_path / "state")
    volume = tmp_path / "SageMaker"
    volume.mkdir(exist_ok=True)
    run_hook(
        "OnStart",
        base64.b64encode(script.encode()).decode(),
        instance="nb",
        instance_arn=INSTANCE_ARN,
        config_arn=CONFIG_ARN,
        volume=volume,
        scripts=tmp_path / "scripts",
        environment=dict(os.environ),
        region="us-east-1",
        timeout=timeout,
    )


def test_a_script_over_the_time_limit_fails_the_instance_and_is_stopped(tmp_path):
    with pytest.raises(LifecycleScriptFailed) as failed:
        _run(tmp_path, "echo waiting\nsleep 60 &\nwait\n", timeout=1)
    assert str(failed.value).startswith(
        f"Notebook Instance Lifecycle Config '{CONFIG_ARN}' for Notebook Instance '{INSTANCE_ARN}' "
        "took longer than 5 minutes."
    )
    assert processes_in(tmp_path / "SageMaker") == []  # the script and what it started are gone


def test_a_script_runs_in_the_volume_and_a_failing_one_names_its_exit_code(tmp_path):
    _run(tmp_path, "pwd > where.txt\n")
    assert (tmp_path / "SageMaker" / "where.txt").read_text().strip() == str(tmp_path / "SageMaker")
    with pytest.raises(LifecycleScriptFailed, match="exited with code 7; its output is in log group"):
        _run(tmp_path, "exit 7\n")
