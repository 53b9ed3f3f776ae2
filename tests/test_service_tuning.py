"""Hyperparameter tuning jobs: boto3 against the service, the SDK's HyperparameterTuner, and the
search strategies and stopping rules on their own.

Training jobs here are tiny (a few rounds on 120 rows) so the whole file runs in well under a
minute; the tuning jobs that need training are started by module fixtures and run side by side.
"""

from __future__ import annotations

import random
import re
import time

import pytest
from botocore.exceptions import ClientError

from helpers.local.api.service import Service
from helpers.local.api.tuning import describe_tuning_job
from helpers.local.core.config import ROLE_ARN
from helpers.local.core.errors import ValidationException
from helpers.local.store.resources import Store
from helpers.local.tuning.bayesian import BayesianSearch
from helpers.local.tuning.early_stopping import MedianStoppingRule
from helpers.local.tuning.hyperband import HyperbandResource, HyperbandRule
from helpers.local.tuning.objective import jobs_not_improving
from helpers.local.tuning.ranges import parse_parameter_ranges
from helpers.local.tuning.strategies import GridSearch, RandomSearch

from .service_helpers import XGBOOST_IMAGE, csv_channel, regression_csv, unique, wait_for, wait_until

RANGES = {
    "IntegerParameterRanges": [
        {"Name": "max_depth", "MinValue": "2", "MaxValue": "6", "ScalingType": "Linear"},
        {"Name": "min_child_weight", "MinValue": "1", "MaxValue": "16", "ScalingType": "Logarithmic"},
    ],
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "0.99", "ScalingType": "ReverseLogarithmic"},
        {"Name": "gamma", "MinValue": "0", "MaxValue": "5", "ScalingType": "Auto"},
    ],
    "CategoricalParameterRanges": [{"Name": "tree_method", "Values": ["hist", "approx"]}],
}
CHILD_NAME = re.compile(r"^(?P<tuning>.+)-(?P<number>\d{3})-[0-9a-f]{8}$")


def tuning_request(
    name: str, bucket: str, strategy: str = "Random", jobs: int = 4, parallel: int = 2, **config
):
    channel = lambda c: csv_channel(c, f"s3://{bucket}/tuning/{c}")  # noqa: E731
    static = config.pop("static", {"objective": "reg:squarederror", "num_round": "5"})
    request = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": config.pop("ranges", RANGES),
            "RandomSeed": 7,
            **config,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": static,
            "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE_ARN,
            "InputDataConfig": [channel("train"), channel("validation")],
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/tuning-output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }
    if strategy == "Grid":
        del request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    return request


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


def assert_inside(hyperparameters: dict[str, str], ranges: dict) -> None:
    for r in ranges.get("IntegerParameterRanges", []):
        value = hyperparameters[r["Name"]]
        assert value == str(int(value)) and int(r["MinValue"]) <= int(value) <= int(r["MaxValue"])
    for r in ranges.get("ContinuousParameterRanges", []):
        assert float(r["MinValue"]) <= float(hyperparameters[r["Name"]]) <= float(r["MaxValue"])
    for r in ranges.get("CategoricalParameterRanges", []):
        assert hyperparameters[r["Name"]] in r["Values"]


@pytest.fixture(scope="module")
def data(s3, bucket):
    s3.put_object(Bucket=bucket, Key="tuning/train/train.csv", Body=regression_csv(seed=11).encode())
    s3.put_object(
        Bucket=bucket, Key="tuning/validation/validation.csv", Body=regression_csv(40, seed=12).encode()
    )
    return bucket


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
            ranges={"CategoricalParameterRanges": [{"Name": "eta", "Values": ["0.5", "0.45", "0.4", "0.00001"]}]},
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
    combinations = sorted((j["TunedHyperParameters"]["max_depth"], j["TunedHyperParameters"]["min_child_weight"])
                          for j in children(sm, name))  # fmt: skip
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
    request = tuning_request(name, data, static={"objective": "reg:squarederror", "num_round": "100000", "eta": "0.0001"},
                             ranges={"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "3"}]})  # fmt: skip
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


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ranges": {"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "6", "MaxValue": "2"}]}}, "greater than MaxValue"),
        ({"ranges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}]}}, "positive"),
        ({"ranges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "-1", "MaxValue": "0.5", "ScalingType": "ReverseLogarithmic"}]}}, "0 <= x < 1"),
        ({"ranges": {"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "a", "MaxValue": "2"}]}}, "integer"),
        ({"ranges": {"IntegerParameterRanges": [{"Name": "num_round", "MinValue": "1", "MaxValue": "2"}]}}, "both static and tuned"),
        ({"strategy": "Grid", "ranges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.2"}]}}, "continuous"),
        ({"strategy": "Hyperband", "TrainingJobEarlyStoppingType": "Auto"}, "Off"),
        ({"objective": "validation:nonsense"}, "validation:rmse"),
    ],
    ids=["min-above-max", "log-of-zero", "reverse-log-negative", "not-an-integer", "static-and-tuned", "grid-continuous",
         "hyperband-auto", "unknown-objective"],
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


def test_sdk_tuner_fit_attach_best_job_and_analytics(service, data):
    import sagemaker
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

    import helpers

    session, role = helpers.connect("local")
    estimator = Estimator(
        sagemaker.image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1"),
        role,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{data}/sdk-tuning",
        sagemaker_session=session,
    )
    estimator.set_hyperparameters(objective="reg:squarederror", num_round=5)
    tuner = HyperparameterTuner(
        estimator,
        "validation:rmse",
        {"max_depth": IntegerParameter(2, 5), "eta": ContinuousParameter(0.1, 0.5)},
        objective_type="Minimize",
        max_jobs=3,
        max_parallel_jobs=2,
        strategy="Bayesian",
        random_seed=3,
        base_tuning_job_name="sdk-tuning",
    )
    channel = lambda c: TrainingInput(f"s3://{data}/tuning/{c}", content_type="text/csv")  # noqa: E731
    tuner.fit({"train": channel("train"), "validation": channel("validation")})
    tuner.wait()

    best = tuner.best_training_job()
    attached = HyperparameterTuner.attach(tuner.latest_tuning_job.name, sagemaker_session=session)
    assert attached.best_training_job() == best
    assert attached.strategy == "Bayesian" and attached.max_jobs == 3
    best_estimator = Estimator.attach(best, sagemaker_session=session)
    assert best_estimator.model_data.endswith(f"/{best}/output/model.tar.gz")

    table = tuner.analytics().dataframe()
    assert len(table) == 3 and set(table["TrainingJobStatus"]) == {"Completed"}
    assert (
        table["FinalObjectiveValue"].min()
        == table.loc[table["TrainingJobName"] == best, "FinalObjectiveValue"].iloc[0]
    )
    assert table["max_depth"].between(2, 5).all() and table["eta"].between(0.1, 0.5).all()


# -- the search and stopping logic on its own ---------------------------------------------------


SPACE = parse_parameter_ranges(RANGES, "ParameterRanges")


@pytest.mark.parametrize("strategy", ["Random", "Bayesian"])
def test_strategies_suggest_values_inside_the_ranges(strategy):
    search = RandomSearch(SPACE, 1) if strategy == "Random" else BayesianSearch(SPACE, 1, True, 2, 30)
    for index in range(30):
        config = search.suggest(index)
        assert_inside(config, RANGES)
        search.report(index, float(config["max_depth"]) + float(config["eta"]))


def test_log_scaling_favours_small_values_and_reverse_log_values_near_one():
    search = RandomSearch(SPACE, 2)
    configs = [search.suggest(i) for i in range(400)]
    eta = sorted(float(c["eta"]) for c in configs)
    subsample = sorted(float(c["subsample"]) for c in configs)
    assert eta[200] < 0.2  # a linear search would put the median near 0.275
    assert subsample[200] > 0.85  # a linear search would put it near 0.745


def test_same_seed_same_bayesian_search_whatever_the_completion_order():
    def run(order_seed: int) -> list[dict[str, str]]:
        search, suggested, pending = BayesianSearch(SPACE, 5, True, 3, 20), [], []
        shuffle = random.Random(order_seed)
        for index in range(20):
            # Results arrive in any order; only whether job index - 3 is done gates the next one.
            while not search.ready(index):
                done = shuffle.choice(pending)
                pending.remove(done)
                search.report(done, float(suggested[done]["eta"]))
            suggested.append(search.suggest(index))
            pending.append(index)
        return suggested

    assert run(0) == run(1)


def test_grid_search_enumerates_integer_and_categorical_values():
    space = parse_parameter_ranges(
        {
            "IntegerParameterRanges": [{"Name": "a", "MinValue": "1", "MaxValue": "3"}],
            "CategoricalParameterRanges": [{"Name": "b", "Values": ["x", "y"]}],
        },
        "ParameterRanges",
    )
    grid = GridSearch(space)
    configs = [grid.suggest(i) for i in range(grid.size)]
    assert len({tuple(c.items()) for c in configs}) == grid.size == 6
    assert grid.suggest(6) is None
    with pytest.raises(ValidationException):
        GridSearch(SPACE)


def test_objective_not_improving_counts_jobs_in_the_order_they_ended():
    # (end time, objective) in launch order; the job launched first ended last. In launch order
    # the counts would be 2 and 0.
    jobs = [(3.0, 0.5), (1.0, 1.0), (2.0, 2.0)]
    assert jobs_not_improving(jobs, minimize=True) == 0  # the last to end is the best
    assert jobs_not_improving(jobs, minimize=False) == 1  # 2.0 ended second; 0.5 does not beat it


def test_median_rule_stops_only_jobs_worse_than_earlier_ones():
    rule = MedianStoppingRule(minimize=True)
    for index, history in enumerate(([5, 3, 2], [6, 4, 3], [5, 4, 2.5])):
        rule.job_finished(index, history)
    assert rule.should_stop(3, [4, 2]) is None
    assert rule.should_stop(3, [4, 2, 1, 0.5]) is None  # no earlier job reached round 4
    assert rule.should_stop(4, [9, 8]) is not None
    # Rounds that arrive together are each judged, so a fast job is caught by its early rounds.
    assert "after 1 rounds" in rule.should_stop(5, [9, 8, 7, 6])


def test_hyperband_rule_cuts_jobs_outside_the_best_third():
    rule = HyperbandRule(minimize=False, resource=HyperbandResource("num_round", 1, 9))
    assert rule.rungs == [1, 3]
    assert rule.should_stop(0, [0.9]) is None
    assert rule.should_stop(1, [0.8]) is not None
    assert rule.should_stop(2, [0.95, 0.96, 0.97]) is None
