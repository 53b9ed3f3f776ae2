"""Crash safety: a killed or stopped service leaves no processes, no running jobs and no stale copies."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from helpers.local import control
from helpers.local.containers.process_ledger import ChildLedger
from helpers.local.core.config import ROLE_ARN, client_environment, load_config
from tests.conftest import free_port
from tests.service_helpers import (
    XGBOOST_IMAGE,
    processes_in,
    regression_csv,
    single_variant_config,
    train_model,
    training_request,
    unique,
    wait_for,
    wait_training,
    wait_transform,
    wait_until,
)

INTERRUPTED = "the local service stopped while the job was running"


def _clients(config):
    env = client_environment(config)
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=config.region,
    )
    return session.client("sagemaker", endpoint_url=config.url), session.client("s3", endpoint_url=config.url)


def _start_long_job(sm, s3, bucket: str, name: str) -> None:
    """A training job that trains for minutes (many rounds on more data), seen in its Training step."""
    s3.create_bucket(Bucket=bucket)
    for channel, seed in (("train", 1), ("validation", 2)):
        body = regression_csv(5000, 8, seed=seed).encode()
        s3.put_object(Bucket=bucket, Key=f"data/{channel}/{channel}.csv", Body=body)
    sm.create_training_job(**training_request(name, bucket, num_round="1000000", max_depth="8"))
    wait_until(
        lambda: sm.describe_training_job(TrainingJobName=name)["SecondaryStatus"] == "Training",
        f"{name} trains",
    )


def _assert_interrupted(desc: dict) -> None:
    assert desc["TrainingJobStatus"] == "Failed"
    assert INTERRUPTED in desc["FailureReason"] and "code -15" not in desc["FailureReason"]
    assert desc["SecondaryStatus"] == "Failed"
    last = desc["SecondaryStatusTransitions"][-1]
    assert last["Status"] == "Failed" and "EndTime" in last
    assert desc["TrainingEndTime"] >= desc["TrainingStartTime"]


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):  # started by this process: reap it
        os.waitpid(pid, 0)


def test_killed_service_leaves_no_orphans_after_the_next_start(tmp_path):
    config = load_config(free_port(), tmp_path / "state")
    control.start(config)
    try:
        sm, s3 = _clients(config)
        s3.create_bucket(Bucket="crash-models")
        model = train_model(sm, s3, "crash-models", "model-data", seed=3, num_round="5")
        sm.create_endpoint_config(
            EndpointConfigName="crash-config",
            ProductionVariants=[
                {
                    "VariantName": "A",
                    "ModelName": model,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        sm.create_endpoint(EndpointName="crash-endpoint", EndpointConfigName="crash-config")
        wait_for(lambda: sm.describe_endpoint(EndpointName="crash-endpoint"), "EndpointStatus")
        _start_long_job(sm, s3, "crash-data", "crash-long-job")
        job_folder = config.state_dir / "work" / "training-jobs" / "crash-long-job"
        wait_until(lambda: processes_in(job_folder) != [], "the training container runs")

        _kill(control.health(config)["pid"])
        orphans = processes_in(config.state_dir)
        assert orphans  # the model server (at least) outlives the killed service

        control.start(config)
        sm, s3 = _clients(config)
        assert set(orphans).isdisjoint(processes_in(config.state_dir))
        interrupted = sm.describe_training_job(TrainingJobName="crash-long-job")
        _assert_interrupted(interrupted)
        assert not (job_folder / "input" / "data").exists()  # the channel copies are gone
        # The endpoint comes back with a model server of its own.
        desc = wait_for(lambda: sm.describe_endpoint(EndpointName="crash-endpoint"), "EndpointStatus")
        assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")
        # The cost ledger kept it all: the interrupted job billed to its end, the endpoint billed on.
        usage = control.usage(config)["usage"]
        (job,) = [row for row in usage if row["name"] == "crash-long-job"]
        assert not job["running"] and job["seconds"] == interrupted["BillableTimeInSeconds"]
        assert [row["running"] for row in usage if row["name"] == "crash-endpoint"] == [True]

        sm.delete_endpoint(EndpointName="crash-endpoint")
        wait_until(lambda: not sm.list_endpoints()["Endpoints"], "the endpoint is deleted")
        assert not (config.state_dir / "work" / "endpoints" / "crash-endpoint").exists()
        assert processes_in(config.state_dir) == []
    finally:
        control.stop(config)


def test_stopping_the_service_fails_running_jobs_as_interrupted_and_keeps_user_stops(tmp_path):
    config = load_config(free_port(), tmp_path / "state")
    control.start(config)
    try:
        sm, s3 = _clients(config)
        _start_long_job(sm, s3, "graceful-running", "running-job")
        _start_long_job(sm, s3, "graceful-stopped", "stopped-job")
        sm.stop_training_job(TrainingJobName="stopped-job")
        assert wait_training(sm, "stopped-job")["TrainingJobStatus"] == "Stopped"

        assert control.stop(config)
        assert processes_in(config.state_dir) == []
        control.start(config)
        sm, _ = _clients(config)
        _assert_interrupted(sm.describe_training_job(TrainingJobName="running-job"))
        assert sm.describe_training_job(TrainingJobName="stopped-job")["TrainingJobStatus"] == "Stopped"
    finally:
        control.stop(config)


@pytest.mark.parametrize("record", ["current", "wrong start time", "bare pid"])
def test_stop_never_signals_a_process_a_stale_pid_file_names(tmp_path, record):
    config = load_config(free_port(), tmp_path / "state")
    config.state_dir.mkdir(parents=True)
    other = subprocess.Popen(["sleep", "60"])
    try:
        started = int(Path(f"/proc/{other.pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        content = {
            "current": json.dumps({"pid": other.pid, "startTime": started, "port": config.port}),
            "wrong start time": json.dumps({"pid": other.pid, "startTime": started - 1, "port": config.port}),
            "bare pid": str(other.pid),
        }[record]
        control.pid_file(config).write_text(content)
        assert control.stop(config) is False
        assert other.poll() is None  # still running: it was never signalled
        assert not control.pid_file(config).exists()
    finally:
        other.kill()
        other.wait()


def test_start_stops_recorded_containers_of_a_killed_service_but_not_a_reused_pid(tmp_path):
    ledger = ChildLedger(tmp_path / "processes")
    left_behind = subprocess.Popen(["sleep", "60"], start_new_session=True)
    reused = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        ledger.record(left_behind.pid, left_behind.args)
        ledger.record(reused.pid, reused.args)
        entry = ledger.folder / f"{reused.pid}.json"
        # As if the recorded process had ended and an unrelated one had been given its pid.
        data = json.loads(entry.read_text())
        entry.write_text(json.dumps({**data, "startTime": data["startTime"] - 1}))

        assert ChildLedger(tmp_path / "processes").stop_leftovers() == [left_behind.pid]
        assert left_behind.wait(timeout=10) == -signal.SIGTERM
        assert reused.poll() is None
        assert list(ledger.folder.iterdir()) == []
    finally:
        for proc in (left_behind, reused):
            proc.kill()
            proc.wait()


def test_missing_output_bucket_is_named_and_channel_copies_are_removed(sm, s3, bucket, service):
    s3.put_object(Bucket=bucket, Key="crash/train/train.csv", Body=regression_csv(seed=4).encode())
    s3.put_object(
        Bucket=bucket, Key="crash/validation/validation.csv", Body=regression_csv(40, seed=5).encode()
    )
    name = unique("no-output-bucket")
    request = training_request(name, bucket, num_round="2")
    for channel in request["InputDataConfig"]:
        source = channel["DataSource"]["S3DataSource"]
        source["S3Uri"] = source["S3Uri"].replace("/data/", "/crash/")
    request["OutputDataConfig"]["S3OutputPath"] = "s3://no-such-output-bucket/models"
    sm.create_training_job(**request)
    desc = wait_training(sm, name)
    assert desc["TrainingJobStatus"] == "Failed"
    assert desc["FailureReason"].startswith("ClientError:")
    assert (
        "bucket 'no-such-output-bucket' of OutputDataConfig.S3OutputPath does not exist"
        in desc["FailureReason"]
    )
    job_folder = service.state_dir / "work" / "training-jobs" / name
    assert not (job_folder / "input" / "data").exists()
    assert (job_folder / "input" / "config" / "hyperparameters.json").exists()


@pytest.fixture(scope="module")
def model_name(sm, s3, bucket):
    return train_model(sm, s3, bucket, "crash-model", 6, num_round="3")


def _transform(sm, model: str, source: str, output: str) -> str:
    name = unique("transform")
    sm.create_transform_job(
        TransformJobName=name,
        ModelName=model,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": output, "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    return name


def test_transform_jobs_leave_no_folder_and_name_a_missing_output_bucket(sm, s3, bucket, service, model_name):
    s3.put_object(Bucket=bucket, Key="crash-batch/rows.csv", Body=regression_csv(10, label=False).encode())
    done = _transform(sm, model_name, f"s3://{bucket}/crash-batch/", f"s3://{bucket}/crash-results")
    assert wait_transform(sm, done)["TransformJobStatus"] == "Completed"
    failed = _transform(sm, model_name, f"s3://{bucket}/crash-batch/", "s3://no-such-results-bucket/out")
    desc = wait_transform(sm, failed)
    assert desc["TransformJobStatus"] == "Failed"
    assert desc["FailureReason"].startswith("ClientError:")
    assert (
        "bucket 'no-such-results-bucket' of TransformOutput.S3OutputPath does not exist"
        in desc["FailureReason"]
    )
    for name in (done, failed):
        assert not (service.state_dir / "work" / "transform-jobs" / name).exists()


def test_endpoint_that_fails_to_start_leaves_no_folder(sm, s3, bucket, service):
    s3.put_object(Bucket=bucket, Key="crash-broken/model.tar.gz", Body=b"this is not a tarball")
    model = unique("broken-model")
    sm.create_model(
        ModelName=model,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{bucket}/crash-broken/model.tar.gz"},
    )
    config = unique("broken-config")
    single_variant_config(sm, config, model)
    endpoint = unique("broken-endpoint")
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    assert (
        wait_for(lambda: sm.describe_endpoint(EndpointName=endpoint), "EndpointStatus")["EndpointStatus"]
        == "Failed"
    )
    assert not (service.state_dir / "work" / "endpoints" / endpoint).exists()
    sm.delete_endpoint(EndpointName=endpoint)


def test_status_shows_the_size_of_the_state_folder(service):
    result = subprocess.run(
        [sys.executable, "-m", "helpers.local", "status",
         "--port", str(service.port), "--state-dir", str(service.state_dir)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0
    assert re.search(
        rf"state in {re.escape(str(service.state_dir))} \(\d+(\.\d)? (B|KB|MB|GB)\)", result.stdout
    )


def test_a_second_service_on_the_same_state_folder_is_refused(tmp_path):
    first = load_config(free_port(), tmp_path / "state")
    second = load_config(free_port(), tmp_path / "state")
    control.start(first)
    try:
        with pytest.raises(control.ServiceStartError, match="in use by another local SageMaker service"):
            control.start(second)
        assert control.health(first)["trusted"]
    finally:
        control.stop(first)


def test_a_stop_under_way_when_the_service_died_ends_as_a_stop():
    from helpers.local.jobs.lifecycle import add_transition, fail_interrupted

    doc = {"TrainingJobStatus": "Stopping", "TrainingStartTime": 1.0}
    add_transition(doc, "Training", "Training in progress")
    add_transition(doc, "Stopping", "Stopping the training job: it reached MaxRuntimeInSeconds")
    fail_interrupted("TrainingJob", doc)
    assert (doc["TrainingJobStatus"], doc["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert "FailureReason" not in doc and "TrainingEndTime" in doc
    running = {"TransformJobStatus": "InProgress"}
    fail_interrupted("TransformJob", running)
    assert (
        running["TransformJobStatus"] == "Failed"
        and "stopped while the job was running" in running["FailureReason"]
    )
