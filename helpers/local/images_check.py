"""Turns an unsupported image URI into the API error a learner can act on."""

from __future__ import annotations

from helpers.local.core.errors import ValidationException
from helpers.local.images import UnknownImageError, resolve_image


def check_image(image_uri: str, field: str) -> str:
    """The image's module, or ValidationException naming the field and the supported images."""
    try:
        return resolve_image(image_uri)
    except UnknownImageError as exc:
        raise ValidationException(f"{field}: {exc}") from exc
