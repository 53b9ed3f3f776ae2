"""Small builders shared by the service tests: data, job requests, waiting."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import numpy as np
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from helpers.local.core.config import ROLE_ARN, ServiceConfig, client_environment

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
LINEAR_LEARNER_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"


def session_for(config: ServiceConfig) -> boto3.Session:
    """A boto3 session signed with the service's own credentials, as ``helpers.connect()`` makes."""
    env = client_environment(config)
    return boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=config.region,
    )


def signed_headers(
    config: ServiceConfig, path: str, body: bytes, headers: dict[str, str], signing_name: str = "sagemaker"
) -> dict[str, str]:
    """``headers`` plus the SigV4 signature boto3 would add to POST ``path`` with ``body``."""
    env = client_environment(config)
    credentials = Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
    request = AWSRequest(method="POST", url=f"{config.url}{path}", data=body, headers=headers)
    SigV4Auth(credentials, signing_name, config.region).add_auth(request)
    return dict(request.headers.items())


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def regression_csv(rows: int = 120, features: int = 4, seed: int = 0, label: bool = True) -> str:
    """A learnable regression problem as SageMaker CSV (label first, no header)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, size=(rows, features))
    y = 3 * x[:, 0] - 2 * x[:, 1] + rng.normal(0, 0.5, rows)
    table = np.column_stack([y, x]) if label else x
    return "\n".join(",".join(f"{v:.4f}" for v in row) for row in table) + "\n"


def csv_channel(name: str, uri: str) -> dict[str, Any]:
    """One InputDataConfig entry: a CSV channel read from an S3 prefix."""
    return {
        "ChannelName": name,
        "ContentType": "text/csv",
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
    }


def training_request(
    name: str, bucket: str, image: str = XGBOOST_IMAGE, **hyperparameters: str
) -> dict[str, Any]:
    hp = {"num_round": "20", "objective": "reg:squarederror", "max_depth": "3"}
    hp.update(hyperparameters)
    channel = lambda c: csv_channel(c, f"s3://{bucket}/data/{c}")  # noqa: E731
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "HyperParameters": hp,
        "InputDataConfig": [channel("train"), channel("validation")],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def wait_for(describe, status_key: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        desc = describe()
        if desc[status_key] not in ("InProgress", "Stopping", "Creating", "Updating", "Deleting"):
            return desc
        time.sleep(0.05)
    raise AssertionError(f"still {desc[status_key]} after {timeout} s")


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` when it never does."""
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting until {what}")
        time.sleep(0.02)


def wait_training(sm, name: str) -> dict[str, Any]:
    return wait_for(lambda: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus")


def wait_transform(sm, name: str) -> dict[str, Any]:
    return wait_for(lambda: sm.describe_transform_job(TransformJobName=name), "TransformJobStatus")


def listening_ports(pid: int) -> list[int]:
    """The TCP ports ``pid`` listens on (read from /proc: its socket inodes in the LISTEN state)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = []
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return sorted(set(ports))


def processes_in(folder: Path) -> list[int]:
    """Pids of the processes whose working folder is inside ``folder`` (containers run in theirs)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if cwd.startswith(str(folder)):
            pids.append(int(entry))
    return sorted(pids)


def train_model(sm, s3, bucket, key: str, seed: int, **hyperparameters) -> str:
    """Train a small XGBoost regression on data under ``key/`` and register it as a model."""
    s3.put_object(Bucket=bucket, Key=f"{key}/train/train.csv", Body=regression_csv(seed=seed).encode())
    s3.put_object(
        Bucket=bucket, Key=f"{key}/validation/validation.csv", Body=regression_csv(40, seed=seed + 1).encode()
    )
    job = unique("train")
    request = training_request(job, bucket, **hyperparameters)
    for channel in request["InputDataConfig"]:
        source = channel["DataSource"]["S3DataSource"]
        source["S3Uri"] = source["S3Uri"].replace("/data/", f"/{key}/")
    sm.create_training_job(**request)
    return model_from_job(sm, job, unique("model"))


def single_variant_config(sm, name: str, model: str) -> None:
    """Endpoint config ``name``: one variant 'A' of ``model`` on one ml.m5.large instance."""
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "A", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )


def tar_gz(files: dict[str, bytes]) -> bytes:
    """A ``.tar.gz`` holding ``files`` (name -> bytes), as model.tar.gz and sourcedir.tar.gz are."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def image_model(sm, image: str, model_data: str, environment: dict[str, str]) -> str:
    """A model of ``image`` over ``model_data`` with ``environment`` (``SAGEMAKER_PROGRAM``, ...)."""
    name = unique("model")
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": image, "ModelDataUrl": model_data, "Environment": environment},
    )
    return name


def endpoint_of(sm, model: str, timeout: float = 120) -> dict[str, Any]:
    """An endpoint of ``model`` on one instance, described once it is InService or Failed."""
    name = unique("endpoint")
    single_variant_config(sm, name, model)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return wait_for(lambda: sm.describe_endpoint(EndpointName=name), "EndpointStatus", timeout=timeout)


def deploy_script(sm, image: str, model_data: str, program: str) -> str:
    """The name of an InService endpoint serving ``model_data`` with the script ``program``."""
    desc = endpoint_of(sm, image_model(sm, image, model_data, {"SAGEMAKER_PROGRAM": program}))
    assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")
    return desc["EndpointName"]


def endpoint_log_text(boto, endpoint: str) -> str:
    """Everything the endpoint's first model server has written to CloudWatch so far."""
    logs = boto.client("logs")
    group = f"/aws/sagemaker/Endpoints/{endpoint}"
    stream = logs.describe_log_streams(logGroupName=group)["logStreams"][0]["logStreamName"]
    events = logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]
    return "\n".join(e["message"] for e in events)


def model_from_job(sm, job: str, model: str) -> str:
    """Wait for training job ``job`` to complete and register its artifact as XGBoost model ``model``."""
    desc = wait_training(sm, job)
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    sm.create_model(
        ModelName=model,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": desc["ModelArtifacts"]["S3ModelArtifacts"]},
    )
    return model


def small_tuning_request(name: str, bucket: str, key: str, jobs: int = 2) -> dict[str, Any]:
    """A Random tuning job of ``jobs`` two-round XGBoost jobs on the data under ``key/``."""
    training = training_request("unused", bucket, num_round="2")
    for channel in training["InputDataConfig"]:
        source = channel["DataSource"]["S3DataSource"]
        source["S3Uri"] = source["S3Uri"].replace("/data/", f"/{key}/")
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "4"}]
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"objective": "reg:squarederror", "num_round": "2"},
            **{k: training[k] for k in ("AlgorithmSpecification", "RoleArn", "InputDataConfig")},
            **{k: training[k] for k in ("OutputDataConfig", "ResourceConfig", "StoppingCondition")},
        },
    }


def upload_regression_data(s3, bucket: str, key: str, seed: int = 0) -> None:
    """train/ and validation/ CSV files under ``key/``, as ``training_request`` channels read them."""
    s3.put_object(Bucket=bucket, Key=f"{key}/train/train.csv", Body=regression_csv(seed=seed).encode())
    s3.put_object(
        Bucket=bucket, Key=f"{key}/validation/validation.csv", Body=regression_csv(40, seed=seed + 1).encode()
    )


def wait_tuning_job(sm, name: str) -> dict[str, Any]:
    return wait_for(
        lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
        "HyperParameterTuningJobStatus",
        timeout=180,
    )


def wait_until_pinging(connection, proc: subprocess.Popen, timeout: float = 30) -> None:
    """Wait until the model server ``proc`` answers /ping on ``connection`` (a ModelConnection)."""
    from helpers.local.containers.model_client import ModelUnreachable

    deadline = time.monotonic() + timeout
    while True:
        try:
            if connection.ping():
                return
        except ModelUnreachable:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.05)
