"""Shared code for the course's notebooks: data sets, ``connect()`` and the local service."""

import logging
import os

# The course pins SageMaker Python SDK v2 on purpose; its v3 notice would only distract here.
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
# Keep notebook output about the lesson: these loggers repeat themselves on every call.
for _name in ("sagemaker.config", "sagemaker.telemetry", "botocore.configprovider"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def connect(mode: str | None = None):
    """Return ``(sagemaker.Session, role)`` for AWS or the local service; see ``helpers.connection``."""
    # Imported here so that ``import helpers`` (and its data sets) does not pay for the SDK.
    from helpers.connection import connect as _connect

    return _connect(mode)


def trainer_session(session):
    """The ``sagemaker.modules.Session`` that ``ModelTrainer`` takes; see ``helpers.connection``."""
    from helpers.connection import trainer_session as _trainer_session

    return _trainer_session(session)


def print_lesson_cost(session) -> float:
    """Print what this lesson's work would have cost on AWS; see ``helpers.costs``."""
    from helpers.costs import print_lesson_cost as _print_lesson_cost

    return _print_lesson_cost(session)
