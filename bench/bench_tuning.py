"""Wall time of the course's tuning job against the local service.

The Boston Housing tuning job of the hyperparameter tuning lesson: XGBoost, 200 rounds with early
stopping after 10, max_depth 3–12, eta 0.05–0.5, min_child_weight 2–8, subsample 0.5–0.9,
gamma 0–10, minimise validation:rmse, 20 training jobs, 3 in parallel (capped at the number of CPUs).
Runs it once per strategy on a throw-away service and prints the wall time from
CreateHyperParameterTuningJob to a terminal status, the time per training job, how busy the
training slots were, and the best RMSE.

Run: ``.venv/bin/python bench/bench_tuning.py [--strategies Random Bayesian] [--jobs 20] [--parallel 3]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from _service import ROOT, running_service

sys.path.insert(0, str(ROOT))
from tests.service_helpers import csv_channel  # noqa: E402

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
RANGES = {
    "IntegerParameterRanges": [
        {"Name": "max_depth", "MinValue": "3", "MaxValue": "12"},
        {"Name": "min_child_weight", "MinValue": "2", "MaxValue": "8"},
    ],
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "0.9"},
        {"Name": "gamma", "MinValue": "0", "MaxValue": "10"},
    ],
}


def upload_boston(s3, bucket: str) -> None:
    from sklearn.model_selection import train_test_split

    from helpers.datasets.boston import load_boston

    boston = load_boston()
    x_train, _, y_train, _ = train_test_split(boston.data, boston.target, test_size=0.33, random_state=42)
    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.33, random_state=42)
    s3.create_bucket(Bucket=bucket)
    for channel, x, y in (("train", x_train, y_train), ("validation", x_val, y_val)):
        body = y.to_frame().join(x).to_csv(header=False, index=False)
        s3.put_object(Bucket=bucket, Key=f"boston/{channel}.csv", Body=body.encode())


def tuning_request(name: str, bucket: str, strategy: str, jobs: int, parallel: int) -> dict:
    from helpers.local.core.config import ROLE_ARN

    channel = lambda c: csv_channel(c, f"s3://{bucket}/boston/{c}.csv")  # noqa: E731
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": RANGES,
            "RandomSeed": 42,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {
                "objective": "reg:squarederror",
                "early_stopping_rounds": "10",
                "num_round": "200",
            },  # fmt: skip
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE_ARN,
            "InputDataConfig": [channel("train"), channel("validation")],
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    }


def run_tuning(sm, bucket: str, strategy: str, jobs: int, parallel: int) -> dict:
    name = f"bench-{strategy.lower()}-{int(time.time()) % 100000}"
    started = time.perf_counter()
    sm.create_hyper_parameter_tuning_job(**tuning_request(name, bucket, strategy, jobs, parallel))
    while True:
        desc = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if desc["HyperParameterTuningJobStatus"] not in ("InProgress", "Stopping"):
            break
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    summaries = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=100
    )["TrainingJobSummaries"]
    busy = sum((s["TrainingEndTime"] - s["TrainingStartTime"]).total_seconds() for s in summaries)
    return {
        "status": desc["HyperParameterTuningJobStatus"],
        "seconds": seconds,
        "jobs": len(summaries),
        "job_seconds": busy / max(1, len(summaries)),
        # How full the training slots were: 1.0 means a job was always running in every slot.
        "slot_use": busy / (seconds * min(parallel, os.cpu_count() or 1)),
        "best_rmse": desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", nargs="+", default=["Random", "Bayesian"])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=3)
    args = parser.parse_args()

    with running_service() as (config, session):
        s3 = session.client("s3", endpoint_url=config.url)
        sm = session.client("sagemaker", endpoint_url=config.url)
        upload_boston(s3, "bench-tuning")
        print(f"{os.cpu_count()} CPUs; {args.jobs} training jobs, MaxParallelTrainingJobs {args.parallel}")
        for strategy in args.strategies:
            result = run_tuning(sm, "bench-tuning", strategy, args.jobs, args.parallel)
            print(
                f"{strategy:9s} {result['status']:9s} {result['seconds']:6.1f} s wall, "
                f"{result['jobs']} jobs, {result['job_seconds']:.2f} s per training job, "
                f"slots {result['slot_use']:.0%} busy, "
                f"best validation:rmse {result['best_rmse']:.3f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
