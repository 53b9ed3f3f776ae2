"""Code repositories: git repositories by name, for notebook instances to clone."""

from __future__ import annotations

import time
from typing import Any

from helpers.local.api.listing import list_page
from helpers.local.api.registry import operation
from helpers.local.api.resources import create_resource, get_resource
from helpers.local.core.errors import ValidationException
from helpers.local.notebooks.repositories import CODE_REPOSITORY


def _arn(service, name: str) -> str:
    return service.arn("code-repository", name)


def _not_found(service, name: str) -> ValidationException:
    return ValidationException(
        f"Cannot find Code Repository {_arn(service, name)}: create it first (CreateCodeRepository)."
    )


def _refuse_secret(git_config: dict[str, Any]) -> None:
    # Accepting a secret the service cannot read would clone without it: refused instead.
    if git_config.get("SecretArn"):
        raise ValidationException(
            "GitConfig.SecretArn: Secrets Manager credentials are not supported by the local SageMaker "
            "service; clone over ssh with a key your ssh agent holds, or from a public or local repository."
        )


@operation("CreateCodeRepository")
def create_code_repository(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["CodeRepositoryName"]
    _refuse_secret(params["GitConfig"])
    arn = _arn(service, name)
    now = time.time()
    doc = {
        "CodeRepositoryName": name,
        "CodeRepositoryArn": arn,
        "CreationTime": now,
        "LastModifiedTime": now,
        "GitConfig": params["GitConfig"],
    }
    already_exists = ValidationException(f"Cannot create a duplicate Code Repository ({arn})")
    create_resource(service, CODE_REPOSITORY, name, arn, doc, params.get("Tags"), already_exists)
    return {"CodeRepositoryArn": arn}


@operation("DescribeCodeRepository")
def describe_code_repository(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["CodeRepositoryName"]
    return get_resource(service, CODE_REPOSITORY, name, _not_found(service, name))


@operation("ListCodeRepositories")
def list_code_repositories(service, params: dict[str, Any]) -> dict[str, Any]:
    return list_page(
        "ListCodeRepositories",
        service.store.list(CODE_REPOSITORY),
        params,
        name_key="CodeRepositoryName",
        status_key=None,
    )


@operation("UpdateCodeRepository")
def update_code_repository(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["CodeRepositoryName"]
    _refuse_secret(params.get("GitConfig") or {})
    doc = service.store.update(CODE_REPOSITORY, name, lambda d: d.update(LastModifiedTime=time.time()))
    if doc is None:
        raise _not_found(service, name)
    return {"CodeRepositoryArn": doc["CodeRepositoryArn"]}


@operation("DeleteCodeRepository")
def delete_code_repository(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["CodeRepositoryName"]
    if not service.store.delete(CODE_REPOSITORY, name):
        raise _not_found(service, name)
    return {}
