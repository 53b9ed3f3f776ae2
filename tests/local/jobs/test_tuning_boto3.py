"""Hyperparameter tuning jobs through boto3 against the service.

Training jobs here are tiny (a few rounds on 120 rows) so the whole file runs in well under a
minute; the tuning jobs that need training are started by module fixtures and run side by side.
"""

from __future__ import annotations

import re
import time

import pytest
from botocore.exceptions import ClientError

from helpers.local.api.service import Service
from helpers.local.api.tuning import describe_tuning_job
from helpers.local.jobs.billing import JobMeter
from helpers.local.store.resources import Store
from helpers.local.store.usage import UsageLedger
from tests.local.jobs.tuning_requests import RANGES, assert_inside, tuning_request, upload_tuning_data
from tests.service_helpers import unique, wait_for, wait_until

CHILD_NAME = re.compile(r"^(?P<tuning>.+)-(?P<number>\d{3})-[0-9a-f]{8}$")


def definitions_request(name: str, bucket: str) -> dict:
    """Two training job definitions (TrainingJobDefinitions), each with its own ranges."""
    request = tuning_request(name, bucket, jobs=2)
    config = request["HyperParameterTuningJobConfig"]
    objective = config.pop("HyperParameterTuningJobObjective")
    del config["ParameterRanges"]
    definition = request.pop("TrainingJobDefinition")
    request["TrainingJobDefinitions"] = [
        {
            **definition,
            "DefinitionName": definition_name,
            "TuningObjective": objective,
            "HyperParameterRanges": {
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": low, "MaxValue": high}]
            },
        }
        for definition_name, low, high in (("shallow", "1", "2"), ("deep", "5", "6"))
    ]
    return request


def wait_tuning(sm, name: str) -> dict:
    return wait_for(
        lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
        "HyperParameterTuningJobStatus",
        timeout=180,
    )


def children(sm, name: str) -> list[dict]:
    return sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="CreationTime", MaxResults=100
    )["TrainingJobSummaries"]


@pytest.fixture(scope="module")
def data(s3, bucket):
    return upload_tuning_data(s3, bucket)


@pytest.fixture(scope="module")
def started(sm, data):
    """Tuning jobs that need real training, started together so they run side by side."""
    names = {}

    def start(key: str, request: dict) -> None:
        sm.create_hyper_parameter_tuning_job(**request)
        names[key] = request["HyperParameterTuningJobName"]

    request = tuning_request(unique("random"), data)
    request["Tags"] = [{"Key": "lesson", "Value": "tuning"}]
    start("random", request)
    start(
        "grid",
        tuning_request(
            unique("grid"), data, "Grid", parallel=2,
            ranges={
                "CategoricalParameterRanges": [{"Name": "max_depth", "Values": ["2", "4"]}],
                "IntegerParameterRanges": [{"Name": "min_child_weight", "MinValue": "1", "MaxValue": "2"}],
            },
        ),
    )  # fmt: skip
    # RandomSeed 4 draws a good learning rate, then a hopeless one; one job at a time so the
    # hopeless one is judged against the finished good one. Early stopping ends the good job long
    # before its 20000 rounds; the hopeless one improves too slowly to stop by itself.
    start(
        "hyperband",
        tuning_request(
            unique("hyperband"), data, "Hyperband", jobs=2, parallel=1, RandomSeed=4,
            ranges={"CategoricalParameterRanges": [{"Name": "eta", "Values": ["0.5", "0.00001"]}]},
            static={"objective": "reg:squarederror", "num_round": "5", "early_stopping_rounds": "3"},
            StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 20000}},
        ),
    )  # fmt: skip
    start("definitions", definitions_request(unique("definitions"), data))
    # Three good learning rates, then a hopeless one; one job at a time so the hopeless one is
    # judged against three finished jobs.
    start(
        "early",
        tuning_request(
            unique("early"), data, "Grid", parallel=1,
            ranges={"CategoricalParameterRanges": [
                {"Name": "eta", "Values": ["0.5", "0.45", "0.4", "0.00001"]},
            ]},
            static={"objective": "reg:squarederror", "num_round": "20000", "early_stopping_rounds": "3"},
            TrainingJobEarlyStoppingType="Auto",
        ),
    )  # fmt: skip
    return names


@pytest.fixture(scope="module")
def random_job(sm, started):
    name = started["random"]
    return name, wait_tuning(sm, name)


def test_random_tuning_job_completes_with_counters_and_best_job(sm, random_job):
    name, desc = random_job
    assert desc["HyperParameterTuningJobStatus"] == "Completed", desc.get("FailureReason")
    assert desc["HyperParameterTuningJobArn"].endswith(f":hyper-parameter-tuning-job/{name}")
    assert desc["TrainingJobStatusCounters"]["Completed"] == 4
    assert desc["ObjectiveStatusCounters"] == {"Succeeded": 4, "Pending": 0, "Failed": 0}
    jobs = children(sm, name)
    ended, created = desc["HyperParameterTuningEndTime"], desc["CreationTime"]
    assert ended >= max(j["TrainingEndTime"] for j in jobs)  # it ends after its last training job
    # Runtime runs from creation to the end, and no further once the job has ended.
    assert abs(desc["ConsumedResources"]["RuntimeInSeconds"] - (ended - created).total_seconds()) <= 1
    config = desc["HyperParameterTuningJobConfig"]
    assert config["TrainingJobEarlyStoppingType"] == "Off"
    assert sm.list_tags(ResourceArn=desc["HyperParameterTuningJobArn"])["Tags"] == [
        {"Key": "lesson", "Value": "tuning"}
    ]
    definition = desc["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"]["_tuning_objective_metric"] == "validation:rmse"
    assert any(
        m["Name"] == "validation:rmse" for m in definition["AlgorithmSpecification"]["MetricDefinitions"]
    )

    best = min(jobs, key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert desc["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]
    assert desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": "Minimize", "MetricName": "validation:rmse",
        "Value": best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
    }  # fmt: skip
    by_value = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="FinalObjectiveMetricValue", SortOrder="Ascending"
    )["TrainingJobSummaries"]
    assert by_value[0]["TrainingJobName"] == best["TrainingJobName"]


def test_training_jobs_are_named_tagged_and_configured_as_on_sagemaker(sm, random_job):
    name, desc = random_job
    jobs = children(sm, name)
    assert [CHILD_NAME.match(j["TrainingJobName"])["number"] for j in jobs] == ["001", "002", "003", "004"]
    assert {CHILD_NAME.match(j["TrainingJobName"])["tuning"] for j in jobs} == {name}
    for job in jobs:
        assert job["TuningJobName"] == name and job["ObjectiveStatus"] == "Succeeded"
        assert_inside(job["TunedHyperParameters"], RANGES)
        training = sm.describe_training_job(TrainingJobName=job["TrainingJobName"])
        assert training["TuningJobArn"] == desc["HyperParameterTuningJobArn"]
        assert training["HyperParameters"] == {
            "objective": "reg:squarederror", "num_round": "5", "_tuning_objective_metric": "validation:rmse",
            **job["TunedHyperParameters"],
        }  # fmt: skip
        assert {"Key": "lesson", "Value": "tuning"} in sm.list_tags(ResourceArn=training["TrainingJobArn"])[
            "Tags"
        ]


def test_training_jobs_run_in_parallel(sm, random_job):
    jobs = sorted(children(sm, random_job[0]), key=lambda j: j["TrainingStartTime"])
    overlaps = [b["TrainingStartTime"] < a["TrainingEndTime"] for a, b in zip(jobs, jobs[1:], strict=False)]
    assert any(overlaps), [(j["TrainingStartTime"], j["TrainingEndTime"]) for j in jobs]


def test_list_operations_filter_sort_and_page(sm, random_job):
    name, _ = random_job
    listed = sm.list_hyper_parameter_tuning_jobs(NameContains=name)["HyperParameterTuningJobSummaries"]
    assert [(s["HyperParameterTuningJobName"], s["Strategy"]) for s in listed] == [(name, "Random")]
    assert listed[0]["TrainingJobStatusCounters"]["Completed"] == 4
    assert (
        sm.list_hyper_parameter_tuning_jobs(NameContains=name, StatusEquals="Failed")[
            "HyperParameterTuningJobSummaries"
        ]
        == []
    )
    page = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=3
    )
    rest = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=3, NextToken=page["NextToken"]
    )
    names = [s["TrainingJobName"] for s in page["TrainingJobSummaries"] + rest["TrainingJobSummaries"]]
    assert names == sorted(names) and len(names) == 4 and "NextToken" not in rest
    assert (
        sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name, StatusEquals="Stopped"
        )["TrainingJobSummaries"]
        == []
    )


def test_grid_runs_every_combination_once(sm, started):
    name = started["grid"]
    desc = wait_tuning(sm, name)
    assert desc["HyperParameterTuningJobStatus"] == "Completed", desc.get("FailureReason")
    assert desc["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 4
    combinations = sorted(
        (j["TunedHyperParameters"]["max_depth"], j["TunedHyperParameters"]["min_child_weight"])
        for j in children(sm, name)
    )
    assert combinations == [("2", "1"), ("2", "2"), ("4", "1"), ("4", "2")]


def test_hyperband_gives_every_job_the_max_resource_and_stops_the_hopeless(sm, started):
    name = started["hyperband"]
    desc = wait_tuning(sm, name)
    assert desc["HyperParameterTuningJobStatus"] == "Completed", desc.get("FailureReason")
    jobs = children(sm, name)
    assert [j["TunedHyperParameters"]["eta"] for j in jobs] == ["0.5", "0.00001"]
    trainings = [sm.describe_training_job(TrainingJobName=j["TrainingJobName"]) for j in jobs]
    assert [t["HyperParameters"]["num_round"] for t in trainings] == ["20000", "20000"]
    assert [t["TrainingJobStatus"] for t in trainings] == ["Completed", "Stopped"]
    assert "by Hyperband" in trainings[1]["SecondaryStatusTransitions"][-1]["StatusMessage"]
    assert desc["TrainingJobStatusCounters"]["Stopped"] == 1


def test_hyperband_tunes_num_round_as_the_public_hyperband_example_does(sm, data):
    """The API reference (HyperbandStrategyConfig) infers MaxResource from static epoch counts and
    stops a job once it reaches MaxResource; it forbids no tuned hyperparameter, and the public
    Hyperband example tunes XGBoost's num_round. Each job keeps its own tuned num_round."""
    name = unique("hyperband-rounds")
    request = tuning_request(
        name, data, "Hyperband", jobs=2, parallel=2,
        ranges={"IntegerParameterRanges": [{"Name": "num_round", "MinValue": "3", "MaxValue": "9"}]},
        static={"objective": "reg:squarederror"},
        StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}},
    )  # fmt: skip
    sm.create_hyper_parameter_tuning_job(**request)
    desc = wait_tuning(sm, name)
    assert desc["HyperParameterTuningJobStatus"] == "Completed", desc.get("FailureReason")
    for job in children(sm, name):
        training = sm.describe_training_job(TrainingJobName=job["TrainingJobName"])
        assert training["HyperParameters"]["num_round"] == job["TunedHyperParameters"]["num_round"]
        assert 3 <= int(training["HyperParameters"]["num_round"]) <= 9


def test_hyperband_infers_max_resource_only_from_documented_epoch_counts(sm, data):
    """MaxResource is inferred from epochs, numepochs, n-epochs, n_epochs or num_epochs (API reference);
    without it and without one of those, the request is a ValidationException naming them."""
    request = tuning_request(unique("hyperband-infer"), data, "Hyperband", jobs=1, parallel=1)
    with pytest.raises(ClientError) as error:
        sm.create_hyper_parameter_tuning_job(**request)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "num_epochs" in error.value.response["Error"]["Message"]


def test_several_training_job_definitions_take_turns(sm, started):
    name = started["definitions"]
    desc = wait_tuning(sm, name)
    assert desc["HyperParameterTuningJobStatus"] == "Completed", desc.get("FailureReason")
    assert [d["DefinitionName"] for d in desc["TrainingJobDefinitions"]] == ["shallow", "deep"]
    jobs = {
        j["TrainingJobDefinitionName"]: j["TunedHyperParameters"]["max_depth"] for j in children(sm, name)
    }
    assert jobs["shallow"] in ("1", "2") and jobs["deep"] in ("5", "6")
    assert desc["BestTrainingJob"]["TrainingJobDefinitionName"] in jobs


def test_early_stopping_stops_the_hopeless_job(sm, started):
    name = started["early"]
    desc = wait_tuning(sm, name)
    assert desc["HyperParameterTuningJobStatus"] == "Completed", desc.get("FailureReason")
    jobs = {j["TunedHyperParameters"]["eta"]: j for j in children(sm, name)}
    assert [jobs[eta]["TrainingJobStatus"] for eta in ("0.5", "0.45", "0.4")] == ["Completed"] * 3
    hopeless = sm.describe_training_job(TrainingJobName=jobs["0.00001"]["TrainingJobName"])
    assert hopeless["TrainingJobStatus"] == "Stopped"
    assert "stopped early" in hopeless["SecondaryStatusTransitions"][-1]["StatusMessage"]
    assert desc["TrainingJobStatusCounters"]["Stopped"] == 1
    assert desc["BestTrainingJob"]["TunedHyperParameters"]["eta"] != "0.00001"


def test_stop_tuning_job_stops_its_training_jobs(sm, data):
    name = unique("stop")
    request = tuning_request(
        name, data,
        static={"objective": "reg:squarederror", "num_round": "100000", "eta": "0.0001"},
        ranges={"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "3"}]},
    )  # fmt: skip
    sm.create_hyper_parameter_tuning_job(**request)
    wait_until(lambda: bool(children(sm, name)), "the tuning job has started a training job")
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    desc = wait_tuning(sm, name)
    assert desc["HyperParameterTuningJobStatus"] == "Stopped"
    assert {j["TrainingJobStatus"] for j in children(sm, name)} == {"Stopped"}
    assert desc["TrainingJobStatusCounters"]["Stopped"] >= 1
    with pytest.raises(ClientError) as error:
        sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert error.value.response["Error"]["Code"] == "ValidationException"


def test_stop_right_after_create_ends_the_tuning_job_stopped(sm, data):
    name = unique("stop-at-once")
    sm.create_hyper_parameter_tuning_job(**tuning_request(name, data))
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    desc = wait_tuning(sm, name)
    assert desc["HyperParameterTuningJobStatus"] == "Stopped" and "HyperParameterTuningEndTime" in desc


def test_stop_on_a_completed_tuning_job_is_refused_and_changes_nothing(sm, random_job):
    name, before = random_job
    with pytest.raises(ClientError) as error:
        sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "Completed" in error.value.response["Error"]["Message"]
    after = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert after["HyperParameterTuningJobStatus"] == "Completed"
    assert after["HyperParameterTuningEndTime"] == before["HyperParameterTuningEndTime"]
    assert after["LastModifiedTime"] == before["LastModifiedTime"]


def test_tuning_job_interrupted_by_a_restart_fails_with_a_fixed_runtime(tmp_path):
    service = Service.__new__(Service)  # only its store: the start-up marking is under test
    service.store = Store(tmp_path / "state.db")
    service.job_meter = JobMeter(service.store, UsageLedger(tmp_path / "usage.db"))
    created = time.time() - 100
    doc = {"HyperParameterTuningJobName": "cut-short", "HyperParameterTuningJobStatus": "InProgress",
           "CreationTime": created, "LastModifiedTime": created}  # fmt: skip
    service.store.insert("HyperParameterTuningJob", "cut-short", "arn:cut-short", doc)
    service._fail_interrupted_jobs()
    described = describe_tuning_job(service, service.store.get("HyperParameterTuningJob", "cut-short"))
    assert described["HyperParameterTuningJobStatus"] == "Failed"
    assert described["HyperParameterTuningEndTime"] >= created + 100
    runtime = described["ConsumedResources"]["RuntimeInSeconds"]
    assert runtime == int(described["HyperParameterTuningEndTime"] - created)
    service.store.close()


def test_tuning_job_fails_when_its_training_jobs_all_fail(sm, data):
    # Names the algorithm does not know are accepted by the tuning job; the training jobs reject them.
    name = unique("unknown-hp")
    ranges = {"IntegerParameterRanges": [{"Name": "not_a_hyperparameter", "MinValue": "1", "MaxValue": "3"}]}
    sm.create_hyper_parameter_tuning_job(**tuning_request(name, data, jobs=3, parallel=3, ranges=ranges))
    desc = wait_tuning(sm, name)
    assert desc["HyperParameterTuningJobStatus"] == "Failed"
    assert "not_a_hyperparameter" in desc["FailureReason"]
    counters = desc["ObjectiveStatusCounters"]
    assert counters["Failed"] >= 3 and counters["Succeeded"] == 0 and "BestTrainingJob" not in desc


def test_tuning_job_whose_every_training_job_fails_ends_failed_with_aws_reason(sm, data):
    """Fewer training jobs than the early give-up, all failed: the tuning job Fails with AWS's reason
    ("No training job succeeded after N attempts. For additional details, ..."), not Completed
    without a BestTrainingJob."""
    name = unique("all-fail")
    ranges = {"IntegerParameterRanges": [{"Name": "not_a_hyperparameter", "MinValue": "1", "MaxValue": "3"}]}
    sm.create_hyper_parameter_tuning_job(**tuning_request(name, data, jobs=2, parallel=2, ranges=ranges))
    desc = wait_tuning(sm, name)
    assert desc["HyperParameterTuningJobStatus"] == "Failed"
    assert desc["FailureReason"].startswith("No training job succeeded after 2 attempts.")
    assert "not_a_hyperparameter" in desc["FailureReason"] and "BestTrainingJob" not in desc


def test_unsupported_image_in_a_tuning_job_is_named_as_such(sm, data):
    """An image the service has no algorithm for is refused as an image, not as an unknown metric."""
    request = tuning_request(unique("bad-image"), data)
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/not-an-algorithm:1"
    request["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] = image
    with pytest.raises(ClientError) as error:
        sm.create_hyper_parameter_tuning_job(**request)
    message = error.value.response["Error"]["Message"]
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "not supported by the local SageMaker service" in message and "objective metric" not in message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ranges": {"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "6", "MaxValue": "2"}]}},
         "greater than MaxValue"),
        ({"ranges": {"ContinuousParameterRanges": [
            {"Name": "eta", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}]}},
         "positive"),
        ({"ranges": {"ContinuousParameterRanges": [
            {"Name": "eta", "MinValue": "-1", "MaxValue": "0.5", "ScalingType": "ReverseLogarithmic"}]}},
         "0 <= x < 1"),
        ({"ranges": {"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "a", "MaxValue": "2"}]}},
         "integer"),
        ({"ranges": {"IntegerParameterRanges": [{"Name": "num_round", "MinValue": "1", "MaxValue": "2"}]}},
         "both static and tuned"),
        ({"strategy": "Grid",
          "ranges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.2"}]}},
         "continuous"),
        ({"strategy": "Hyperband", "TrainingJobEarlyStoppingType": "Auto"}, "Off"),
        ({"objective": "validation:nonsense"}, "validation:rmse"),
    ],
    ids=["min-above-max", "log-of-zero", "reverse-log-negative", "not-an-integer", "static-and-tuned",
         "grid-continuous", "hyperband-auto", "unknown-objective"],
)  # fmt: skip
def test_invalid_requests_are_validation_errors(sm, data, change, message):
    change = dict(change)
    objective = change.pop("objective", None)
    request = tuning_request(unique("invalid"), data, change.pop("strategy", "Random"), **change)
    if objective:
        request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"] = objective
    with pytest.raises(ClientError) as error:
        sm.create_hyper_parameter_tuning_job(**request)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert message in error.value.response["Error"]["Message"]


def test_duplicate_or_missing_names(sm, data, random_job):
    name, _ = random_job
    with pytest.raises(ClientError) as error:
        sm.create_hyper_parameter_tuning_job(**tuning_request(name.upper(), data))
    assert error.value.response["Error"]["Code"] == "ResourceInUse"
    for call in (sm.describe_hyper_parameter_tuning_job, sm.stop_hyper_parameter_tuning_job,
                 sm.list_training_jobs_for_hyper_parameter_tuning_job):  # fmt: skip
        with pytest.raises(ClientError) as error:
            call(HyperParameterTuningJobName="never-created")
        assert error.value.response["Error"]["Code"] == "ResourceNotFound"
