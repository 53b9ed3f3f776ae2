"""``connect()``: one line at the top of every notebook, the same on AWS and on a laptop.

On a SageMaker notebook instance it returns the ordinary ``sagemaker.Session`` and the
instance's execution role. Anywhere else it starts the local service if needed (through
``helpers.local.control``, which imports nothing of the service itself), points every AWS client
in this process at it, and returns a ``LocalServiceSession``.

``LocalServiceSession`` is a ``sagemaker.Session`` tuned for a service where jobs take seconds. The
SDK's waits sleep 5–30 s between checks, and its log followers re-read a job's status only every
30 s (and sleep 5 s before the first look). Against the local service that would make a
three-second job take half a minute, so this session polls every 0.1 s and follows logs with its
own short loop built from the SDK's log helpers — printing exactly what the SDK prints.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import sagemaker
from sagemaker.session import _check_job_status, _flush_log_streams, _logs_init
from sagemaker.utils import secondary_training_status_changed, secondary_training_status_message

from helpers.local import control
from helpers.local.core.config import ROLE_ARN, client_environment, default_bucket, load_config

MODE_VARIABLE = "SAGEMAKER_COURSE_MODE"
MODES = ("aws", "local")
NOTEBOOK_INSTANCE_MARKER = Path("/opt/ml/metadata/resource-metadata.json")
TELEMETRY_OFF = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}
POLL_SECONDS = 0.1
TERMINAL = ("Completed", "Failed", "Stopped")
# botocore sends this variable's value as ``app/<id>`` in every request's User-Agent: the service
# records it on each resource a Create makes, so a notebook can ask for its own bill.
LESSON_ID_VARIABLE = "AWS_SDK_UA_APP_ID"
_LESSON_ID = f"lesson-{os.getpid()}-{secrets.token_hex(4)}"  # one per process (notebook kernel)
_connected_at: datetime | None = None


def lesson_id() -> str:
    """This process's lesson id (what ``connect()`` puts in every client's User-Agent)."""
    return _LESSON_ID


def connected_at() -> datetime:
    """When ``connect()`` first ran in this process (now, if it has not)."""
    return _connected_at or datetime.now(UTC)


def _start_lesson() -> None:
    """Tag every AWS client created from now on in this process with this lesson's id."""
    global _connected_at
    os.environ[LESSON_ID_VARIABLE] = _LESSON_ID
    if _connected_at is None:
        _connected_at = datetime.now(UTC)


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
    _start_lesson()
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
    _validate_sdk_config_once()
    boto_session = boto3.Session(region_name=config.region)
    session = LocalServiceSession(
        boto_session=boto_session,
        default_bucket=default_bucket(config),
        sagemaker_config=TELEMETRY_OFF,
    )
    print(f"Using the local SageMaker service at {config.url} (region {config.region}).")
    return session, ROLE_ARN


def trainer_session(session: sagemaker.Session) -> Any:
    """The ``sagemaker.modules.Session`` the SDK's ``ModelTrainer`` takes, for ``session``'s account.

    ``ModelTrainer(sagemaker_session=...)`` accepts only that class. Built bare, it finds its default
    bucket through an STS call with a hard-coded regional endpoint, so it is handed ``session``'s
    clients, bucket and SDK defaults config (the same on AWS and locally).
    """
    from sagemaker.modules import Session as ModulesSession

    modules_session = ModulesSession(
        boto_session=session.boto_session,
        sagemaker_client=session.sagemaker_client,
        sagemaker_runtime_client=session.sagemaker_runtime_client,
        default_bucket=session.default_bucket(),
        default_bucket_prefix=session.default_bucket_prefix,
    )
    # Read by ModelTrainer's config look-ups and its telemetry opt-out.
    modules_session.sagemaker_config = session.sagemaker_config
    return modules_session


def _validate_sdk_config_once() -> None:
    """Let the SDK check each distinct config against its JSON schema once, not on every look-up.

    The SDK validates ``session.sagemaker_config`` again each time it reads a setting from it (every
    estimator, model, transformer and telemetry call does), and one validation costs ~0.2 s of CPU:
    with the telemetry opt-out config that was a large share of each lesson's time. The check itself
    is the SDK's own; a config that fails it still fails, every time.
    """
    import sagemaker.utils as sdk_utils

    validate = getattr(sdk_utils, "validate_sagemaker_config", None)
    if validate is None or getattr(validate, "validated", None) is not None:
        return  # another SDK layout, or already in place
    validated: set[str] = set()

    def validate_once(config: dict | None = None) -> None:
        key = json.dumps(config, sort_keys=True, default=str)
        if key not in validated:
            validate(config)
            validated.add(key)

    validate_once.validated = validated  # type: ignore[attr-defined]
    sdk_utils.validate_sagemaker_config = validate_once


class LocalServiceSession(sagemaker.Session):
    """A ``sagemaker.Session`` that polls the local service every 0.1 s (see the module docstring)."""

    def wait_for_job(self, job, poll=POLL_SECONDS):
        return super().wait_for_job(job, poll)

    def wait_for_transform_job(self, job, poll=POLL_SECONDS):
        return super().wait_for_transform_job(job, poll)

    def wait_for_tuning_job(self, job, poll=POLL_SECONDS):
        return super().wait_for_tuning_job(job, poll)

    def wait_for_endpoint(self, endpoint, poll=POLL_SECONDS, live_logging=False):
        return super().wait_for_endpoint(endpoint, poll, live_logging)

    def logs_for_job(self, job_name, wait=False, poll=POLL_SECONDS, log_type="All", timeout=None):
        describe = lambda: self.sagemaker_client.describe_training_job(TrainingJobName=job_name)  # noqa: E731
        description = self._follow_logs(job_name, describe, "TrainingJobStatus", "Training", wait, timeout)
        if wait:
            instances = description["ResourceConfig"]["InstanceCount"]
            if "TrainingTimeInSeconds" in description:
                print("Training seconds:", description["TrainingTimeInSeconds"] * instances)
            if "BillableTimeInSeconds" in description:
                print("Billable seconds:", description["BillableTimeInSeconds"] * instances)
        return description

    def logs_for_transform_job(self, job_name, wait=False, poll=POLL_SECONDS):
        describe = lambda: self.sagemaker_client.describe_transform_job(TransformJobName=job_name)  # noqa: E731
        self._follow_logs(job_name, describe, "TransformJobStatus", "Transform", wait, None)

    def wait_for_processing_job(self, job, poll=POLL_SECONDS):
        return super().wait_for_processing_job(job, poll)

    def logs_for_processing_job(self, job_name, wait=False, poll=POLL_SECONDS):
        describe = lambda: self.sagemaker_client.describe_processing_job(ProcessingJobName=job_name)  # noqa: E731
        self._follow_logs(job_name, describe, "ProcessingJobStatus", "Processing", wait, None)

    def _follow_logs(
        self,
        job_name: str,
        describe: Callable[[], dict[str, Any]],
        status_key: str,
        job: str,
        wait: bool,
        timeout: float | None,
    ) -> dict[str, Any]:
        description = describe()
        training = job == "Training"
        if training:
            print(secondary_training_status_message(description, None), end="")
        instance_count, streams, positions, client, group, dot, color_wrap = _logs_init(
            self.boto_session, description, job=job
        )
        deadline = time.time() + timeout if timeout else None
        last = description
        while True:
            _flush_log_streams(streams, instance_count, client, group, job_name, positions, dot, color_wrap)
            if not wait or description[status_key] in TERMINAL:
                break
            if deadline and time.time() > deadline:
                print(f"Timeout Exceeded. {timeout} seconds elapsed.")
                break
            time.sleep(POLL_SECONDS)
            description = describe()
            if training and secondary_training_status_changed(description, last):
                print()
                print(secondary_training_status_message(description, last), end="")
                last = description
        if wait and description[status_key] in TERMINAL:
            # The service writes a job's last log lines before it marks the job finished.
            _flush_log_streams(streams, instance_count, client, group, job_name, positions, dot, color_wrap)
            print()
            _check_job_status(job_name, description, status_key)
        return description
