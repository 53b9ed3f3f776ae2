"""Training jobs through a plain boto3 client, as a learner's low-level notebook does."""

from __future__ import annotations

import io
import tarfile

import pytest
from botocore.exceptions import ClientError

from tests.service_helpers import regression_csv, training_request, unique, wait_training


@pytest.fixture(scope="module")
def data(s3, bucket):
    s3.put_object(Bucket=bucket, Key="data/train/train.csv", Body=regression_csv(seed=1).encode())
    s3.put_object(
        Bucket=bucket, Key="data/validation/validation.csv", Body=regression_csv(40, seed=2).encode()
    )
    return bucket


def test_training_job_completes_with_model_artifact_and_lifecycle(sm, s3, data):
    name = unique("train")
    arn = sm.create_training_job(**training_request(name, data))["TrainingJobArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"
    desc = wait_training(sm, name)

    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    assert [t["Status"] for t in desc["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed",
    ]  # fmt: skip
    assert desc["TrainingStartTime"] <= desc["TrainingEndTime"]
    assert desc["BillableTimeInSeconds"] >= 1
    artifact = desc["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{data}/output/{name}/output/model.tar.gz"
    body = s3.get_object(Bucket=data, Key=f"output/{name}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert "xgboost-model" in tar.getnames()
    metrics = {m["MetricName"]: m["Value"] for m in desc["FinalMetricDataList"]}
    assert 0 < metrics["validation:rmse"] < 5  # the data is learnable


def test_training_log_is_in_cloudwatch_with_per_round_metrics(sm, boto, data):
    name = unique("logs")
    sm.create_training_job(**training_request(name, data, num_round="5"))
    wait_training(sm, name)
    logs = boto.client("logs")
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/"
    )
    assert len(streams["logStreams"]) == 1
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=streams["logStreams"][0]["logStreamName"]
    )["events"]
    rounds = [e["message"] for e in events if e["message"].startswith("[")]
    assert any("#011train-rmse:" in line and "#011validation-rmse:" in line for line in rounds)


def test_invalid_hyperparameter_fails_job_naming_it(sm, data):
    name = unique("bad-depth")
    sm.create_training_job(**training_request(name, data, max_depth="-1"))
    desc = wait_training(sm, name)
    assert desc["TrainingJobStatus"] == "Failed"
    assert "max_depth" in desc["FailureReason"]


def test_missing_channel_data_fails_job_naming_the_channel(sm, data):
    name = unique("nodata")
    request = training_request(name, data)
    request["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{data}/nothing-here/"
    sm.create_training_job(**request)
    desc = wait_training(sm, name)
    assert desc["TrainingJobStatus"] == "Failed"
    assert "validation" in desc["FailureReason"] and "nothing-here" in desc["FailureReason"]


def test_unknown_image_fails_job_with_clear_reason(sm, data):
    name = unique("image")
    sm.create_training_job(
        **training_request(name, data, image="123.dkr.ecr.us-east-1.amazonaws.com/my-own:latest")
    )
    desc = wait_training(sm, name)
    assert desc["TrainingJobStatus"] == "Failed"
    assert "my-own" in desc["FailureReason"] and "sagemaker-xgboost" in desc["FailureReason"]


def test_duplicate_name_is_resource_in_use(sm, data):
    name = unique("dup")
    sm.create_training_job(**training_request(name, data, num_round="2"))
    with pytest.raises(ClientError) as error:
        sm.create_training_job(**training_request(name, data))
    assert error.value.response["Error"]["Code"] == "ResourceInUse"
    wait_training(sm, name)


def test_bad_requests_are_validation_errors(sm, data):
    request = training_request(unique("bad-uri"), data)
    request["OutputDataConfig"]["S3OutputPath"] = "bucket-without-scheme/out"
    with pytest.raises(ClientError) as error:
        sm.create_training_job(**request)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    # As on AWS: the API's own pattern for the member, named by its wire path.
    assert "at 'outputDataConfig.s3OutputPath'" in error.value.response["Error"]["Message"]
    assert "(https|s3)://" in error.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as error:
        sm.describe_training_job(TrainingJobName="never-created")
    assert error.value.response["Error"]["Code"] == "ValidationException"

    with pytest.raises(ClientError) as error:
        sm.create_training_job(**training_request("bad_name_with_underscores", data))
    assert "pattern" in error.value.response["Error"]["Message"]


def test_stop_training_job(sm, data):
    name = unique("stop")
    sm.create_training_job(**training_request(name, data, num_round="100000", eta="0.0001"))
    sm.stop_training_job(TrainingJobName=name)
    desc = wait_training(sm, name)
    assert desc["TrainingJobStatus"] == "Stopped"
    with pytest.raises(ClientError) as error:
        sm.stop_training_job(TrainingJobName=name)
    assert "Stopped" in error.value.response["Error"]["Message"]


def test_list_training_jobs_filters_sorts_and_pages(sm, data):
    prefix = unique("listing")
    names = [f"{prefix}-{i}" for i in range(3)]
    for name in names:
        sm.create_training_job(**training_request(name, data, num_round="2"))
    for name in names:
        wait_training(sm, name)
    found = sm.list_training_jobs(NameContains=prefix, SortBy="Name", SortOrder="Ascending", MaxResults=2)
    assert [s["TrainingJobName"] for s in found["TrainingJobSummaries"]] == names[:2]
    rest = sm.list_training_jobs(
        NameContains=prefix, SortBy="Name", SortOrder="Ascending", NextToken=found["NextToken"]
    )
    assert [s["TrainingJobName"] for s in rest["TrainingJobSummaries"]] == names[2:]
    assert sm.list_training_jobs(NameContains=prefix, StatusEquals="Failed")["TrainingJobSummaries"] == []


def test_tags_round_trip(sm, data):
    name = unique("tags")
    request = training_request(name, data, num_round="2")
    request["Tags"] = [{"Key": "course", "Value": "boston"}]
    arn = sm.create_training_job(**request)["TrainingJobArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "lesson", "Value": "1"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "course", "Value": "boston"},
        {"Key": "lesson", "Value": "1"},
    ]
    sm.delete_tags(ResourceArn=arn, TagKeys=["course"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "lesson", "Value": "1"}]
    wait_training(sm, name)
