"""SageMaker API operations, one module per resource family, registered by operation name."""

from __future__ import annotations


def load_all() -> None:
    # Importing the modules registers their operations.
    from helpers.local.api import hosting, models, processing, tags, training, transform, tuning  # noqa: F401
