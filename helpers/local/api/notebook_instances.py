"""Notebook instances: Create/Describe/List/Start/Stop/Update/Delete and the presigned Jupyter URL."""

from __future__ import annotations

import time
from typing import Any

from helpers.local.api.listing import list_page, pick
from helpers.local.api.registry import operation
from helpers.local.api.resources import create_resource, get_resource
from helpers.local.aws.roles import role_problem
from helpers.local.core.errors import ValidationException
from helpers.local.jobs import quotas
from helpers.local.notebooks.instances import LIFECYCLE_CONFIG, NOTEBOOK_INSTANCE, STATUS
from helpers.local.notebooks.repositories import CODE_REPOSITORY, folder_name, is_repository_name

SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"
DEFAULT_VOLUME_SIZE_IN_GB = 5
DEFAULT_PLATFORM = "notebook-al2-v3"  # Amazon Linux 2 with JupyterLab 4, as the local server is
# Members of the request that the Describe answer shows as they were given.
ECHOED = (
    "InstanceType",
    "RoleArn",
    "KmsKeyId",
    "SubnetId",
    "AcceleratorTypes",
    "DefaultCodeRepository",
    "AdditionalCodeRepositories",
    "InstanceMetadataServiceConfiguration",
    "IpAddressType",
)


def instance_arn(service, name: str) -> str:
    return service.arn("notebook-instance", name)


def get_notebook_instance(service, name: str) -> dict[str, Any]:
    arn = instance_arn(service, name)
    not_found = ValidationException(f"RecordNotFound: Notebook Instance {arn} does not exist.")
    return get_resource(service, NOTEBOOK_INSTANCE, name, not_found)


def _not_in(status: str, allowed: tuple[str, ...], target: str, arn: str) -> ValidationException:
    # AWS's wording for a transition the instance's status does not allow.
    return ValidationException(
        f"Status ({status}) not in ([{', '.join(allowed)}]). Unable to transition to ({target}) for "
        f"Notebook Instance ({arn})."
    )


def _check_role(role_arn: str) -> None:
    problem = role_problem(role_arn, SAGEMAKER_PRINCIPAL)
    if problem:
        raise ValidationException(problem)


def _check_lifecycle_config(service, name: str | None) -> None:
    if name and service.store.get(LIFECYCLE_CONFIG, name) is None:
        arn = service.arn("notebook-instance-lifecycle-config", name)
        raise ValidationException(
            f"Unable to find Notebook Instance Lifecycle Config {arn}: create it "
            "(CreateNotebookInstanceLifecycleConfig) or leave LifecycleConfigName out."
        )


def _check_repositories(service, params: dict[str, Any]) -> None:
    repositories = ([params["DefaultCodeRepository"]] if params.get("DefaultCodeRepository") else []) + list(
        params.get("AdditionalCodeRepositories") or []
    )
    for repository in repositories:
        if is_repository_name(repository) and service.store.get(CODE_REPOSITORY, repository) is None:
            raise ValidationException(
                f"Code repository {service.arn('code-repository', repository)} does not exist: create it "
                "(CreateCodeRepository) or give the repository's URL."
            )
    names = [folder_name(r) for r in repositories]
    if len(set(names)) != len(names):
        raise ValidationException(
            "Each code repository of a notebook instance is cloned into a folder named after it: "
            f"give them different names ({', '.join(repositories)})."
        )


@operation("CreateNotebookInstance")
def create_notebook_instance(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["NotebookInstanceName"]
    _check_role(params["RoleArn"])
    _check_lifecycle_config(service, params.get("LifecycleConfigName"))
    _check_repositories(service, params)
    arn = instance_arn(service, name)
    now = time.time()
    doc: dict[str, Any] = {
        "NotebookInstanceArn": arn,
        "NotebookInstanceName": name,
        STATUS: "Pending",
        "Url": f"{name.lower()}.notebook.{service.region}.sagemaker.aws",
        **pick(params, *ECHOED),
        "CreationTime": now,
        "LastModifiedTime": now,
        "DirectInternetAccess": params.get("DirectInternetAccess", "Enabled"),
        "VolumeSizeInGB": params.get("VolumeSizeInGB", DEFAULT_VOLUME_SIZE_IN_GB),
        "RootAccess": params.get("RootAccess", "Enabled"),
        "PlatformIdentifier": params.get("PlatformIdentifier", DEFAULT_PLATFORM),
    }
    if params.get("LifecycleConfigName"):
        doc["NotebookInstanceLifecycleConfigName"] = params["LifecycleConfigName"]
    if params.get("SecurityGroupIds"):
        doc["SecurityGroups"] = params["SecurityGroupIds"]
    already_exists = ValidationException(f"Cannot create a duplicate Notebook Instance ({arn})")
    with quotas.LOCK:
        if service.store.get(NOTEBOOK_INSTANCE, name) is not None:
            raise already_exists
        quotas.check_notebook_instance(service, params["InstanceType"])
        create_resource(service, NOTEBOOK_INSTANCE, name, arn, doc, params.get("Tags"), already_exists)
    service.notebook_instances.create(name)
    return {"NotebookInstanceArn": arn}


@operation("DescribeNotebookInstance")
def describe_notebook_instance(service, params: dict[str, Any]) -> dict[str, Any]:
    return get_notebook_instance(service, params["NotebookInstanceName"])


@operation("ListNotebookInstances")
def list_notebook_instances(service, params: dict[str, Any]) -> dict[str, Any]:
    docs = service.store.list(NOTEBOOK_INSTANCE)
    config = params.get("NotebookInstanceLifecycleConfigNameContains")
    if config:
        docs = [d for d in docs if config.lower() in d.get("NotebookInstanceLifecycleConfigName", "").lower()]
    default = params.get("DefaultCodeRepositoryContains")
    if default:
        docs = [d for d in docs if default.lower() in d.get("DefaultCodeRepository", "").lower()]
    additional = params.get("AdditionalCodeRepositoryEquals")
    if additional:
        docs = [d for d in docs if additional in (d.get("AdditionalCodeRepositories") or [])]
    return list_page(
        "ListNotebookInstances", docs, params, name_key="NotebookInstanceName", status_key=STATUS
    )


@operation("StopNotebookInstance")
def stop_notebook_instance(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["NotebookInstanceName"]
    doc = get_notebook_instance(service, name)
    before = service.notebook_instances.stop(name)
    if before != "InService":
        raise _not_in(before or doc[STATUS], ("InService",), "Stopping", doc["NotebookInstanceArn"])
    return {}


@operation("StartNotebookInstance")
def start_notebook_instance(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["NotebookInstanceName"]
    doc = get_notebook_instance(service, name)
    allowed = ("Stopped", "Failed")
    with quotas.LOCK:
        doc = get_notebook_instance(service, name)
        if doc[STATUS] not in allowed:
            raise _not_in(doc[STATUS], allowed, "Pending", doc["NotebookInstanceArn"])
        quotas.check_notebook_instance(service, doc["InstanceType"])
        before = service.notebook_instances.transition(name, allowed, "Pending")
    if before not in allowed:
        raise _not_in(before or doc[STATUS], allowed, "Pending", doc["NotebookInstanceArn"])
    service.notebook_instances.start(name)
    return {}


@operation("DeleteNotebookInstance")
def delete_notebook_instance(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["NotebookInstanceName"]
    doc = get_notebook_instance(service, name)
    allowed = ("Stopped", "Failed")
    before = service.notebook_instances.transition(name, allowed, "Deleting")
    if before not in allowed:
        raise _not_in(before or doc[STATUS], allowed, "Deleting", doc["NotebookInstanceArn"])
    service.notebook_instances.delete(name)
    return {}


@operation("UpdateNotebookInstance")
def update_notebook_instance(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["NotebookInstanceName"]
    doc = get_notebook_instance(service, name)
    if doc[STATUS] != "Stopped":
        raise ValidationException(
            f"Unable to update Notebook Instance ({doc['NotebookInstanceArn']}) in status {doc[STATUS]}: "
            "stop it first (StopNotebookInstance) and wait until it is Stopped."
        )
    if "RoleArn" in params:
        _check_role(params["RoleArn"])
    _check_lifecycle_config(service, params.get("LifecycleConfigName"))
    merged = {**doc, **pick(params, "DefaultCodeRepository", "AdditionalCodeRepositories")}
    _check_repositories(service, merged)

    def change(d: dict[str, Any]) -> None:
        d.update(pick(params, *ECHOED, "VolumeSizeInGB", "RootAccess", "PlatformIdentifier"))
        if params.get("LifecycleConfigName"):
            d["NotebookInstanceLifecycleConfigName"] = params["LifecycleConfigName"]
        for flag, members in (
            ("DisassociateLifecycleConfig", ("NotebookInstanceLifecycleConfigName",)),
            ("DisassociateAcceleratorTypes", ("AcceleratorTypes",)),
            ("DisassociateDefaultCodeRepository", ("DefaultCodeRepository",)),
            ("DisassociateAdditionalCodeRepositories", ("AdditionalCodeRepositories",)),
        ):
            if params.get(flag):
                for member in members:
                    d.pop(member, None)
        d["LastModifiedTime"] = time.time()

    if service.notebook_instances.transition(name, ("Stopped",), "Stopped", change) != "Stopped":
        raise _not_in(doc[STATUS], ("Stopped",), "Updating", doc["NotebookInstanceArn"])
    return {}


@operation("CreatePresignedNotebookInstanceUrl")
def create_presigned_notebook_instance_url(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["NotebookInstanceName"]
    doc = get_notebook_instance(service, name)
    server = service.notebook_instances.server(name)
    if doc[STATUS] != "InService" or server is None:
        raise ValidationException(
            f"Notebook Instance ({doc['NotebookInstanceArn']}) is {doc[STATUS]}: a presigned URL opens an "
            "InService instance only; start it (StartNotebookInstance) and wait until it is InService."
        )
    return {"AuthorizedUrl": server.url}
