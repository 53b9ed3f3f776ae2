"""Endpoint configs and endpoints: Create/Describe/List/Delete, UpdateEndpoint, weights and capacities."""

from __future__ import annotations

import time
from typing import Any

from helpers.local.api.listing import list_page, pick
from helpers.local.api.models import get_model
from helpers.local.api.registry import operation
from helpers.local.api.resources import create_resource, get_resource
from helpers.local.core.errors import ValidationException
from helpers.local.hosting.deployments import ENDPOINT, variant_summaries
from helpers.local.jobs import quotas

CONFIG = "EndpointConfig"


def get_endpoint_config(service, name: str) -> dict[str, Any]:
    not_found = ValidationException(
        f'Could not find endpoint configuration "{service.arn("endpoint-config", name)}".'
    )
    return get_resource(service, CONFIG, name, not_found)


def get_endpoint(service, name: str) -> dict[str, Any]:
    return get_resource(
        service,
        ENDPOINT,
        name,
        ValidationException(f'Could not find endpoint "{service.arn("endpoint", name)}".'),
    )


def _models_of(service, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["ModelName"]: get_model(service, v["ModelName"]) for v in config["ProductionVariants"]}


# Endpoint features a local endpoint would accept but not honour: refused, so nothing silently differs.
_UNSUPPORTED_CONFIG = {
    "AsyncInferenceConfig": "asynchronous inference (InvokeEndpointAsync)",
    "ExplainerConfig": "online explainability with SageMaker Clarify",
    "ShadowProductionVariants": "shadow variants",
}


def _refuse_unsupported_features(params: dict[str, Any]) -> None:
    for field, feature in _UNSUPPORTED_CONFIG.items():
        if params.get(field):
            raise ValidationException(
                f"{field}: {feature} is not supported by the local SageMaker service; create the "
                f"endpoint configuration without {field}."
            )
    capture = params.get("DataCaptureConfig")
    if capture and capture.get("EnableCapture", True):
        raise ValidationException(
            "DataCaptureConfig: capturing requests and answers (Model Monitor) is not supported by the "
            "local SageMaker service; create the endpoint configuration without DataCaptureConfig."
        )


@operation("CreateEndpointConfig")
def create_endpoint_config(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["EndpointConfigName"]
    _refuse_unsupported_features(params)
    variants = []
    for spec in params["ProductionVariants"]:
        get_model(service, spec.get("ModelName", ""))
        if spec.get("ServerlessConfig") or "InitialInstanceCount" not in spec:
            raise ValidationException(
                f"Variant {spec['VariantName']}: set InitialInstanceCount "
                "(serverless variants are not supported locally)."
            )
        if spec["InitialInstanceCount"] < 1:
            raise ValidationException(
                f"Variant {spec['VariantName']}: InitialInstanceCount must be at least 1."
            )
        variants.append({**spec, "InitialVariantWeight": float(spec.get("InitialVariantWeight", 1.0))})
    names = [v["VariantName"] for v in variants]
    if len(set(names)) != len(names):
        raise ValidationException("Each production variant needs its own VariantName.")
    arn = service.arn("endpoint-config", name)
    doc = {
        "EndpointConfigName": name,
        "EndpointConfigArn": arn,
        "ProductionVariants": variants,
        "CreationTime": time.time(),
        **pick(params, "DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig", "ExplainerConfig"),
    }
    already_exists = ValidationException(f'Cannot create already existing endpoint configuration "{arn}".')
    create_resource(service, CONFIG, name, arn, doc, params.get("Tags"), already_exists)
    return {"EndpointConfigArn": arn}


@operation("DescribeEndpointConfig")
def describe_endpoint_config(service, params: dict[str, Any]) -> dict[str, Any]:
    return get_endpoint_config(service, params["EndpointConfigName"])


@operation("ListEndpointConfigs")
def list_endpoint_configs(service, params: dict[str, Any]) -> dict[str, Any]:
    return list_page(
        "ListEndpointConfigs",
        service.store.list(CONFIG),
        params,
        name_key="EndpointConfigName",
        status_key=None,
    )


@operation("DeleteEndpointConfig")
def delete_endpoint_config(service, params: dict[str, Any]) -> dict[str, Any]:
    # As on AWS, a config that an endpoint uses can be deleted; the endpoint keeps serving.
    name = params["EndpointConfigName"]
    if not service.store.delete(CONFIG, name):
        raise ValidationException(
            f'Could not find endpoint configuration "{service.arn("endpoint-config", name)}".'
        )
    return {}


@operation("CreateEndpoint")
def create_endpoint(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["EndpointName"]
    config = get_endpoint_config(service, params["EndpointConfigName"])
    models = _models_of(service, config)
    arn = service.arn("endpoint", name)
    timestamp = time.time()
    doc = {
        "EndpointName": name,
        "EndpointArn": arn,
        "EndpointConfigName": config["EndpointConfigName"],
        "ProductionVariants": variant_summaries(config, None),
        "EndpointStatus": "Creating",
        "CreationTime": timestamp,
        "LastModifiedTime": timestamp,
    }
    already_exists = ValidationException(f'Cannot create already existing endpoint "{arn}".')
    with quotas.LOCK:
        quotas.check_endpoint(service, quotas.variant_instances(config["ProductionVariants"]))
        create_resource(service, ENDPOINT, name, arn, doc, params.get("Tags"), already_exists)
    service.endpoints.create(name, config, models)
    return {"EndpointArn": arn}


@operation("DescribeEndpoint")
def describe_endpoint(service, params: dict[str, Any]) -> dict[str, Any]:
    return get_endpoint(service, params["EndpointName"])


@operation("ListEndpoints")
def list_endpoints(service, params: dict[str, Any]) -> dict[str, Any]:
    return list_page(
        "ListEndpoints",
        service.store.list(ENDPOINT),
        params,
        name_key="EndpointName",
        status_key="EndpointStatus",
    )


def _require_in_service(doc: dict[str, Any]) -> None:
    if doc["EndpointStatus"] != "InService":
        raise ValidationException(
            f'Cannot update in-progress endpoint "{doc["EndpointArn"]}" (status {doc["EndpointStatus"]}): '
            "wait until it is InService."
        )


def _mark_updating(service, name: str) -> None:
    service.store.update(
        ENDPOINT, name, lambda d: d.update(EndpointStatus="Updating", LastModifiedTime=time.time())
    )


@operation("UpdateEndpoint")
def update_endpoint(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["EndpointName"]
    doc = get_endpoint(service, name)
    _require_in_service(doc)
    config = get_endpoint_config(service, params["EndpointConfigName"])
    models = _models_of(service, config)
    retain = params.get("RetainAllVariantProperties", False)
    counts = (
        {v["VariantName"]: v["DesiredInstanceCount"] for v in doc["ProductionVariants"]} if retain else None
    )
    with quotas.LOCK:
        # The new fleet replaces this endpoint's instances; the other endpoints keep theirs.
        quotas.check_endpoint(
            service, quotas.variant_instances(config["ProductionVariants"], counts), replacing=name
        )
        _mark_updating(service, name)
    service.endpoints.update(name, config, models, retain=retain)
    return {"EndpointArn": doc["EndpointArn"]}


@operation("UpdateEndpointWeightsAndCapacities")
def update_endpoint_weights_and_capacities(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["EndpointName"]
    doc = get_endpoint(service, name)
    _require_in_service(doc)
    known = {v["VariantName"] for v in doc["ProductionVariants"]}
    for change in params["DesiredWeightsAndCapacities"]:
        if change["VariantName"] not in known:
            raise ValidationException(f"The variant {change['VariantName']} is not part of endpoint {name}.")
        if change.get("DesiredInstanceCount", 1) < 1 or change.get("DesiredWeight", 0) < 0:
            raise ValidationException("DesiredInstanceCount must be at least 1 and DesiredWeight at least 0.")
    with quotas.LOCK:
        quotas.check_endpoint(
            service, _rescaled(service, doc, params["DesiredWeightsAndCapacities"]), replacing=name
        )
        _mark_updating(service, name)
    service.endpoints.update_weights_and_capacities(name, params["DesiredWeightsAndCapacities"])
    return {"EndpointArn": doc["EndpointArn"]}


def _rescaled(service, doc: dict[str, Any], changes: list[dict[str, Any]]) -> Any:
    """The endpoint's instances by type once ``DesiredWeightsAndCapacities`` are applied."""
    counts = {v["VariantName"]: v["DesiredInstanceCount"] for v in doc["ProductionVariants"]}
    counts.update(
        {c["VariantName"]: c["DesiredInstanceCount"] for c in changes if "DesiredInstanceCount" in c}
    )
    return quotas.endpoint_instances(service, {**doc, "ProductionVariants": [
        {"VariantName": name, "DesiredInstanceCount": count} for name, count in counts.items()
    ]})  # fmt: skip


@operation("DeleteEndpoint")
def delete_endpoint(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["EndpointName"]
    get_endpoint(service, name)
    service.store.update(
        ENDPOINT, name, lambda d: d.update(EndpointStatus="Deleting", LastModifiedTime=time.time())
    )
    service.endpoints.delete(name)
    return {}
