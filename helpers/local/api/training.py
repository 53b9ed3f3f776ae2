"""CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs, StopTrainingJob."""

from __future__ import annotations

from typing import Any

from helpers.local.api import operation
from helpers.local.api.listing import list_page, pick
from helpers.local.api.resources import create_resource, get_resource
from helpers.local.api.service import now
from helpers.local.aws.backends import parse_s3_uri
from helpers.local.containers.metrics import check_metric_definitions
from helpers.local.core.errors import ResourceInUse, ValidationException
from helpers.local.jobs import quotas
from helpers.local.jobs.lifecycle import add_transition
from helpers.local.jobs.training import TrainingJobRun, request_stop

KIND = "TrainingJob"
SUPPORTED_DATA_TYPES = {"S3Prefix"}


def get_training_job(service, name: str) -> dict[str, Any]:
    not_found = ValidationException(f"Requested resource not found: training job '{name}' does not exist.")
    return get_resource(service, KIND, name, not_found)


def _check_channels(channels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = [c["ChannelName"] for c in channels]
    for name in names:
        # The API's pattern lets these through, but each channel is a folder under
        # /opt/ml/input/data: '.' would be that folder itself and '..' its parent.
        if name in (".", ".."):
            raise ValidationException(
                f"Channel name '{name}' is not allowed: each channel becomes the folder "
                "/opt/ml/input/data/<ChannelName>. Use a name with a letter or digit, such as 'train'."
            )
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValidationException(f"Channel names must be unique; repeated: {', '.join(sorted(duplicates))}.")
    filled = []
    for channel in channels:
        source = channel["DataSource"].get("S3DataSource")
        if source is None:
            raise ValidationException(
                f"Channel '{channel['ChannelName']}': the local service reads training data from S3 "
                "only; pass DataSource.S3DataSource."
            )
        if source["S3DataType"] not in SUPPORTED_DATA_TYPES:
            raise ValidationException(
                f"Channel '{channel['ChannelName']}': S3DataType {source['S3DataType']} is not "
                "supported locally; use S3Prefix."
            )
        parse_s3_uri(source["S3Uri"], f"Channel '{channel['ChannelName']}' S3Uri")
        source.setdefault("S3DataDistributionType", "FullyReplicated")
        channel.setdefault("CompressionType", "None")
        channel.setdefault("RecordWrapperType", "None")
        filled.append(channel)
    return filled


def training_job_document(
    service, params: dict[str, Any], tuning_job_arn: str | None = None
) -> dict[str, Any]:
    """The DescribeTrainingJob document of a job about to start (also used by tuning jobs)."""
    name = params["TrainingJobName"]
    algorithm = dict(params["AlgorithmSpecification"])
    if "TrainingImage" not in algorithm:
        raise ValidationException(
            "AlgorithmSpecification.TrainingImage is required locally (AlgorithmName refers to "
            "marketplace algorithms, which the local service does not have)."
        )
    algorithm.setdefault("EnableSageMakerMetricsTimeSeries", False)
    check_metric_definitions(
        algorithm.get("MetricDefinitions", []), "AlgorithmSpecification.MetricDefinitions"
    )
    output = dict(params["OutputDataConfig"])
    output_path = parse_s3_uri(output["S3OutputPath"], "OutputDataConfig.S3OutputPath")
    output.setdefault("KmsKeyId", "")  # the SDK's Estimator.attach reads it unconditionally
    timestamp = now()
    artifact = f"s3://{output_path.bucket}/{_join(output_path.key, name, 'output/model.tar.gz')}"
    doc = {
        "TrainingJobName": name,
        "TrainingJobArn": service.arn("training-job", name),
        "TuningJobArn": tuning_job_arn,
        "ModelArtifacts": {"S3ModelArtifacts": artifact},
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Starting",
        "HyperParameters": params.get("HyperParameters", {}),
        "AlgorithmSpecification": algorithm,
        "RoleArn": params["RoleArn"],
        "InputDataConfig": _check_channels([dict(c) for c in params.get("InputDataConfig", [])]),
        "OutputDataConfig": output,
        "ResourceConfig": params["ResourceConfig"],
        "StoppingCondition": params["StoppingCondition"],
        "CreationTime": timestamp,
        "LastModifiedTime": timestamp,
        "SecondaryStatusTransitions": [],
        "EnableNetworkIsolation": params.get("EnableNetworkIsolation", False),
        "EnableInterContainerTrafficEncryption": params.get("EnableInterContainerTrafficEncryption", False),
        "EnableManagedSpotTraining": params.get("EnableManagedSpotTraining", False),
        **pick(params, "VpcConfig", "CheckpointConfig", "Environment", "RetryStrategy", "ExperimentConfig"),
    }
    add_transition(doc, "Starting", "Launching requested ML instances")
    return doc


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


def start_training_job(service, doc: dict[str, Any], tags: list[dict[str, str]] | None = None) -> None:
    name = doc["TrainingJobName"]
    arn = doc["TrainingJobArn"]
    already_exists = ResourceInUse(
        f"Training job names must be unique within an AWS account and region, and a training job "
        f"with this name already exists ({arn}). Choose another name."
    )
    with quotas.LOCK:  # the instances are counted from stored jobs: check and store as one step
        quotas.check_training_job(service, doc["ResourceConfig"])
        create_resource(service, KIND, name, arn, doc, tags, already_exists)
    run = TrainingJobRun(service, name)
    service.training_runs[name] = run
    service.start_background(f"training-{name}", run.run)


@operation("CreateTrainingJob")
def create_training_job(service, params: dict[str, Any]) -> dict[str, Any]:
    doc = training_job_document(service, params)
    start_training_job(service, doc, params.get("Tags"))
    return {"TrainingJobArn": doc["TrainingJobArn"]}


@operation("DescribeTrainingJob")
def describe_training_job(service, params: dict[str, Any]) -> dict[str, Any]:
    return get_training_job(service, params["TrainingJobName"])


def training_job_summary(doc: dict[str, Any]) -> dict[str, Any]:
    return pick(
        doc, "TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingEndTime",
        "LastModifiedTime", "TrainingJobStatus", "SecondaryStatus",
    )  # fmt: skip


@operation("ListTrainingJobs")
def list_training_jobs(service, params: dict[str, Any]) -> dict[str, Any]:
    return list_page(
        service.store.list(KIND),
        params,
        name_key="TrainingJobName",
        status_key="TrainingJobStatus",
        summary=training_job_summary,
        result_key="TrainingJobSummaries",
    )


@operation("StopTrainingJob")
def stop_training_job(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["TrainingJobName"]
    get_training_job(service, name)
    status = request_stop(service, name, "Stopping the training job")
    if status != "InProgress":
        raise ValidationException(
            f"The training job '{name}' is {status}; only an InProgress job can be stopped."
        )
    return {}
