"""The service's command line and the client-side controls, as a learner uses them."""

from __future__ import annotations

import os
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


def test_env_prints_the_port_state_folder_and_sdk_config_it_was_given(tmp_path):
    """``env --port P`` names P and the state folder, so a later ``helpers.connect()`` or CLI call in
    that shell finds the same service; the SDK config (SAGEMAKER_USER_CONFIG_OVERRIDE, the SDK's
    sagemaker/config/config.py) names the default bucket and opts out of telemetry."""
    result = subprocess.run(
        [sys.executable, "-m", "helpers.local", "env", "--port", "9123", "--state-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    exported = dict(line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines())
    assert exported["SAGEMAKER_LOCAL_PORT"] == "9123"
    assert exported["SAGEMAKER_LOCAL_STATE_DIR"] == str(tmp_path.resolve())
    from sagemaker.config import load_sagemaker_config

    sdk = load_sagemaker_config([exported["SAGEMAKER_USER_CONFIG_OVERRIDE"]])["SageMaker"]["PythonSDK"]
    assert sdk["Modules"]["Session"]["DefaultS3Bucket"] == "sagemaker-us-east-1-123456789012"
    assert sdk["Modules"]["TelemetryOptOut"] is True


OFFLINE_PROGRAM = """
import sys
import sagemaker
from sagemaker.estimator import Estimator

print("bucket", sagemaker.Session().default_bucket())
estimator = Estimator.attach(sys.argv[1])  # no session: the SDK makes its own
print("model", estimator.model_data)
print("metrics", sorted(set(estimator.training_job_analytics.dataframe()["metric_name"])))
"""


def test_a_second_process_after_eval_env_stays_offline(service, sm, s3, bucket, tmp_path):
    """After ``eval "$(python -m helpers.local env)"`` a plain ``sagemaker.Session()`` finds its
    default bucket and ``Estimator.attach`` works without any call to the real AWS: every HTTPS
    request that is not to the local service goes to a proxy on 127.0.0.1:9, where nothing listens."""
    from tests.service_helpers import regression_csv, training_request, unique, wait_training

    s3.put_object(Bucket=bucket, Key="data/train/train.csv", Body=regression_csv(seed=5).encode())
    s3.put_object(
        Bucket=bucket, Key="data/validation/validation.csv", Body=regression_csv(40, seed=6).encode()
    )
    job = unique("offline")
    sm.create_training_job(**training_request(job, bucket))
    assert wait_training(sm, job)["TrainingJobStatus"] == "Completed"
    program = tmp_path / "offline.py"
    program.write_text(OFFLINE_PROGRAM)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_"))}
    tripwire = {
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1",
    }
    script = (
        f'eval "$({sys.executable} -m helpers.local env --port {service.port} '
        f'--state-dir {service.state_dir})" && {sys.executable} {program} {job}'
    )
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=120, env={**clean, **tripwire}
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "bucket sagemaker-us-east-1-123456789012" in result.stdout
    assert f"model s3://{bucket}/" in result.stdout
    assert "metrics ['train:rmse', 'validation:rmse']" in result.stdout
