"""XGBoost framework mode through the SDK: ``sagemaker.xgboost.XGBoost`` and ``XGBoostModel`` scripts.

As aws/sagemaker-xgboost-container decides it: ``training.py`` ``train`` runs the user entry point
when the job has one (``sagemaker_program``) and the built-in algorithm otherwise; ``serving.py``
``main`` serves the user module when ``SAGEMAKER_PROGRAM`` is set, with ``encoder.decode`` (CSV and
LIBSVM to a DMatrix), ``model.predict(data, validate_features=False)`` and ``encoders.encode``.
A tuning job over a script's estimator knows only the MetricDefinitions it is given.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.service_helpers import (
    csv_channel,
    regression_csv,
    training_request,
    unique,
    wait_training,
    wait_transform,
)

TRAIN_SCRIPT = """
import argparse, os

import numpy as np
import xgboost as xgb

parser = argparse.ArgumentParser()
parser.add_argument("--max_depth", type=int, default=3)
parser.add_argument("--num_round", type=int, default=10)
args, _ = parser.parse_known_args()  # a tuning job adds _tuning_objective_metric

def load(channel):
    folder = os.environ[f"SM_CHANNEL_{channel.upper()}"]
    data = np.loadtxt(os.path.join(folder, f"{channel}.csv"), delimiter=",")
    return xgb.DMatrix(data[:, 1:], label=data[:, 0])

train, validation = load("train"), load("validation")
booster = xgb.train({"max_depth": args.max_depth}, train, args.num_round)
error = float(np.sqrt(np.mean((booster.predict(validation) - validation.get_label()) ** 2)))
print(f"script-rmse={error:.4f}")
booster.save_model(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"))
"""

INFERENCE_SCRIPT = """
import os

import xgboost as xgb


def model_fn(model_dir):
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, "model.json"))
    return booster
"""

SCRIPT_METRIC = [{"Name": "validation:script-rmse", "Regex": "script-rmse=([0-9.]+)"}]


@pytest.fixture(scope="module")
def channels(s3, bucket) -> dict[str, str]:
    prefix = unique("xgb-framework")
    for channel, seed in (("train", 1), ("validation", 2)):
        body = regression_csv(80 if channel == "train" else 30, seed=seed).encode()
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{channel}/{channel}.csv", Body=body)
    return {c: f"s3://{bucket}/{prefix}/{c}/" for c in ("train", "validation")}


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("xgb-source")
    (folder / "train.py").write_text(textwrap.dedent(TRAIN_SCRIPT))
    (folder / "inference.py").write_text(textwrap.dedent(INFERENCE_SCRIPT))
    return str(folder)


def _estimator(source_dir: str, bucket: str, **kwargs):
    from sagemaker.xgboost import XGBoost

    import helpers

    session, role = helpers.connect("local")
    return XGBoost(
        entry_point="train.py",
        source_dir=source_dir,
        framework_version="1.7-1",
        role=role,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{bucket}/xgb-framework/output",
        sagemaker_session=session,
        **kwargs,
    )


def _log_text(boto, group: str, prefix: str) -> str:
    logs = boto.client("logs")
    streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=prefix)["logStreams"]
    return "\n".join(
        event["message"]
        for stream in streams
        for event in logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]
    )


@pytest.fixture(scope="module")
def trained(service, bucket, channels, source_dir):
    estimator = _estimator(
        source_dir, bucket, hyperparameters={"max_depth": 2, "num_round": 8}, metric_definitions=SCRIPT_METRIC
    )
    estimator.fit(channels, logs=False)
    return estimator


def test_a_script_trains_instead_of_the_built_in_algorithm(trained, boto):
    job = trained.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-xgboost:1.7-1")
    # Only the script's metric: the built-in train:rmse/validation:rmse are not this job's.
    assert [m["MetricName"] for m in job["FinalMetricDataList"]] == ["validation:script-rmse"]
    log = _log_text(boto, "/aws/sagemaker/TrainingJobs", job["TrainingJobName"])
    assert "Invoking user training script." in log
    assert "Running XGBoost Sagemaker in algorithm mode" not in log
    # framework_version 1.7-1 is not the xgboost installed here: the log says so, naming both.
    import xgboost

    assert (
        "is for xgboost 1.7 (framework_version 1.7-1)" in log and f"runs xgboost {xgboost.__version__}" in log
    )


def test_an_xgboost_model_with_an_inference_script_deploys_and_transforms(trained, source_dir, s3, bucket):
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.serializers import CSVSerializer
    from sagemaker.xgboost import XGBoostModel

    import helpers

    session, role = helpers.connect("local")
    model = XGBoostModel(
        model_data=trained.model_data,
        role=role,
        entry_point="inference.py",
        source_dir=source_dir,
        framework_version="1.7-1",
        sagemaker_session=session,
    )
    predictor = model.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.large",
        serializer=CSVSerializer(),
        deserializer=JSONDeserializer(),
    )
    try:
        # The container's defaults: CSV to a DMatrix, model.predict, the answer encoded by Accept.
        answer = predictor.predict([[1, 2, 3, 4], [5, 1, 0, 2]])
        assert len(answer) == 2 and all(isinstance(v, float) for v in answer)
        assert answer[1] > answer[0]  # the label grows with the first feature (3*x0 - 2*x1)
        runtime = session.sagemaker_runtime_client
        with pytest.raises(runtime.exceptions.ModelError) as error:
            runtime.invoke_endpoint(
                EndpointName=predictor.endpoint_name, ContentType="application/json", Body="[[1, 2, 3, 4]]"
            )
        assert error.value.response["OriginalStatusCode"] == 415
        assert (
            "application/json is not supported by this framework" in error.value.response["OriginalMessage"]
        )
    finally:
        predictor.delete_endpoint()

    prefix = unique("xgb-framework-transform")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/input/rows.csv", Body=b"1,2,3,4\n5,1,0,2\n")
    transformer = model.transformer(
        instance_count=1,
        instance_type="ml.m5.large",
        accept="text/csv",
        strategy="SingleRecord",
        output_path=f"s3://{bucket}/{prefix}/output",
    )
    transformer.transform(
        f"s3://{bucket}/{prefix}/input/", content_type="text/csv", split_type="Line", wait=False
    )
    job = wait_transform(session.sagemaker_client, transformer.latest_transform_job.name)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    output = s3.get_object(Bucket=bucket, Key=f"{prefix}/output/rows.csv.out")["Body"].read().decode()
    values = [float(v) for v in output.split()]
    assert values == pytest.approx(answer, rel=1e-5)


def test_without_a_program_the_image_is_the_built_in_algorithm(sm, bucket, channels):
    name = unique("xgb-builtin")
    request = training_request(name, bucket, num_round="5")
    request["InputDataConfig"] = [csv_channel(c, uri) for c, uri in channels.items()]
    sm.create_training_job(**request)
    job = wait_training(sm, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert {"train:rmse", "validation:rmse"} <= {m["MetricName"] for m in job["FinalMetricDataList"]}


def test_tuning_a_script_uses_its_own_metric_definitions(service, sm, bucket, channels, source_dir):
    from sagemaker.tuner import HyperparameterTuner, IntegerParameter

    tuner = HyperparameterTuner(
        _estimator(source_dir, bucket, hyperparameters={"num_round": 5}),
        "validation:script-rmse",
        {"max_depth": IntegerParameter(1, 4)},
        metric_definitions=SCRIPT_METRIC,
        objective_type="Minimize",
        max_jobs=2,
        max_parallel_jobs=2,
        strategy="Random",
    )
    tuner.fit(channels)
    tuner.wait()
    best = tuner.best_training_job()
    description = sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuner.latest_tuning_job.name
    )
    assert description["HyperParameterTuningJobStatus"] == "Completed"
    assert description["BestTrainingJob"]["TrainingJobName"] == best
    final = description["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]
    assert final["MetricName"] == "validation:script-rmse" and final["Value"] > 0


def test_a_script_cannot_be_tuned_on_a_built_in_metric_it_does_not_print(service, bucket, source_dir):
    from botocore.exceptions import ClientError
    from sagemaker.tuner import HyperparameterTuner, IntegerParameter

    tuner = HyperparameterTuner(
        _estimator(source_dir, bucket),
        "validation:rmse",  # the built-in algorithm's metric; the script reports none of it
        {"max_depth": IntegerParameter(1, 4)},
        metric_definitions=SCRIPT_METRIC,
        max_jobs=2,
        max_parallel_jobs=1,
    )
    with pytest.raises(ClientError) as error:
        tuner.fit({"train": "s3://unused/train", "validation": "s3://unused/validation"})
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "validation:rmse" in str(error.value) and "validation:script-rmse" in str(error.value)
