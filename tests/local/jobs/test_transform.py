"""Models and batch transform jobs through boto3."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from helpers.local.core.config import ROLE_ARN
from tests.service_helpers import (
    XGBOOST_IMAGE,
    regression_csv,
    train_model,
    unique,
    wait_transform,
)


@pytest.fixture(scope="module")
def model_name(sm, s3, bucket):
    return train_model(sm, s3, bucket, "tdata", 3)


def transform_request(name: str, model: str, source: str, output: str, **extra) -> dict:
    request = {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": output, "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    request.update(extra)
    return request


def test_model_describe_list_delete(sm, model_name):
    desc = sm.describe_model(ModelName=model_name)
    assert desc["PrimaryContainer"]["Image"] == XGBOOST_IMAGE
    assert model_name in [m["ModelName"] for m in sm.list_models(NameContains=model_name)["Models"]]
    with pytest.raises(ClientError) as error:
        sm.create_model(
            ModelName=model_name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": XGBOOST_IMAGE}
        )
    assert "already existing" in error.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as error:
        sm.describe_model(ModelName="no-such-model")
    assert error.value.response["Error"]["Code"] == "ValidationException"


def test_create_model_with_unknown_image_is_rejected(sm):
    with pytest.raises(ClientError) as error:
        sm.create_model(
            ModelName=unique("img"),
            ExecutionRoleArn=ROLE_ARN,
            PrimaryContainer={"Image": "example.com/other:1"},
        )
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "sagemaker-xgboost" in error.value.response["Error"]["Message"]


@pytest.mark.parametrize("strategy", ["MultiRecord", "SingleRecord"])
def test_transform_prefix_writes_one_prediction_per_line_per_object(sm, s3, bucket, model_name, strategy):
    prefix = unique("batch")
    for part, rows in (("a.csv", 30), ("b.csv", 7)):
        s3.put_object(
            Bucket=bucket, Key=f"{prefix}/in/{part}", Body=regression_csv(rows, seed=5, label=False).encode()
        )
    name = unique("transform")
    sm.create_transform_job(
        **transform_request(
            name,
            model_name,
            f"s3://{bucket}/{prefix}/in/",
            f"s3://{bucket}/{prefix}/out",
            BatchStrategy=strategy,
        )
    )
    desc = wait_transform(sm, name)
    assert desc["TransformJobStatus"] == "Completed", desc.get("FailureReason")
    for part, rows in (("a.csv", 30), ("b.csv", 7)):
        out = s3.get_object(Bucket=bucket, Key=f"{prefix}/out/{part}.out")["Body"].read().decode()
        predictions = [float(v) for v in out.split()]
        assert len(predictions) == rows


def test_transform_single_object_and_small_payload_batches(sm, s3, bucket, model_name):
    prefix = unique("single")
    csv = regression_csv(2000, seed=6, label=False)
    s3.put_object(Bucket=bucket, Key=f"{prefix}/test.csv", Body=csv.encode())
    name = unique("transform")
    sm.create_transform_job(
        **transform_request(
            name,
            model_name,
            f"s3://{bucket}/{prefix}/test.csv",
            f"s3://{bucket}/{prefix}/out",
            MaxPayloadInMB=1,
        )
    )
    assert wait_transform(sm, name)["TransformJobStatus"] == "Completed"
    out = s3.get_object(Bucket=bucket, Key=f"{prefix}/out/test.csv.out")["Body"].read().decode()
    assert len(out.splitlines()) == 2000


def test_malformed_record_fails_job_naming_the_object(sm, s3, bucket, model_name):
    prefix = unique("broken")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/bad.csv", Body=b"1,2,3,4\nnot,a,number,row\n")
    name = unique("transform")
    sm.create_transform_job(
        **transform_request(name, model_name, f"s3://{bucket}/{prefix}/", f"s3://{bucket}/{prefix}/out")
    )
    desc = wait_transform(sm, name)
    assert desc["TransformJobStatus"] == "Failed"
    assert f"s3://{bucket}/{prefix}/bad.csv" in desc["FailureReason"]


def test_transform_errors(sm, bucket, model_name):
    with pytest.raises(ClientError) as error:
        sm.create_transform_job(
            **transform_request(unique("t"), "missing-model", f"s3://{bucket}/x", f"s3://{bucket}/y")
        )
    assert "missing-model" in error.value.response["Error"]["Message"]
    name = unique("t")
    sm.create_transform_job(
        **transform_request(name, model_name, f"s3://{bucket}/empty-prefix/", f"s3://{bucket}/y")
    )
    desc = wait_transform(sm, name)
    assert desc["TransformJobStatus"] == "Failed" and "empty-prefix" in desc["FailureReason"]
    assert name in [
        j["TransformJobName"] for j in sm.list_transform_jobs(StatusEquals="Failed")["TransformJobSummaries"]
    ]
