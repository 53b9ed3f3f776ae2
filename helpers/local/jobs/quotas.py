"""Account quotas on ML instances, applied as SageMaker applies its service quotas.

Every training job, transform job and endpoint instance is a real process on this machine, so
the quotas are what keeps a runaway request (``InitialInstanceCount=1000``) from starting a
thousand of them. The names are SageMaker's quota names; the defaults fit a laptop and every
course notebook (1-2 instances per job or variant, tuning jobs with up to 3 training jobs at once).
Values can be changed in ``quotas.json`` in the state folder or in ``SAGEMAKER_LOCAL_QUOTAS``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

from helpers.local.core.config import QUOTAS_FILE, quota_overrides
from helpers.local.core.errors import ResourceLimitExceeded, ValidationException

TRAINING_TOTAL = "Number of instances across all training jobs"
NOTEBOOK_USAGE = "notebook instance"
DEFAULT_PER_INSTANCE_TYPE = {"training job": 8, "transform job": 4, "endpoint": 8, NOTEBOOK_USAGE: 2}
# A new account may run no notebook instance with a GPU or other accelerator until it asks for an
# increase (Service Quotas); the lessons show that error on ml.p2.xlarge.
ACCELERATED_FAMILIES = ("ml.p", "ml.g", "ml.inf", "ml.trn", "ml.dl")
DEFAULT_TOTALS = {TRAINING_TOTAL: 8}
ACTIVE_JOB = ("InProgress", "Stopping")

# Held from a quota check until the resource it allows is stored, so two requests at the same
# moment cannot both take the last instances.
LOCK = threading.RLock()


def instance_type_quota(instance_type: str, usage: str) -> str:
    """``ml.m5.large for training job usage``: SageMaker's quota name for one instance type."""
    return f"{instance_type} for {usage} usage"


def quota_value(service, name: str) -> int:
    try:
        overrides = quota_overrides(service.config)
    except ValueError as exc:
        raise ValidationException(f"The local service's quota settings are not valid: {exc}") from exc
    if name in overrides:
        return overrides[name]
    if name in DEFAULT_TOTALS:
        return DEFAULT_TOTALS[name]
    instance_type, _, usage = name.partition(" for ")
    usage = usage.removesuffix(" usage")
    if usage == NOTEBOOK_USAGE and instance_type.startswith(ACCELERATED_FAMILIES):
        return 0
    return DEFAULT_PER_INSTANCE_TYPE.get(usage, 0)


def limit_exceeded(name: str, limit: int, used: int, delta: int) -> ResourceLimitExceeded:
    return ResourceLimitExceeded(
        f"The account-level service limit '{name}' is {limit} Instances, with current utilization of "
        f"{used} Instances and a request delta of {delta} Instances. Please use AWS Service Quotas to "
        "request an increase for this quota. If AWS Service Quotas is not available, contact AWS "
        f"support to request an increase for this quota. (Local service: set '{name}' in {QUOTAS_FILE} "
        "in the state folder or in SAGEMAKER_LOCAL_QUOTAS.)"
    )


def _check(service, name: str, used: int, delta: int) -> None:
    limit = quota_value(service, name)
    if used + delta > limit:
        raise limit_exceeded(name, limit, used, delta)


def _check_per_type(service, usage: str, in_use: Counter, requested: Counter) -> None:
    for instance_type, delta in requested.items():
        _check(service, instance_type_quota(instance_type, usage), in_use[instance_type], delta)


# -- training jobs ------------------------------------------------------------------------------


def _instances(resource_config: dict[str, Any]) -> Counter:
    """Instances by type of a ``ResourceConfig`` (or ``TransformResources``), instance groups included."""
    counts: Counter = Counter()
    for group in resource_config.get("InstanceGroups") or []:
        counts[group["InstanceType"]] += int(group["InstanceCount"])
    if "InstanceType" in resource_config:
        counts[resource_config["InstanceType"]] += int(resource_config.get("InstanceCount", 1))
    return counts


def training_in_use(service) -> Counter:
    counts: Counter = Counter()
    for doc in service.store.list("TrainingJob"):
        if doc["TrainingJobStatus"] in ACTIVE_JOB:
            counts.update(_instances(doc["ResourceConfig"]))
    return counts


def check_training_job(service, resource_config: dict[str, Any], alone: bool = False) -> None:
    """Raise ResourceLimitExceeded if a training job with this ``ResourceConfig`` may not start now.

    ``alone``: whether the job would fit with nothing else running (a tuning job's check at
    Create: it waits for running jobs to end, but a job that can never fit fails at once).
    """
    requested = _instances(resource_config)
    in_use = Counter() if alone else training_in_use(service)
    _check_per_type(service, "training job", in_use, requested)
    _check(service, TRAINING_TOTAL, sum(in_use.values()), sum(requested.values()))


def training_job_fits(service, resource_config: dict[str, Any]) -> bool:
    try:
        check_training_job(service, resource_config)
    except ResourceLimitExceeded:
        return False
    return True


# -- transform jobs -----------------------------------------------------------------------------


def check_transform_job(service, transform_resources: dict[str, Any]) -> None:
    in_use: Counter = Counter()
    for doc in service.store.list("TransformJob"):
        if doc["TransformJobStatus"] in ACTIVE_JOB:
            in_use.update(_instances(doc["TransformResources"]))
    _check_per_type(service, "transform job", in_use, _instances(transform_resources))


# -- endpoints ----------------------------------------------------------------------------------


def variant_instances(variants: Iterable[dict[str, Any]], counts: dict[str, int] | None = None) -> Counter:
    """Instances by type of endpoint config variants; ``counts`` overrides a variant's instance count."""
    total: Counter = Counter()
    for variant in variants:
        if "InstanceType" not in variant:
            continue  # serverless variants have no instances
        count = (counts or {}).get(variant["VariantName"], variant.get("InitialInstanceCount", 1))
        total[variant["InstanceType"]] += int(count)
    return total


def endpoint_instances(service, endpoint: dict[str, Any]) -> Counter:
    """The instances an existing endpoint holds, by type."""
    deployment = service.store.get_record("Endpoint", endpoint["EndpointName"])
    config = (deployment or {}).get("EndpointConfig") or service.store.get(
        "EndpointConfig", endpoint["EndpointConfigName"]
    )
    if config is None:
        return Counter()
    counts = {
        v["VariantName"]: v.get("DesiredInstanceCount", 0) for v in endpoint.get("ProductionVariants", [])
    }
    return variant_instances(config["ProductionVariants"], counts)


def check_endpoint(service, requested: Counter, replacing: str | None = None) -> None:
    """Raise ResourceLimitExceeded unless ``requested`` instances fit beside the other endpoints'.

    ``replacing``: the endpoint being updated, whose current instances the request replaces.
    """
    in_use: Counter = Counter()
    for doc in service.store.list("Endpoint"):
        if doc["EndpointName"] != replacing and doc["EndpointStatus"] != "Failed":
            in_use.update(endpoint_instances(service, doc))
    _check_per_type(service, "endpoint", in_use, requested)


# -- notebook instances -------------------------------------------------------------------------

NOTEBOOK_RUNNING = ("Pending", "InService", "Stopping", "Updating")


def check_notebook_instance(service, instance_type: str) -> None:
    """Raise ResourceLimitExceeded unless one more notebook instance of this type may run now."""
    in_use: Counter = Counter()
    for doc in service.store.list("NotebookInstance"):
        if doc["NotebookInstanceStatus"] in NOTEBOOK_RUNNING:
            in_use[doc["InstanceType"]] += 1
    _check_per_type(service, NOTEBOOK_USAGE, in_use, Counter({instance_type: 1}))
