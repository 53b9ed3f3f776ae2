"""A transform job's DataProcessing: InputFilter, JoinSource and OutputFilter, through boto3 and the SDK.

Followed: the Developer Guide's "Associate Prediction Results with Input Records"
(batch-transform-data-processing: the supported JSONPath operators, CSV rows taken as arrays, the
joined CSV and JSON layouts) and the API reference's ``DataProcessing``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from botocore.exceptions import ClientError

from helpers.local.core.config import ROLE_ARN
from tests.local.jobs.test_transform import transform_request
from tests.service_helpers import (
    LINEAR_LEARNER_IMAGE,
    regression_csv,
    train_model,
    training_request,
    unique,
    upload_regression_data,
    wait_training,
    wait_transform,
)

ROWS = 12


@pytest.fixture(scope="module")
def model_name(sm, s3, bucket):
    return train_model(sm, s3, bucket, "dataproc", 4)


@pytest.fixture(scope="module")
def features():
    return [line.split(",") for line in regression_csv(ROWS, seed=9, label=False).splitlines()]


def put_csv(s3, bucket: str, key: str, rows: list[list[str]]) -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=("\n".join(",".join(r) for r in rows) + "\n").encode())
    return f"s3://{bucket}/{key}"


def run_transform(sm, s3, bucket, model: str, source: str, **extra) -> list[str]:
    """Run a transform of ``source`` (one object) and return its output lines."""
    name = unique("dp")
    prefix = unique("dp-out")
    sm.create_transform_job(**transform_request(name, model, source, f"s3://{bucket}/{prefix}", **extra))
    desc = wait_transform(sm, name)
    assert desc["TransformJobStatus"] == "Completed", desc.get("FailureReason")
    key = f"{prefix}/{source.rsplit('/', 1)[1]}.out"
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()


def test_csv_input_filter_drops_the_id_and_output_filter_joins_it_back(sm, s3, bucket, model_name, features):
    """The guide's CSV example: InputFilter ``$[1:]`` keeps the id from the model, JoinSource
    ``Input`` appends the prediction to the input row and OutputFilter ``$[0,-1]`` keeps id and
    prediction. The predictions are those of the features alone."""
    prefix = unique("ids")
    plain = run_transform(sm, s3, bucket, model_name, put_csv(s3, bucket, f"{prefix}/x.csv", features))
    with_ids = [[f"id-{i}", *row] for i, row in enumerate(features)]
    joined = run_transform(
        sm,
        s3,
        bucket,
        model_name,
        put_csv(s3, bucket, f"{prefix}/ids.csv", with_ids),
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    assert [line.split(",") for line in joined] == [
        [f"id-{i}", prediction] for i, prediction in enumerate(plain)
    ]


def test_csv_join_source_input_writes_input_columns_then_prediction(sm, s3, bucket, model_name, features):
    """JoinSource ``Input`` alone: "For CSV data ... the joined data has the original input data
    followed by the transformed data" (API reference, DataProcessing.JoinSource)."""
    source = put_csv(s3, bucket, f"{unique('join')}/x.csv", features)
    lines = run_transform(
        sm,
        s3,
        bucket,
        model_name,
        source,
        BatchStrategy="SingleRecord",
        DataProcessing={"JoinSource": "Input"},
    )
    assert len(lines) == ROWS
    for line, row in zip(lines, features, strict=True):
        cells = line.split(",")
        assert cells[:-1] == row
        float(cells[-1])


def test_csv_slice_includes_both_ends(sm, s3, bucket, model_name, features):
    """The guide: "``$[1:4]`` specifies the second through fifth columns": a slice's end is included.
    Columns 1..4 of a row with a leading id and a trailing note are the model's four features."""
    rows = [[f"id-{i}", *row, "note"] for i, row in enumerate(features)]
    lines = run_transform(
        sm,
        s3,
        bucket,
        model_name,
        put_csv(s3, bucket, f"{unique('slice')}/x.csv", rows),
        DataProcessing={"InputFilter": "$[1:4]"},
    )
    assert len(lines) == ROWS


@pytest.fixture(scope="module")
def linear_model(sm, s3, bucket):
    upload_regression_data(s3, bucket, "dp-linear")
    job = unique("ll")
    request = training_request(job, bucket, LINEAR_LEARNER_IMAGE)
    request["HyperParameters"] = {"feature_dim": "4", "predictor_type": "regressor", "epochs": "3"}
    for channel in request["InputDataConfig"]:
        source = channel["DataSource"]["S3DataSource"]
        source["S3Uri"] = source["S3Uri"].replace("/data/", "/dp-linear/")
    sm.create_training_job(**request)
    desc = wait_training(sm, job)
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    name = unique("llmodel")
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={
            "Image": LINEAR_LEARNER_IMAGE,
            "ModelDataUrl": desc["ModelArtifacts"]["S3ModelArtifacts"],
        },
    )
    return name


def run_jsonlines(sm, s3, bucket, model: str, records: list, **data_processing) -> list:
    key = f"{unique('jl')}/in.jsonl"
    s3.put_object(Bucket=bucket, Key=key, Body="".join(json.dumps(r) + "\n" for r in records).encode())
    request = transform_request(unique("dpj"), model, f"s3://{bucket}/{key}", f"s3://{bucket}/{key}-out")
    request["TransformInput"]["ContentType"] = "application/jsonlines"
    request["TransformOutput"]["Accept"] = "application/jsonlines"
    request["DataProcessing"] = data_processing
    sm.create_transform_job(**request)
    desc = wait_transform(sm, request["TransformJobName"])
    assert desc["TransformJobStatus"] == "Completed", desc.get("FailureReason")
    body = s3.get_object(Bucket=bucket, Key=f"{key}-out/in.jsonl.out")["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines()]


def test_json_object_join_adds_sagemaker_output(sm, s3, bucket, linear_model, features):
    """The guide's JSON example: InputFilter ``$.features``-style selects the model's part, the
    prediction is added under ``SageMakerOutput`` and OutputFilter ``$['id','SageMakerOutput']``
    keeps the id and the prediction."""
    records = [
        {"id": f"r{i}", "data": {"features": [float(v) for v in row]}} for i, row in enumerate(features)
    ]
    out = run_jsonlines(
        sm,
        s3,
        bucket,
        linear_model,
        records,
        InputFilter="$.data",
        JoinSource="Input",
        OutputFilter="$['id','SageMakerOutput']",
    )
    assert [sorted(o) for o in out] == [["SageMakerOutput", "id"]] * ROWS
    assert [o["id"] for o in out] == [f"r{i}" for i in range(ROWS)]
    assert all(np.isfinite(o["SageMakerOutput"]["score"]) for o in out)


def test_json_join_of_non_object_input_uses_sagemaker_input(sm, s3, bucket, linear_model, features):
    """ "If the input is not a key-value pair object, SageMaker creates a new JSON file ... the input
    data is stored under the ``SageMakerInput`` key" (API reference, DataProcessing.JoinSource)."""
    records = [[{"features": [float(v) for v in row]}, f"r{i}"] for i, row in enumerate(features)]
    out = run_jsonlines(sm, s3, bucket, linear_model, records, InputFilter="$[0]", JoinSource="Input")
    assert [o["SageMakerInput"] for o in out] == records
    assert all("score" in o["SageMakerOutput"] for o in out)


def create_error(sm, bucket, model_name, **extra) -> str:
    request = transform_request(unique("bad"), model_name, f"s3://{bucket}/x/", f"s3://{bucket}/y", **extra)
    with pytest.raises(ClientError) as error:
        sm.create_transform_job(**request)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    return error.value.response["Error"]["Message"]


def test_unsupported_character_in_a_filter_is_refused(sm, bucket, model_name):
    """AWS answers ``Invalid OutputFilter: "$['account_id','SageMakerOutput']". Unexpected "_" in
    JsonPath. Supported operators for ...`` (aws/aws-sdk#184): only the guide's operators are taken."""
    message = create_error(
        sm, bucket, model_name, DataProcessing={"OutputFilter": "$['account_id','SageMakerOutput']"}
    )
    assert "Invalid OutputFilter: \"$['account_id','SageMakerOutput']\". Unexpected \"_\"" in message


def test_named_path_on_csv_is_refused(sm, bucket, model_name):
    """ "For CSV data, each row is taken as a JSON array, so only index based JSONPaths can be
    applied" (the guide, Supported JSONPath Operators)."""
    message = create_error(sm, bucket, model_name, DataProcessing={"InputFilter": "$.features"})
    assert "only index based JSONPaths" in message


def test_join_of_csv_without_line_split_is_refused(sm, bucket, model_name):
    """ "If you set input and output formats to text/csv, you must also set the SplitType and
    AssemblyType parameters to line" (the guide, Use Data Processing in Batch Transform Jobs)."""
    request = transform_request(unique("bad"), model_name, f"s3://{bucket}/x/", f"s3://{bucket}/y")
    request["TransformInput"]["SplitType"] = "None"
    request["DataProcessing"] = {"JoinSource": "Input"}
    with pytest.raises(ClientError) as error:
        sm.create_transform_job(**request)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "SplitType Line" in error.value.response["Error"]["Message"]


def test_several_ranges_fail_the_job(sm, s3, bucket, model_name, features):
    """AWS takes ``$[0:2,246:]`` and the job fails: "Invalid JsonPath: $[0:2,246:]: only single range
    filters of format (eg: [1:5]) are supported" (aws/sagemaker-python-sdk#1112)."""
    source = put_csv(s3, bucket, f"{unique('ranges')}/x.csv", features)
    name = unique("dp")
    sm.create_transform_job(
        **transform_request(
            name,
            model_name,
            source,
            f"s3://{bucket}/{unique('o')}",
            DataProcessing={"JoinSource": "Input", "OutputFilter": "$[0:2,4:]"},
        )
    )
    desc = wait_transform(sm, name)
    assert desc["TransformJobStatus"] == "Failed"
    assert "only single range filters of format (eg: [1:5]) are supported" in desc["FailureReason"]


def test_sdk_transformer_drops_the_id_and_joins_it_back(service, s3, bucket, model_name, features):
    """``transformer.transform(..., input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")``
    (the SDK's Transformer sends DataProcessing) gives one ``id,prediction`` line per input row."""
    from sagemaker.transformer import Transformer

    import helpers

    session, _ = helpers.connect("local")
    prefix = unique("sdk-ids")
    source = put_csv(
        s3, bucket, f"{prefix}/in/ids.csv", [[f"id-{i}", *row] for i, row in enumerate(features)]
    )
    transformer = Transformer(
        model_name,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{bucket}/{prefix}/out",
        assemble_with="Line",
        accept="text/csv",
        sagemaker_session=session,
    )
    transformer.transform(
        source,
        content_type="text/csv",
        split_type="Line",
        input_filter="$[1:]",
        join_source="Input",
        output_filter="$[0,-1]",
        logs=False,
    )
    transformer.wait(logs=False)
    body = s3.get_object(Bucket=bucket, Key=f"{prefix}/out/ids.csv.out")["Body"].read().decode()
    rows = [line.split(",") for line in body.splitlines()]
    assert [row[0] for row in rows] == [f"id-{i}" for i in range(ROWS)]
    assert all(len(row) == 2 and np.isfinite(float(row[1])) for row in rows)
