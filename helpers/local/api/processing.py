"""CreateProcessingJob, DescribeProcessingJob, ListProcessingJobs, StopProcessingJob.

Shapes and defaults from botocore's service model and the API reference: Describe echoes the
request with ``S3Input`` filled in (``S3InputMode`` File, ``S3DataDistributionType``
FullyReplicated, ``S3CompressionType`` None), ``S3Output.S3UploadMode`` EndOfJob and ``AppManaged``
False on inputs and outputs.
"""

from __future__ import annotations

import time
from pathlib import PurePosixPath
from typing import Any

from helpers.local.api.listing import list_page, pick
from helpers.local.api.registry import operation
from helpers.local.api.resources import get_resource
from helpers.local.core.errors import ResourceInUse, ResourceNotFound, ValidationException
from helpers.local.core.s3_uri import parse_s3_uri
from helpers.local.jobs.processing import PROCESSING_ROOT, ProcessingJobRun
from helpers.local.jobs.runs import NameInUse, request_stop

KIND = "ProcessingJob"
OPTIONAL_MEMBERS = ("Environment", "NetworkConfig", "StoppingCondition", "ExperimentConfig")


def get_processing_job(service, name: str) -> dict[str, Any]:
    return get_resource(service, KIND, name, ResourceNotFound(f"Processing Job {name} does not exist."))


def _check_local_path(path: str | None, field: str) -> str:
    if path is None:
        # Optional in the shape, required by the service unless AppManaged is True.
        raise ValidationException(
            f"{field} is required: give the folder under {PROCESSING_ROOT}/ that the container uses."
        )
    pure = PurePosixPath(path)
    if not (
        pure.is_absolute() and pure.is_relative_to(PROCESSING_ROOT) and pure != PurePosixPath(PROCESSING_ROOT)
    ):
        raise ValidationException(
            f"{field} '{path}' is not valid: a LocalPath must be an absolute path under {PROCESSING_ROOT}/, "
            f"for example {PROCESSING_ROOT}/input/data."
        )
    if any(part in (".", "..") for part in path.split("/")):
        raise ValidationException(f"{field} '{path}' must not hold '.' or '..' segments.")
    return path.rstrip("/")


def _unique(names: list[str], what: str) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValidationException(f"{what} must be unique; repeated: {', '.join(repeated)}.")


def _inputs(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    _unique([i["InputName"] for i in inputs], "ProcessingInputs InputName values")
    filled = []
    for item in inputs:
        item = {"AppManaged": False, **item}
        name = item["InputName"]
        if "S3Input" not in item:
            raise ValidationException(
                f"ProcessingInput '{name}': the local service reads processing inputs from S3 only; pass "
                "S3Input (DatasetDefinition needs Athena or Redshift)."
            )
        source = {
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
            **item["S3Input"],
        }
        parse_s3_uri(source["S3Uri"], f"ProcessingInput '{name}' S3Uri")
        source["LocalPath"] = _check_local_path(
            source.get("LocalPath"), f"ProcessingInput '{name}' LocalPath"
        )
        if source["S3InputMode"] != "File":
            raise ValidationException(
                f"ProcessingInput '{name}': S3InputMode {source['S3InputMode']} is not supported locally; "
                "use File."
            )
        if source["S3CompressionType"] != "None":
            # As on SageMaker: Gzip is for Pipe mode only.
            raise ValidationException(
                f"ProcessingInput '{name}': S3CompressionType Gzip is only valid with S3InputMode Pipe."
            )
        item["S3Input"] = source
        filled.append(item)
    _unique([i["S3Input"]["LocalPath"] for i in filled], "ProcessingInputs LocalPath values")
    return filled


def _outputs(config: dict[str, Any]) -> dict[str, Any]:
    outputs = config.get("Outputs", [])
    _unique([o["OutputName"] for o in outputs], "ProcessingOutputs OutputName values")
    filled = []
    for output in outputs:
        output = {"AppManaged": False, **output}
        name = output["OutputName"]
        if "S3Output" not in output:
            raise ValidationException(
                f"ProcessingOutput '{name}': the local service writes processing outputs to S3 only; pass "
                "S3Output (FeatureStoreOutput needs a feature group)."
            )
        target = dict(output["S3Output"])
        parse_s3_uri(target["S3Uri"], f"ProcessingOutput '{name}' S3Uri")
        target["LocalPath"] = _check_local_path(
            target.get("LocalPath"), f"ProcessingOutput '{name}' LocalPath"
        )
        target.setdefault("S3UploadMode", "EndOfJob")
        output["S3Output"] = target
        filled.append(output)
    return {**config, "Outputs": filled}


@operation("CreateProcessingJob")
def create_processing_job(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["ProcessingJobName"]
    arn = service.arn("processing-job", name)
    now = time.time()
    doc: dict[str, Any] = {
        "ProcessingInputs": _inputs([dict(i) for i in params.get("ProcessingInputs", [])]),
        "ProcessingOutputConfig": _outputs(dict(params.get("ProcessingOutputConfig") or {})),
        "ProcessingJobName": name,
        "ProcessingResources": params["ProcessingResources"],
        "AppSpecification": params["AppSpecification"],
        "RoleArn": params["RoleArn"],
        "ProcessingJobArn": arn,
        "ProcessingJobStatus": "InProgress",
        "CreationTime": now,
        "LastModifiedTime": now,
        **pick(params, *OPTIONAL_MEMBERS),
    }
    if "ProcessingOutputConfig" not in params:
        del doc["ProcessingOutputConfig"]
    already_exists = ResourceInUse(
        f"Processing job names must be unique within an AWS account and region, and a processing job "
        f"with this name already exists ({arn}). Choose another name."
    )
    run = ProcessingJobRun(service, name)

    def create() -> None:
        if not service.store.insert(KIND, name, arn, doc, params.get("Tags")):
            raise already_exists

    try:
        service.runs.start(KIND, name, run, create)
    except NameInUse:
        raise already_exists from None
    return {"ProcessingJobArn": arn}


@operation("DescribeProcessingJob")
def describe_processing_job(service, params: dict[str, Any]) -> dict[str, Any]:
    return get_processing_job(service, params["ProcessingJobName"])


@operation("ListProcessingJobs")
def list_processing_jobs(service, params: dict[str, Any]) -> dict[str, Any]:
    return list_page(
        "ListProcessingJobs",
        service.store.list(KIND),
        params,
        name_key="ProcessingJobName",
        status_key="ProcessingJobStatus",
    )


@operation("StopProcessingJob")
def stop_processing_job(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["ProcessingJobName"]
    get_processing_job(service, name)
    status = request_stop(service.store, service.runs, KIND, name, "Stopping the processing job")
    if status != "InProgress":
        raise ValidationException(
            f"The processing job '{name}' is {status}; only an InProgress job can be stopped."
        )
    return {}
