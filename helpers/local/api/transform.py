"""CreateTransformJob, DescribeTransformJob, ListTransformJobs, StopTransformJob."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from helpers.local.api.listing import list_page, pick
from helpers.local.api.models import get_model
from helpers.local.api.registry import operation
from helpers.local.api.resources import get_resource
from helpers.local.core.errors import ResourceInUse, ValidationException
from helpers.local.core.s3_uri import parse_s3_uri
from helpers.local.jobs import quotas
from helpers.local.jobs.data_processing import DataProcessingError, data_processing
from helpers.local.jobs.runs import NameInUse, request_stop
from helpers.local.jobs.transform import TransformJobRun

KIND = "TransformJob"


def get_transform_job(service, name: str) -> dict[str, Any]:
    return get_resource(
        service, KIND, name, ValidationException(f"Could not find requested job with name {name}.")
    )


@operation("CreateTransformJob")
def create_transform_job(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["TransformJobName"]
    get_model(service, params["ModelName"])
    transform_input = dict(params["TransformInput"])
    source = transform_input["DataSource"].get("S3DataSource")
    if source is None:
        raise ValidationException("TransformInput.DataSource.S3DataSource is required locally.")
    if source["S3DataType"] != "S3Prefix":
        raise ValidationException(
            f"S3DataType {source['S3DataType']} is not supported locally; use S3Prefix."
        )
    parse_s3_uri(source["S3Uri"], "TransformInput S3Uri")
    transform_input.setdefault("CompressionType", "None")
    transform_input.setdefault("SplitType", "None")
    if transform_input["CompressionType"] != "None":
        raise ValidationException("CompressionType Gzip is not supported locally; upload plain files.")
    output = dict(params["TransformOutput"])
    parse_s3_uri(output["S3OutputPath"], "TransformOutput.S3OutputPath")
    output.setdefault("AssembleWith", "None")
    payload = params.get("MaxPayloadInMB", 6)
    if not 0 < payload <= 100:
        raise ValidationException("MaxPayloadInMB must be between 1 and 100.")
    arn = service.arn("transform-job", name)
    doc = {
        "TransformJobName": name,
        "TransformJobArn": arn,
        "TransformJobStatus": "InProgress",
        "ModelName": params["ModelName"],
        "MaxConcurrentTransforms": params.get("MaxConcurrentTransforms", 1),
        "MaxPayloadInMB": payload,
        "BatchStrategy": params.get("BatchStrategy", "MultiRecord"),
        "Environment": params.get("Environment"),
        "TransformInput": transform_input,
        "TransformOutput": output,
        "TransformResources": params["TransformResources"],
        "CreationTime": time.time(),
        **pick(params, "DataProcessing", "ModelClientConfig", "ExperimentConfig", "DataCaptureConfig"),
    }
    # An unsupported path or combination is refused here, as AWS does; a path AWS accepts but
    # cannot apply (several ranges) fails the job instead.
    with contextlib.suppress(DataProcessingError):
        data_processing(doc)
    already_exists = ResourceInUse(
        f"Transform job names must be unique within an AWS account and region, and a transform "
        f"job with this name already exists ({arn}). Choose another name."
    )
    run = TransformJobRun(service, name)

    def create() -> None:
        if not service.store.insert(KIND, name, arn, doc, params.get("Tags")):
            raise already_exists

    with quotas.LOCK:  # the instances are counted from stored jobs: check and store as one step
        quotas.check_transform_job(service, doc["TransformResources"])
        try:
            service.runs.start(KIND, name, run, create)
        except NameInUse:
            raise already_exists from None
    return {"TransformJobArn": arn}


@operation("DescribeTransformJob")
def describe_transform_job(service, params: dict[str, Any]) -> dict[str, Any]:
    return get_transform_job(service, params["TransformJobName"])


@operation("ListTransformJobs")
def list_transform_jobs(service, params: dict[str, Any]) -> dict[str, Any]:
    return list_page(
        "ListTransformJobs",
        service.store.list(KIND),
        params,
        name_key="TransformJobName",
        status_key="TransformJobStatus",
    )


@operation("StopTransformJob")
def stop_transform_job(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["TransformJobName"]
    get_transform_job(service, name)
    status = request_stop(service.store, service.runs, KIND, name, "Stopping the transform job")
    if status != "InProgress":
        raise ValidationException(
            f"The transform job '{name}' is {status}; only an InProgress job can be stopped."
        )
    return {}
