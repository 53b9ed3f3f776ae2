"""``connect()``: one line at the top of every notebook, the same on AWS and on a laptop.

On a SageMaker notebook instance it returns the ordinary ``sagemaker.Session`` and the
instance's execution role. Anywhere else it starts the local service if needed, points every
AWS client in this process at it, and returns a session that polls quickly instead of waiting
5–30 s between checks.
"""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import sagemaker

from .local import control
from .local.config import ACCOUNT_ID, ROLE_ARN, client_environment, load_config

MODE_VARIABLE = "SAGEMAKER_COURSE_MODE"
MODES = ("aws", "local")
NOTEBOOK_INSTANCE_MARKER = Path("/opt/ml/metadata/resource-metadata.json")
POLL_SECONDS = 0.1
TELEMETRY_OFF = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


class LocalServiceSession(sagemaker.Session):
    """A ``sagemaker.Session`` whose waits poll every 0.1 s: local jobs finish in seconds."""

    def wait_for_job(self, job, poll=POLL_SECONDS):
        return super().wait_for_job(job, poll)

    def wait_for_transform_job(self, job, poll=POLL_SECONDS):
        return super().wait_for_transform_job(job, poll)

    def wait_for_tuning_job(self, job, poll=POLL_SECONDS):
        return super().wait_for_tuning_job(job, poll)

    def wait_for_endpoint(self, endpoint, poll=POLL_SECONDS, live_logging=False):
        return super().wait_for_endpoint(endpoint, poll, live_logging)

    def logs_for_job(self, job_name, wait=False, poll=POLL_SECONDS, log_type="All", timeout=None):
        return super().logs_for_job(job_name, wait, poll, log_type, timeout)

    def logs_for_transform_job(self, job_name, wait=False, poll=POLL_SECONDS):
        return super().logs_for_transform_job(job_name, wait, poll)


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
    control.start(config)
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
