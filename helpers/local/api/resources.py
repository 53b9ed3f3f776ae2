"""Looking up and registering resources, with the error AWS gives for each resource family."""

from __future__ import annotations

from typing import Any

from helpers.local.core.errors import ServiceError


def get_resource(service, kind: str, name: str, not_found: ServiceError) -> dict[str, Any]:
    """The stored Describe document, or ``not_found`` raised."""
    doc = service.store.get(kind, name)
    if doc is None:
        raise not_found
    return doc


def create_resource(
    service, kind: str, name: str, arn: str, doc: dict[str, Any], tags: list[dict[str, str]] | None,
    already_exists: ServiceError,
) -> None:  # fmt: skip
    """Store a new resource and its tags, or raise ``already_exists`` if the name is taken."""
    if not service.store.insert(kind, name, arn, doc, tags):
        raise already_exists
