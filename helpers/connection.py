"""``connect()``: one line at the top of every notebook, the same on AWS and on a laptop.

On a SageMaker notebook instance it returns the ordinary ``sagemaker.Session`` and the
instance's execution role. Anywhere else it starts the local service if needed, points every
AWS client in this process at it, and returns a ``LocalServiceSession``, which polls every 0.1 s
instead of every 5–30 s.
"""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import sagemaker

from helpers.local import control
from helpers.local.core.config import ACCOUNT_ID, ROLE_ARN, client_environment, load_config
from helpers.local_session import LocalServiceSession

MODE_VARIABLE = "SAGEMAKER_COURSE_MODE"
MODES = ("aws", "local")
NOTEBOOK_INSTANCE_MARKER = Path("/opt/ml/metadata/resource-metadata.json")
TELEMETRY_OFF = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


def resolve_mode(mode: str | None = None) -> str:
    """``mode`` if given, else ``$SAGEMAKER_COURSE_MODE``, else ``aws`` on a notebook instance."""
    chosen = (mode or os.environ.get(MODE_VARIABLE) or "").strip().lower()
    if not chosen:
        chosen = "aws" if NOTEBOOK_INSTANCE_MARKER.exists() else "local"
    if chosen not in MODES:
        raise ValueError(f"Unknown mode {chosen!r}: use 'aws' or 'local' (argument or ${MODE_VARIABLE}).")
    return chosen


def connect(mode: str | None = None) -> tuple[sagemaker.Session, str]:
    """Return ``(session, role)`` for AWS or for the local service (see ``resolve_mode``)."""
    if resolve_mode(mode) == "aws":
        session = sagemaker.Session()
        return session, sagemaker.get_execution_role(session)

    config = load_config()
    running = control.start(config)
    if not control.is_current(running):
        print(
            f"Note: the local service on {config.url} was started from older course code; restart it with "
            "`python -m helpers.local stop` (your resources are kept)."
        )
    # Every boto3 client created from now on, in this process, talks to the local service.
    os.environ.update(client_environment(config))
    boto_session = boto3.Session(region_name=config.region)
    session = LocalServiceSession(
        boto_session=boto_session,
        default_bucket=f"sagemaker-{config.region}-{ACCOUNT_ID}",
        sagemaker_config=TELEMETRY_OFF,
    )
    print(f"Using the local SageMaker service at {config.url} (region {config.region}).")
    return session, ROLE_ARN
