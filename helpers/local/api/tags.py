"""AddTags, ListTags, DeleteTags for any resource the service holds."""

from __future__ import annotations

from typing import Any

from helpers.local.api.listing import paginate
from helpers.local.api.registry import operation
from helpers.local.core.errors import ValidationException


def _require(service, arn: str) -> None:
    if not service.store.exists_arn(arn):
        raise ValidationException(
            f"Could not find resource with ARN '{arn}': check the ARN, or create the resource first."
        )


@operation("AddTags")
def add_tags(service, params: dict[str, Any]) -> dict[str, Any]:
    _require(service, params["ResourceArn"])
    service.store.add_tags(params["ResourceArn"], params["Tags"])
    return {"Tags": params["Tags"]}


@operation("ListTags")
def list_tags(service, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["ResourceArn"]
    _require(service, arn)
    return paginate("ListTags", service.store.tags(arn), params, scope=arn)


@operation("DeleteTags")
def delete_tags(service, params: dict[str, Any]) -> dict[str, Any]:
    _require(service, params["ResourceArn"])
    service.store.delete_tags(params["ResourceArn"], params["TagKeys"])
    return {}
