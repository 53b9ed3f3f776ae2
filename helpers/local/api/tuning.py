"""CreateHyperParameterTuningJob, DescribeHyperParameterTuningJob, ListHyperParameterTuningJobs,
StopHyperParameterTuningJob, ListTrainingJobsForHyperParameterTuningJob.

A tuning job's document holds its request (as Describe shows it) and its status; its record in
the store holds the list of training jobs it launched. Counters, the best training job and the
per-job summaries are worked out from those training jobs whenever they are asked for, so they are
never out of date.
"""

from __future__ import annotations

import time
from typing import Any

from helpers.local.api.listing import list_page, paginate
from helpers.local.api.registry import operation
from helpers.local.api.resources import get_resource
from helpers.local.api.shapes import summary
from helpers.local.containers.metrics import check_metric_definitions
from helpers.local.core.errors import ResourceInUse, ResourceNotFound, ValidationException
from helpers.local.jobs import quotas
from helpers.local.jobs.runs import NameInUse, request_stop
from helpers.local.jobs.training import training_job_document
from helpers.local.jobs.tuning import (
    KIND,
    TERMINAL,
    HyperParameterTuningJobRun,
    launched_training_jobs,
    objective_value,
)
from helpers.local.tuning.objective import jobs_not_improving
from helpers.local.tuning.plan import TuningPlan, describe_document

TRAINING_JOBS_LIST = "ListTrainingJobsForHyperParameterTuningJob"


def get_tuning_job(service, name: str) -> dict[str, Any]:
    return get_resource(
        service, KIND, name, ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name}.")
    )


@operation("CreateHyperParameterTuningJob")
def create_hyper_parameter_tuning_job(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["HyperParameterTuningJobName"]
    arn = service.arn("hyper-parameter-tuning-job", name)
    doc = describe_document(params)
    plan = TuningPlan.from_document(doc)
    # Check what every training job will be given (channels, output path) now, not in each of them.
    for definition in plan.definitions:
        check_metric_definitions(
            definition.definition["AlgorithmSpecification"].get("MetricDefinitions", []),
            "TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions",
        )
        training = training_job_document(
            service, definition.training_job_request(f"{name}-000-check", {}), tuning_job_arn=arn
        )
        # A training job that could never start fails the request; one that waits for others is fine.
        quotas.check_training_job(service, training["ResourceConfig"], alone=True)
    _check_name_is_free(service, name)
    # Grid jobs run the whole grid; Describe states that number like any other limit.
    doc["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = plan.max_jobs
    timestamp = time.time()
    doc.update(
        HyperParameterTuningJobArn=arn,
        HyperParameterTuningJobStatus="InProgress",
        CreationTime=timestamp,
        LastModifiedTime=timestamp,
    )
    run = HyperParameterTuningJobRun(service, name, plan, params.get("Tags"))

    def create() -> None:
        if not service.store.insert(KIND, name, arn, doc, params.get("Tags")):
            _check_name_is_free(service, name)  # raises ResourceInUse naming the job that has it

    try:
        service.runs.start(KIND, name, run, create)
    except NameInUse:
        raise ResourceInUse(
            f"A hyperparameter tuning job named {name} is already being created: choose another name."
        ) from None
    return {"HyperParameterTuningJobArn": arn}


def _check_name_is_free(service, name: str) -> None:
    # Tuning job names are not case sensitive.
    for doc in service.store.list(KIND):
        if doc["HyperParameterTuningJobName"].lower() == name.lower():
            raise ResourceInUse(
                f"A hyperparameter tuning job named {doc['HyperParameterTuningJobName']} already exists "
                f"({doc['HyperParameterTuningJobArn']}). Tuning job names must be unique within an "
                "account and region, ignoring case: choose another name."
            )


@operation("DescribeHyperParameterTuningJob")
def describe_hyper_parameter_tuning_job(service, params: dict[str, Any]) -> dict[str, Any]:
    return describe_tuning_job(service, get_tuning_job(service, params["HyperParameterTuningJobName"]))


def describe_tuning_job(service, doc: dict[str, Any]) -> dict[str, Any]:
    """The stored document plus what is derived from the training jobs."""
    result = dict(doc)
    summaries = training_job_summaries(service, doc)
    statuses = [s["TrainingJobStatus"] for s in summaries]
    objectives = [s["ObjectiveStatus"] for s in summaries]
    result["TrainingJobStatusCounters"] = {
        "Completed": statuses.count("Completed"),
        "InProgress": statuses.count("InProgress") + statuses.count("Stopping"),
        "RetryableError": 0,
        "NonRetryableError": statuses.count("Failed"),
        "Stopped": statuses.count("Stopped"),
    }
    result["ObjectiveStatusCounters"] = {
        "Succeeded": objectives.count("Succeeded"),
        "Pending": objectives.count("Pending"),
        "Failed": objectives.count("Failed"),
    }
    completed = [
        s
        for s in summaries
        if s["TrainingJobStatus"] == "Completed" and "FinalHyperParameterTuningJobObjectiveMetric" in s
    ]
    if completed:
        result["BestTrainingJob"] = _best(completed)
        metrics = [s["FinalHyperParameterTuningJobObjectiveMetric"] for s in completed]
        ended = [(s["TrainingEndTime"], m["Value"]) for s, m in zip(completed, metrics, strict=True)]
        result["TuningJobCompletionDetails"] = {
            "NumberOfTrainingJobsObjectiveNotImproving": jobs_not_improving(
                ended, metrics[0]["Type"] == "Minimize"
            )
        }
    result["ConsumedResources"] = {"RuntimeInSeconds": int(_end_time(doc) - doc["CreationTime"])}
    return result


def _end_time(doc: dict[str, Any]) -> float:
    if "HyperParameterTuningEndTime" in doc:
        return doc["HyperParameterTuningEndTime"]
    # A job that ended without an end time (e.g. marked Failed by an older service) stops counting
    # at its last change, not now.
    if doc["HyperParameterTuningJobStatus"] in TERMINAL:
        return doc["LastModifiedTime"]
    return time.time()


def _value(summary: dict[str, Any]) -> float:
    metric = summary["FinalHyperParameterTuningJobObjectiveMetric"]
    return metric["Value"] if metric["Type"] == "Minimize" else -metric["Value"]


def _best(completed: list[dict[str, Any]]) -> dict[str, Any]:
    # min() keeps the first of equal values: the earliest job wins a tie.
    return min(completed, key=_value)


def _objective(doc: dict[str, Any], definition_name: str | None) -> dict[str, str]:
    if "TrainingJobDefinition" in doc:
        return doc["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    for definition in doc["TrainingJobDefinitions"]:
        if definition["DefinitionName"] == definition_name:
            return definition["TuningObjective"]
    raise KeyError(definition_name)


def training_job_summaries(service, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """``HyperParameterTrainingJobSummary`` of every training job the tuning job launched, oldest first."""
    summaries = []
    for trial in launched_training_jobs(service.store, doc["HyperParameterTuningJobName"]):
        job = service.store.get("TrainingJob", trial["TrainingJobName"])
        if job is None:
            continue
        # The training job's Describe document, plus what the tuning job knows about it.
        source = {**job, **trial, "TuningJobName": doc["HyperParameterTuningJobName"]}
        objective = _objective(doc, trial.get("TrainingJobDefinitionName"))
        value = objective_value(job, objective["MetricName"])
        if job["TrainingJobStatus"] not in TERMINAL:
            source["ObjectiveStatus"] = "Pending"
        elif value is None:
            source["ObjectiveStatus"] = "Failed"
        else:
            source["ObjectiveStatus"] = "Succeeded"
            source["FinalHyperParameterTuningJobObjectiveMetric"] = {**objective, "Value": value}
        summaries.append(summary(TRAINING_JOBS_LIST, source))
    return summaries


@operation("ListHyperParameterTuningJobs")
def list_hyper_parameter_tuning_jobs(service, params: dict[str, Any]) -> dict[str, Any]:
    return list_page(
        "ListHyperParameterTuningJobs",
        service.store.list(KIND),
        {"SortBy": "Name", "SortOrder": "Ascending", **params},
        name_key="HyperParameterTuningJobName",
        status_key="HyperParameterTuningJobStatus",
        describe=lambda doc: describe_tuning_job(service, doc),
    )


@operation("ListTrainingJobsForHyperParameterTuningJob")
def list_training_jobs_for_hyper_parameter_tuning_job(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["HyperParameterTuningJobName"]
    summaries = training_job_summaries(service, get_tuning_job(service, name))
    if "StatusEquals" in params:
        summaries = [s for s in summaries if s["TrainingJobStatus"] == params["StatusEquals"]]
    sort_by = params.get("SortBy", "Name")
    if sort_by == "FinalObjectiveMetricValue":
        # As on SageMaker: jobs without an objective value are left out of this ordering.
        summaries = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
        key = lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]  # noqa: E731
    else:
        field = {"Name": "TrainingJobName", "CreationTime": "CreationTime", "Status": "TrainingJobStatus"}[
            sort_by
        ]
        key = lambda s: s[field]  # noqa: E731
    summaries.sort(key=key, reverse=params.get("SortOrder", "Ascending") == "Descending")
    return paginate(TRAINING_JOBS_LIST, summaries, params, scope=name)


@operation("StopHyperParameterTuningJob")
def stop_hyper_parameter_tuning_job(service, params: dict[str, Any]) -> dict[str, Any]:
    name = params["HyperParameterTuningJobName"]
    get_tuning_job(service, name)
    status = request_stop(service.store, service.runs, KIND, name, "Stopping the tuning job")
    if status != "InProgress":
        raise ValidationException(
            f"The tuning job '{name}' is {status}; only an InProgress tuning job can be stopped."
        )
    return {}
