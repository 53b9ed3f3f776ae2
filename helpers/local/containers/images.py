"""Which image module a container runs, with the one failure a job or endpoint reports for it."""

from __future__ import annotations

from helpers.local.core.errors import JobFailure
from helpers.local.images import UnknownImageError, resolve_image


def image_module(image_uri: str) -> str:
    """The module run as ``python -m <module> train|serve``, or JobFailure naming the supported images."""
    try:
        return resolve_image(image_uri)
    except UnknownImageError as exc:
        raise JobFailure(f"ClientError: {exc}") from exc
