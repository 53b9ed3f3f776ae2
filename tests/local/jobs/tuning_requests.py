"""Tuning job requests and data shared by the tuning tests: the search space, the request, checks."""

from __future__ import annotations

from helpers.local.core.config import ROLE_ARN
from tests.service_helpers import XGBOOST_IMAGE, csv_channel, regression_csv

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


def upload_tuning_data(s3, bucket: str) -> str:
    """The train and validation channels every tuning request reads, under ``tuning/``."""
    s3.put_object(Bucket=bucket, Key="tuning/train/train.csv", Body=regression_csv(seed=11).encode())
    s3.put_object(
        Bucket=bucket, Key="tuning/validation/validation.csv", Body=regression_csv(40, seed=12).encode()
    )
    return bucket


def assert_inside(hyperparameters: dict[str, str], ranges: dict) -> None:
    for r in ranges.get("IntegerParameterRanges", []):
        value = hyperparameters[r["Name"]]
        assert value == str(int(value)) and int(r["MinValue"]) <= int(value) <= int(r["MaxValue"])
    for r in ranges.get("ContinuousParameterRanges", []):
        assert float(r["MinValue"]) <= float(hyperparameters[r["Name"]]) <= float(r["MaxValue"])
    for r in ranges.get("CategoricalParameterRanges", []):
        assert hyperparameters[r["Name"]] in r["Values"]
