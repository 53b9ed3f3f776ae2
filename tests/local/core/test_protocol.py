"""The wire protocol on its own: request validation worded as AWS words it, and response bodies."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from helpers.local.core import protocol
from helpers.local.core.config import ROLE_ARN
from helpers.local.core.errors import SerializationException, UnknownOperation, ValidationException

MODEL_NAME_PATTERN = r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?"


def training_job(**changes) -> dict:
    request = {
        "TrainingJobName": "job",
        "RoleArn": ROLE_ARN,
        "AlgorithmSpecification": {"TrainingImage": "image", "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    request.update(changes)
    return request


def problem(operation: str, params: dict) -> str:
    """The ValidationException message ``params`` gets."""
    with pytest.raises(ValidationException) as error:
        protocol.validate_request(protocol.operation_model(operation), params)
    return error.value.message


def test_a_valid_request_passes():
    protocol.validate_request(protocol.operation_model("CreateTrainingJob"), training_job())
    protocol.validate_request(protocol.operation_model("ListModels"), {})


def test_every_missing_required_member_is_named_in_one_message():
    assert problem("CreateTrainingJob", {}) == (
        "3 validation errors detected: "
        "Value null at 'trainingJobName' failed to satisfy constraint: Member must not be null; "
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null; "
        "Value null at 'outputDataConfig' failed to satisfy constraint: Member must not be null"
    )


def test_json_null_counts_as_absent():
    assert problem("CreateModel", {"ModelName": None}) == (
        "1 validation error detected: Value null at 'modelName' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_too_long_a_name_is_a_length_problem_and_its_pattern_is_not_checked():
    assert problem("CreateModel", {"ModelName": "a" * 64}) == (
        f"1 validation error detected: Value '{'a' * 64}' at 'modelName' failed to satisfy constraint: "
        "Member must have length less than or equal to 63"
    )


def test_a_name_outside_the_pattern():
    assert problem("CreateModel", {"ModelName": "my_model"}) == (
        "1 validation error detected: Value 'my_model' at 'modelName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {MODEL_NAME_PATTERN}"
    )


def test_a_value_outside_an_enum_lists_the_allowed_values():
    request = training_job(AlgorithmSpecification={"TrainingImage": "image", "TrainingInputMode": "Stream"})
    assert problem("CreateTrainingJob", request) == (
        "1 validation error detected: Value 'Stream' at 'algorithmSpecification.trainingInputMode' "
        "failed to satisfy constraint: Member must satisfy enum value set: [Pipe, File, FastFile]"
    )


@pytest.mark.parametrize(
    ("value", "constraint"),
    [(0, "greater than or equal to 1"), (101, "less than or equal to 100")],
)
def test_a_number_outside_its_range(value, constraint):
    assert problem("ListModels", {"MaxResults": value}) == (
        f"1 validation error detected: Value '{value}' at 'maxResults' failed to satisfy constraint: "
        f"Member must have value {constraint}"
    )


def test_list_items_are_named_by_position_from_one():
    channels = [
        {
            "ChannelName": "train",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/t"}},
        },
        {"ChannelName": "validation"},
    ]
    assert problem("CreateTrainingJob", training_job(InputDataConfig=channels)) == (
        "1 validation error detected: Value null at 'inputDataConfig.2.member.dataSource' failed to "
        "satisfy constraint: Member must not be null"
    )


def test_an_empty_list_below_its_minimum_length():
    assert problem("CreateTrainingJob", training_job(InputDataConfig=[])) == (
        "1 validation error detected: Value '[]' at 'inputDataConfig' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_a_map_value_too_long_names_the_map_and_every_constraint_of_its_values():
    message = problem("CreateTrainingJob", training_job(HyperParameters={"eta": "1" * 2501}))
    assert message.startswith("1 validation error detected: Value '{eta=1111")
    # The echoed value is cut, not 2,500 characters long.
    assert len(message) < protocol.MAX_ECHOED_CHARACTERS + 400
    assert message.endswith(
        "...' at 'hyperParameters' failed to satisfy constraint: Map value must satisfy constraint: "
        "[Member must have length less than or equal to 2500, Member must have length greater than or "
        "equal to 0, Member must satisfy regular expression pattern: .*]"
    )


def test_problems_at_several_depths_are_all_reported():
    request = training_job(
        TrainingJobName="bad_name",
        ResourceConfig={"InstanceType": "ml.nonsense", "InstanceCount": 1, "VolumeSizeInGB": 5},
        Tags=[{"Key": "k" * 129, "Value": "v"}],
    )
    message = problem("CreateTrainingJob", request)
    assert message.startswith("3 validation errors detected: ")
    assert (
        "at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression" in message
    )
    assert (
        "at 'resourceConfig.instanceType' failed to satisfy constraint: Member must satisfy enum" in message
    )
    assert "at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than" in message


def test_a_value_of_the_wrong_json_type_cannot_be_read():
    with pytest.raises(SerializationException) as error:
        protocol.validate_request(protocol.operation_model("ListModels"), {"MaxResults": "10"})
    assert error.value.code == "SerializationException"
    assert error.value.message == "Value '10' at 'maxResults' cannot be read as integer: pass an integer."
    with pytest.raises(SerializationException):
        protocol.validate_request(protocol.operation_model("ListModels"), {"MaxResults": True})
    with pytest.raises(SerializationException):
        protocol.validate_request(protocol.operation_model("ListModels"), [])


def test_an_unknown_member_is_refused_with_the_members_it_may_be():
    with pytest.raises(ValidationException) as error:
        protocol.validate_request(protocol.operation_model("DescribeModel"), {"ModelName": "m", "Name": "m"})
    assert error.value.message == "Unknown parameter 'Name': it must be one of: ModelName."


def test_an_operation_outside_the_api_is_unknown():
    with pytest.raises(UnknownOperation) as error:
        protocol.operation_model("CreateRocket")
    assert error.value.code == "UnknownOperationException"


def test_past_a_hundred_problems_the_rest_are_counted():
    message = protocol.validation_message([f"problem {n}" for n in range(105)])
    assert message.startswith("105 validation errors detected: problem 0; problem 1;")
    assert message.endswith("problem 99; and 5 more")


def test_responses_drop_empty_values_and_send_timestamps_as_epoch_seconds():
    created = dt.datetime(2024, 5, 1, 12, 0, 30, tzinfo=dt.UTC)
    body = protocol.json_body(
        {
            "ModelName": "m",
            "CreationTime": created,
            "DataCaptureConfig": {},
            "VpcConfig": None,
            "Nested": {"Empty": {"AlsoEmpty": None}, "Times": [created]},
            "Containers": [],
            "Count": 0,
            "Enabled": False,
        }
    )
    assert json.loads(body) == {
        "ModelName": "m",
        "CreationTime": created.timestamp(),
        "Nested": {"Times": [1714564830.0]},
        "Containers": [],
        "Count": 0,
        "Enabled": False,
    }


def test_errors_go_out_as_aws_json_error_documents():
    body = protocol.error_body(ValidationException("Could not find model."))
    assert json.loads(body) == {"__type": "ValidationException", "message": "Could not find model."}
