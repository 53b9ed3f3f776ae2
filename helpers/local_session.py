"""``LocalServiceSession``: a ``sagemaker.Session`` tuned for a service where jobs take seconds.

The SDK's waits sleep 5–30 s between checks, and its log followers re-read a job's status only
every 30 s (and sleep 5 s before the first look). Against the local service that would make a
three-second job take half a minute, so this session polls every 0.1 s and follows logs with its
own short loop built from the SDK's log helpers — printing exactly what the SDK prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sagemaker
from sagemaker.session import _check_job_status, _flush_log_streams, _logs_init
from sagemaker.utils import secondary_training_status_changed, secondary_training_status_message

POLL_SECONDS = 0.1
TERMINAL = ("Completed", "Failed", "Stopped")


class LocalServiceSession(sagemaker.Session):
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
