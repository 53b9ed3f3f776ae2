"""SageMaker API operations, one module per resource family, registered by operation name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helpers.local.api.service import Service

Handler = Callable[["Service", dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        OPERATIONS[name] = handler
        return handler

    return register


def load_all() -> None:
    # Importing the modules registers their operations.
    from helpers.local.api import hosting, models, tags, training, transform, tuning  # noqa: F401
