"""Notebook instance lifecycle configurations: OnCreate and OnStart scripts, base64 as the API has them."""

from __future__ import annotations

import time
from typing import Any

from helpers.local.api.listing import list_page
from helpers.local.api.registry import operation
from helpers.local.api.resources import create_resource, get_resource
from helpers.local.core.errors import ValidationException
from helpers.local.notebooks.instances import LIFECYCLE_CONFIG
from helpers.local.notebooks.lifecycle_scripts import HOOKS, script_text


def config_arn(service, name: str) -> str:
    return service.arn("notebook-instance-lifecycle-config", name)


def _not_found(service, name: str, action: str) -> ValidationException:
    return ValidationException(
        f"Unable to {action} Notebook Instance Lifecycle Config '{config_arn(service, name)}'. "
        "(Details: Notebook Instance Lifecycle Config does not exist.)"
    )


def _check_scripts(params: dict[str, Any]) -> None:
    for hook in HOOKS:
        for index, script in enumerate(params.get(hook) or []):
            if "Content" not in script:
                raise ValidationException(f"{hook}[{index}]: give the script as Content.")
            try:
                script_text(script["Content"])
            except ValueError as exc:
                raise ValidationException(f"{hook}[{index}].Content: {exc}.") from None


@operation("CreateNotebookInstanceLifecycleConfig")
def create_lifecycle_config(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["NotebookInstanceLifecycleConfigName"]
    _check_scripts(params)
    arn = config_arn(service, name)
    now = time.time()
    doc = {
        "NotebookInstanceLifecycleConfigArn": arn,
        "NotebookInstanceLifecycleConfigName": name,
        "OnCreate": params.get("OnCreate") or [],
        "OnStart": params.get("OnStart") or [],
        "CreationTime": now,
        "LastModifiedTime": now,
    }
    already_exists = ValidationException(
        f"Unable to create Notebook Instance Lifecycle Config '{arn}'. "
        "(Details: Notebook Instance Lifecycle Config already exists.)"
    )
    create_resource(service, LIFECYCLE_CONFIG, name, arn, doc, params.get("Tags"), already_exists)
    return {"NotebookInstanceLifecycleConfigArn": arn}


@operation("DescribeNotebookInstanceLifecycleConfig")
def describe_lifecycle_config(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["NotebookInstanceLifecycleConfigName"]
    return get_resource(service, LIFECYCLE_CONFIG, name, _not_found(service, name, "describe"))


@operation("ListNotebookInstanceLifecycleConfigs")
def list_lifecycle_configs(service, params: dict[str, Any]) -> dict[str, Any]:
    return list_page(
        "ListNotebookInstanceLifecycleConfigs",
        service.store.list(LIFECYCLE_CONFIG),
        params,
        name_key="NotebookInstanceLifecycleConfigName",
        status_key=None,
    )


@operation("UpdateNotebookInstanceLifecycleConfig")
def update_lifecycle_config(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["NotebookInstanceLifecycleConfigName"]
    _check_scripts(params)

    def change(doc: dict[str, Any]) -> None:
        for hook in HOOKS:
            if hook in params:
                doc[hook] = params[hook]
        doc["LastModifiedTime"] = time.time()

    if service.store.update(LIFECYCLE_CONFIG, name, change) is None:
        raise _not_found(service, name, "update")
    return {}


@operation("DeleteNotebookInstanceLifecycleConfig")
def delete_lifecycle_config(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["NotebookInstanceLifecycleConfigName"]
    if not service.store.delete(LIFECYCLE_CONFIG, name):
        raise _not_found(service, name, "delete")
    return {}
