"""A training job's metrics: its definitions in DescribeTrainingJob and its values in CloudWatch."""

from __future__ import annotations

import datetime as dt

import pytest
import sagemaker
from botocore.exceptions import ClientError
from sagemaker.analytics import TrainingJobAnalytics

from helpers.local import control
from helpers.local.core.config import load_config
from tests.conftest import free_port
from tests.service_helpers import regression_csv, session_for, training_request, unique, wait_training

NAMESPACE = "/aws/sagemaker/TrainingJobs"


@pytest.fixture(scope="module")
def job(sm, s3, bucket) -> dict:
    s3.put_object(Bucket=bucket, Key="metrics/train/train.csv", Body=regression_csv(seed=3).encode())
    s3.put_object(
        Bucket=bucket, Key="metrics/validation/validation.csv", Body=regression_csv(40, seed=4).encode()
    )
    name = unique("metrics")
    request = training_request(name, bucket, num_round="8")
    for channel in request["InputDataConfig"]:
        source = channel["DataSource"]["S3DataSource"]
        source["S3Uri"] = source["S3Uri"].replace("/data/", "/metrics/")
    sm.create_training_job(**request)
    desc = wait_training(sm, name)
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    return desc


def test_built_in_xgboost_job_describes_its_metric_definitions_with_aws_regexes(job):
    """DescribeTrainingJob of a built-in algorithm lists the algorithm's metrics with AWS's own
    regexes (as the sagemaker-xgboost-container's metrics and AWS's Describe answers show them)."""
    definitions = {d["Name"]: d["Regex"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert definitions["validation:rmse"] == (
        r".*\[[0-9]+\].*#011validation-rmse:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*"
    )
    assert {"train:rmse", "validation:auc", "train:mae"} <= set(definitions)


def test_training_job_analytics_gives_a_dataframe_of_the_jobs_metrics(service, job):
    """sagemaker.analytics.TrainingJobAnalytics reads the names from MetricDefinitions and the values
    with CloudWatch GetMetricStatistics (namespace /aws/sagemaker/TrainingJobs, dimension
    TrainingJobName), as the SDK's analytics module does."""
    session = sagemaker.Session(boto_session=session_for(service))
    frame = TrainingJobAnalytics(job["TrainingJobName"], sagemaker_session=session).dataframe()
    assert set(frame["metric_name"]) == {"train:rmse", "validation:rmse"}
    rows = TrainingJobAnalytics(
        job["TrainingJobName"], metric_names=["validation:rmse"], sagemaker_session=session, period=1
    ).dataframe()
    assert len(rows) >= 1 and set(rows["metric_name"]) == {"validation:rmse"}
    assert (rows["value"] > 0).all() and rows["timestamp"].is_monotonic_increasing


def test_get_metric_statistics_answers_per_period_with_the_requested_statistics(boto, job):
    """GetMetricStatistics returns one datapoint per period with the requested statistics only
    (CloudWatch API reference: GetMetricStatistics); ListMetrics names the job's metrics."""
    cloudwatch = boto.client("cloudwatch")
    dimensions = [{"Name": "TrainingJobName", "Value": job["TrainingJobName"]}]
    answer = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName="train:rmse",
        Dimensions=dimensions,
        StartTime=job["TrainingStartTime"] - dt.timedelta(minutes=1),
        EndTime=job["TrainingEndTime"] + dt.timedelta(minutes=1),
        Period=60,
        Statistics=["SampleCount", "Maximum", "Minimum"],
    )
    assert answer["Label"] == "train:rmse"
    assert sum(p["SampleCount"] for p in answer["Datapoints"]) == 8  # one value a boosting round
    assert all(
        set(p) == {"Timestamp", "SampleCount", "Maximum", "Minimum", "Unit"} for p in answer["Datapoints"]
    )
    listed = cloudwatch.list_metrics(Namespace=NAMESPACE, Dimensions=dimensions)["Metrics"]
    assert {m["MetricName"] for m in listed} == {"train:rmse", "validation:rmse"}
    with pytest.raises(ClientError) as error:
        cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE, MetricName="train:rmse", Dimensions=dimensions,
            StartTime=job["TrainingStartTime"], EndTime=job["TrainingEndTime"], Period=7,
            Statistics=["Average"],
        )  # fmt: skip
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_put_metric_data_survives_a_restart(tmp_path):
    """Metric data a PutMetricData acknowledged is there after the service restarts."""
    config = load_config(free_port(), tmp_path / "state")
    control.start(config)
    try:
        cloudwatch = session_for(config).client("cloudwatch", endpoint_url=config.url)
        when = dt.datetime.now(dt.UTC).replace(microsecond=0)
        cloudwatch.put_metric_data(
            Namespace="Course", MetricData=[{"MetricName": "loss", "Value": 2.5, "Timestamp": when}]
        )
        control.stop(config)
        control.start(config)
        cloudwatch = session_for(config).client("cloudwatch", endpoint_url=config.url)
        points = cloudwatch.get_metric_statistics(
            Namespace="Course", MetricName="loss", StartTime=when - dt.timedelta(minutes=5),
            EndTime=when + dt.timedelta(minutes=5), Period=60, Statistics=["Average"],
        )["Datapoints"]  # fmt: skip
        assert [p["Average"] for p in points] == [2.5]
    finally:
        control.stop(config)
