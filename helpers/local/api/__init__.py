"""SageMaker API operations, one module per resource family, registered by operation name."""

from __future__ import annotations


def load_all() -> None:
    # Importing the modules registers their operations.
    from helpers.local.api import (  # noqa: F401
        code_repositories,
        hosting,
        models,
        monitoring,
        notebook_instances,
        notebook_lifecycle_configs,
        processing,
        tags,
        training,
        transform,
        tuning,
    )
