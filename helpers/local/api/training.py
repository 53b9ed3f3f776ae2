"""CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs, StopTrainingJob."""

from __future__ import annotations

from typing import Any

from helpers.local.api.listing import list_page
from helpers.local.api.registry import operation
from helpers.local.api.resources import get_resource
from helpers.local.core.errors import ValidationException
from helpers.local.jobs.runs import request_stop
from helpers.local.jobs.training import start_training_job, training_job_document

KIND = "TrainingJob"


def get_training_job(service, name: str) -> dict[str, Any]:
    not_found = ValidationException(f"Requested resource not found: training job '{name}' does not exist.")
    return get_resource(service, KIND, name, not_found)


@operation("CreateTrainingJob")
def create_training_job(service, params: dict[str, Any]) -> dict[str, Any]:
    doc = training_job_document(service, params)
    start_training_job(service, doc, params.get("Tags"))
    return {"TrainingJobArn": doc["TrainingJobArn"]}


@operation("DescribeTrainingJob")
def describe_training_job(service, params: dict[str, Any]) -> dict[str, Any]:
    return get_training_job(service, params["TrainingJobName"])


@operation("ListTrainingJobs")
def list_training_jobs(service, params: dict[str, Any]) -> dict[str, Any]:
    return list_page(
        "ListTrainingJobs",
        service.store.list(KIND),
        params,
        name_key="TrainingJobName",
        status_key="TrainingJobStatus",
    )


@operation("StopTrainingJob")
def stop_training_job(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["TrainingJobName"]
    get_training_job(service, name)
    status = request_stop(service.store, service.runs, KIND, name, "Stopping the training job")
    if status != "InProgress":
        raise ValidationException(
            f"The training job '{name}' is {status}; only an InProgress job can be stopped."
        )
    return {}
