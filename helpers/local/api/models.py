"""CreateModel, DescribeModel, ListModels, DeleteModel."""

from __future__ import annotations

import time
from typing import Any

from helpers.local.api.listing import list_page, pick
from helpers.local.api.registry import operation
from helpers.local.api.resources import create_resource, get_resource
from helpers.local.aws import backends as moto_backends
from helpers.local.core.errors import ValidationException
from helpers.local.core.s3_uri import parse_s3_uri
from helpers.local.images import UnknownImageError, resolve_image

KIND = "Model"


def get_model(service, name: str) -> dict[str, Any]:
    return get_resource(
        service, KIND, name, ValidationException(f'Could not find model "{service.arn("model", name)}".')
    )


def primary_container(doc: dict[str, Any]) -> dict[str, Any]:
    return doc.get("PrimaryContainer") or doc["Containers"][0]


@operation("CreateModel")
def create_model(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["ModelName"]
    containers = (
        [params["PrimaryContainer"]] if "PrimaryContainer" in params else params.get("Containers", [])
    )
    if len(containers) != 1:
        raise ValidationException(
            "The local service hosts models with exactly one container: pass PrimaryContainer."
        )
    container = containers[0]
    if "Image" not in container:
        raise ValidationException("PrimaryContainer.Image is required: pass the algorithm's image URI.")
    check_image(container["Image"], "PrimaryContainer.Image")
    if container.get("Mode", "SingleModel") != "SingleModel":
        raise ValidationException(
            "Multi-model endpoints (PrimaryContainer.Mode MultiModel) are not supported by the local "
            "SageMaker service: create one model per artifact with Mode SingleModel."
        )
    if "ModelDataUrl" in container:
        check_model_data(container["ModelDataUrl"])
    arn = service.arn("model", name)
    timestamp = time.time()
    doc = {
        "ModelName": name,
        "ModelArn": arn,
        "ExecutionRoleArn": params.get("ExecutionRoleArn"),
        "CreationTime": timestamp,
        "EnableNetworkIsolation": params.get("EnableNetworkIsolation", False),
        **pick(params, "PrimaryContainer", "Containers", "VpcConfig", "InferenceExecutionConfig"),
    }
    already_exists = ValidationException(f'Cannot create already existing model "{arn}".')
    create_resource(service, KIND, name, arn, doc, params.get("Tags"), already_exists)
    return {"ModelArn": arn}


@operation("DescribeModel")
def describe_model(service, params: dict[str, Any]) -> dict[str, Any]:
    return get_model(service, params["ModelName"])


@operation("ListModels")
def list_models(service, params: dict[str, Any]) -> dict[str, Any]:
    return list_page("ListModels", service.store.list(KIND), params, name_key="ModelName", status_key=None)


@operation("DeleteModel")
def delete_model(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["ModelName"]
    if not service.store.delete(KIND, name):
        raise ValidationException(f'Could not find model "{service.arn("model", name)}".')
    return {}


def check_model_data(url: str) -> None:
    """AWS checks at CreateModel that the artifact is there, not later when an endpoint starts."""
    location = parse_s3_uri(url, "ModelDataUrl")
    if location.key.endswith("/"):
        found = bool(moto_backends.list_keys(location))  # uncompressed model data: a prefix
    else:
        found = moto_backends.object_exists(location.bucket, location.key)
    if not found:
        raise ValidationException(f"Could not find model data at {url}.")


def check_image(image_uri: str, field: str) -> str:
    """The image's module, or ValidationException naming the field and the supported images."""
    try:
        return resolve_image(image_uri)
    except UnknownImageError as exc:
        raise ValidationException(f"{field}: {exc}") from exc
