"""Spawned vs warm containers, in one run: a fresh interpreter per container, or a fork of the image's
warm process (``SAGEMAKER_LOCAL_WARM_IMAGES``).

For each mode, on its own throw-away service:

(a) a Boston-sized XGBoost training job (227 rows, 13 features, 200 rounds, early stopping after 10),
    CreateTrainingJob -> Completed as a client sees it, against the same ``xgboost.train`` run
    in-process on already parsed data just before;
(b) bench_tuning.py's tuning job (20 jobs, 3 in parallel, Random);
(c) a transform job's start (CreateTransformJob -> Completed on a 10-row file) and
    CreateEndpoint -> InService.

Each mode first runs one job to start its warm process, which is not counted.

Run: ``.venv/bin/python bench/bench_warm.py [--jobs 5] [--tuning-jobs 20] [--endpoints 3]``
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time

from _service import ROOT, running_service
from bench_tuning import run_tuning, upload_boston

sys.path.insert(0, str(ROOT))
from helpers.local.core.config import ROLE_ARN  # noqa: E402
from tests.service_helpers import XGBOOST_IMAGE, regression_csv, training_request  # noqa: E402

CHANNELS = {"train": regression_csv(227, 13, seed=1), "validation": regression_csv(112, 13, seed=2)}
HYPERPARAMETERS = {"num_round": "200", "max_depth": "5", "eta": "0.2", "early_stopping_rounds": "10"}


def wait(describe, key: str) -> dict:
    while (desc := describe())[key] in ("InProgress", "Creating", "Stopping"):
        time.sleep(0.01)
    return desc


def in_process_seconds(runs: int) -> float:
    """``xgboost.train`` on the same data, parsed once, as a notebook would run it."""
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # as the image imports it
    import numpy as np
    import xgboost as xgb

    del sys.modules["sklearn"]
    train, validation = (np.loadtxt(io.StringIO(CHANNELS[c]), delimiter=",") for c in ("train", "validation"))
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        dtrain = xgb.DMatrix(train[:, 1:], label=train[:, 0])
        dval = xgb.DMatrix(validation[:, 1:], label=validation[:, 0])
        params = {"max_depth": 5, "eta": 0.2, "objective": "reg:squarederror"}
        evals = [(dtrain, "train"), (dval, "validation")]
        xgb.train(params, dtrain, 200, evals=evals, early_stopping_rounds=10, verbose_eval=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def training_seconds(sm, runs: int, prefix: str) -> list[float]:
    times = []
    for i in range(runs):
        name = f"{prefix}-{i}"
        started = time.perf_counter()
        sm.create_training_job(**training_request(name, "bench", **HYPERPARAMETERS))
        desc = wait(lambda name=name: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
        assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
        times.append(time.perf_counter() - started)
    return times


def transform_seconds(sm, model: str, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        name = f"bench-transform-{i}-{int(time.time() * 1000) % 10**8}"
        started = time.perf_counter()
        sm.create_transform_job(
            TransformJobName=name, ModelName=model,
            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bench/batch/"}},
                            "ContentType": "text/csv", "SplitType": "Line"},
            TransformOutput={"S3OutputPath": f"s3://bench/out/{name}"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        )  # fmt: skip
        desc = wait(lambda name=name: sm.describe_transform_job(TransformJobName=name), "TransformJobStatus")
        assert desc["TransformJobStatus"] == "Completed", desc.get("FailureReason")
        times.append(time.perf_counter() - started)
    return times


def endpoint_seconds(sm, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        started = time.perf_counter()
        sm.create_endpoint(EndpointName=f"bench-ep-{i}", EndpointConfigName="bench-config")
        desc = wait(lambda i=i: sm.describe_endpoint(EndpointName=f"bench-ep-{i}"), "EndpointStatus")
        assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")
        times.append(time.perf_counter() - started)
        sm.delete_endpoint(EndpointName=f"bench-ep-{i}")
    return times


def measure(mode: str, args: argparse.Namespace) -> dict[str, float]:
    os.environ["SAGEMAKER_LOCAL_WARM_IMAGES"] = "1" if mode == "warm" else "0"
    with running_service() as (config, session):
        sm, s3 = (session.client(name, endpoint_url=config.url) for name in ("sagemaker", "s3"))
        s3.create_bucket(Bucket="bench")
        for channel, body in CHANNELS.items():
            s3.put_object(Bucket="bench", Key=f"data/{channel}/{channel}.csv", Body=body.encode())
        rows = "\n".join(line.split(",", 1)[1] for line in CHANNELS["validation"].splitlines()[:10])
        s3.put_object(Bucket="bench", Key="batch/rows.csv", Body=rows.encode())
        training_seconds(sm, 1, "bench-first")  # starts the warm process (not counted)
        time.sleep(5 if mode == "warm" else 0)  # let it finish importing
        desc = sm.describe_training_job(TrainingJobName="bench-first-0")
        sm.create_model(
            ModelName="bench-model", ExecutionRoleArn=ROLE_ARN,
            PrimaryContainer={
                "Image": XGBOOST_IMAGE, "ModelDataUrl": desc["ModelArtifacts"]["S3ModelArtifacts"],
            },
        )  # fmt: skip
        sm.create_endpoint_config(
            EndpointConfigName="bench-config",
            ProductionVariants=[
                {"VariantName": "V", "ModelName": "bench-model", "InitialInstanceCount": 1,
                 "InstanceType": "ml.m5.large"}
            ],
        )  # fmt: skip
        # The baseline right before the jobs, so both see about the same load on a shared machine.
        result = {"in_process": in_process_seconds(args.jobs)}
        result["training"] = statistics.median(training_seconds(sm, args.jobs, "bench-job"))
        result["transform"] = statistics.median(transform_seconds(sm, "bench-model", args.endpoints))
        result["endpoint"] = statistics.median(endpoint_seconds(sm, args.endpoints))
        if args.tuning_jobs:
            upload_boston(s3, "bench-tuning")
            tuning = run_tuning(sm, "bench-tuning", "Random", args.tuning_jobs, 3)
            assert tuning["status"] == "Completed", tuning
            result["tuning"] = tuning["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--tuning-jobs", type=int, default=20)
    parser.add_argument("--endpoints", type=int, default=3)
    args = parser.parse_args()
    results = {mode: measure(mode, args) for mode in ("spawn", "warm")}
    print(f"{os.cpu_count()} CPUs")
    for mode, result in results.items():
        print(
            f"{mode:5s}: training job Create->Completed median {result['training']:.3f} s, "
            f"xgboost.train in-process {result['in_process']:.3f} s "
            f"({result['training'] / result['in_process']:.1f}x); transform job {result['transform']:.3f} s; "
            f"CreateEndpoint->InService {result['endpoint']:.3f} s"
            + (
                f"; tuning job ({args.tuning_jobs} jobs) {result['tuning']:.1f} s"
                if "tuning" in result
                else ""
            )
        )


if __name__ == "__main__":
    main()
