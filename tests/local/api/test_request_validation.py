"""Requests are checked at every depth against botocore's SageMaker model, and every error the
service answers with is AWS-shaped JSON: constraint problems, unreadable bodies, oversized bodies,
bad pagination tokens and unexpected failures.

The end-to-end tests turn boto3's own client-side validation off, so what is checked is what the
service does with a request a learner's program (or any HTTP client) can send.
"""

from __future__ import annotations

import asyncio
import http.client
import json
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotocoreCredentials
from botocore.exceptions import ClientError

from helpers.local.core import protocol
from helpers.local.core.config import ROLE_ARN, ServiceConfig
from helpers.local.core.credentials import Credentials
from helpers.local.core.errors import SerializationException, ServiceError, ValidationException
from helpers.local.gateway.access import AccessGuard
from helpers.local.gateway.app import MAX_CONTROL_PLANE_BODY, Gateway
from helpers.local.gateway.signature import SignatureVerifier
from helpers.local.hosting.router import Router
from helpers.local.hosting.runtime_errors import MAX_PAYLOAD
from tests.service_helpers import XGBOOST_IMAGE, csv_channel, signed_headers, training_request, unique

VARIANT_PATTERN = (
    protocol.operation_model("CreateEndpointConfig")
    .input_shape.members["ProductionVariants"]
    .member.members["VariantName"]
    .metadata["pattern"]
)


def problem(operation: str, params: Any) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        protocol.validate_request(protocol.operation_model(operation), params)
    return raised.value


def endpoint_config(variant: str) -> dict[str, Any]:
    return {
        "EndpointConfigName": "config",
        "ProductionVariants": [
            {
                "VariantName": variant,
                "ModelName": "model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    }


# --- protocol.validate_request on the real botocore shapes ---


def test_a_nested_member_is_checked_and_named_by_its_wire_path():
    error = problem("CreateEndpointConfig", endpoint_config("../../x"))
    assert isinstance(error, ValidationException)
    assert error.message == (
        "1 validation error detected: Value '../../x' at 'productionVariants.1.member.variantName' failed to "
        f"satisfy constraint: Member must satisfy regular expression pattern: {VARIANT_PATTERN}"
    )


def test_a_too_long_name_gets_the_length_message_and_a_short_echo():
    error = problem("CreateModel", {"ModelName": "m" * 5000, "ExecutionRoleArn": ROLE_ARN})
    assert error.message.startswith("1 validation error detected: Value 'mmm")
    assert error.message.endswith(
        "...' at 'modelName' failed to satisfy constraint: Member must have length less than or equal to 63"
    )
    assert len(error.message) < 500


def test_a_huge_string_is_refused_by_its_length_without_echoing_it():
    error = problem("ListTrainingJobs", {"NameContains": "a" * 20_000_000})
    assert (
        "at 'nameContains' failed to satisfy constraint: Member must have length less than or equal to 63"
        in (error.message)
    )
    assert len(error.message) < 500


def test_several_problems_are_counted_and_joined():
    error = problem("ListTrainingJobs", {"MaxResults": 0, "SortBy": "Size"})
    assert error.message == (
        "2 validation errors detected: "
        "Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1; "
        "Value 'Size' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: "
        "[Name, CreationTime, Status]"
    )


def test_a_missing_nested_member_must_not_be_null():
    request = training_request("job", "bucket")
    del request["OutputDataConfig"]["S3OutputPath"]
    request["StoppingCondition"]["MaxRuntimeInSeconds"] = 0
    error = problem("CreateTrainingJob", request)
    assert error.message == (
        "2 validation errors detected: "
        "Value null at 'outputDataConfig.s3OutputPath' failed to satisfy constraint: "
        "Member must not be null; "
        "Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    )


def test_a_map_value_over_its_limit_names_the_map_and_its_constraints():
    request = training_request("job", "bucket")
    request["HyperParameters"]["max_depth"] = "9" * 2501
    error = problem("CreateTrainingJob", request)
    assert error.message.startswith("1 validation error detected: Value '{")
    assert error.message.endswith(
        "' at 'hyperParameters' failed to satisfy constraint: Map value must satisfy constraint: "
        "[Member must have length less than or equal to 2500, Member must have length greater than or equal "
        "to 0, Member must satisfy regular expression pattern: .*]"
    )


def test_list_lengths_and_list_items_are_checked():
    request = training_request("job", "bucket")
    request["Tags"] = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    request["InputDataConfig"][1]["ChannelName"] = "a b"
    error = problem("CreateTrainingJob", request)
    assert error.message.startswith("2 validation errors detected: ")
    assert (
        "at 'inputDataConfig.2.member.channelName' failed to satisfy constraint: Member must satisfy regular"
        in (error.message)
    )
    assert (
        "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"
        in error.message
    )


def test_a_value_of_the_wrong_type_is_a_serialization_error_naming_its_path():
    request = training_request("job", "bucket")
    request["ResourceConfig"]["InstanceCount"] = "one"
    error = problem("CreateTrainingJob", request)
    assert isinstance(error, SerializationException)
    assert "'resourceConfig.instanceCount'" in error.message and "integer" in error.message


def test_an_integer_outside_the_java_int_range_is_refused():
    error = problem("ListTrainingJobs", {"MaxResults": 2**40})
    assert isinstance(error, SerializationException)


def test_an_unknown_nested_member_is_refused():
    request = training_request("job", "bucket")
    request["ResourceConfig"]["InstanceTypo"] = "ml.m5.large"
    error = problem("CreateTrainingJob", request)
    assert isinstance(error, ValidationException)
    assert "'InstanceTypo'" in error.message and "'resourceConfig'" in error.message


def test_a_body_that_is_not_an_object_is_a_serialization_error():
    assert isinstance(problem("ListModels", []), SerializationException)


def test_valid_requests_pass_including_patterns_python_cannot_compile():
    # Tag keys and values carry Java \p{L} classes: they are skipped, not failed.
    request = training_request("job", "bucket")
    request["Tags"] = [{"Key": "project", "Value": "café course"}]
    protocol.validate_request(protocol.operation_model("CreateTrainingJob"), request)
    protocol.validate_request(protocol.operation_model("CreateEndpointConfig"), endpoint_config("AllTraffic"))


# --- end to end through the running service ---


@pytest.fixture(scope="module")
def unchecked(boto) -> Any:
    """A SageMaker client that sends whatever it is given (no client-side validation)."""
    return boto.client("sagemaker", config=Config(parameter_validation=False))


def client_error(call, **params) -> dict[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response["Error"]


def test_service_refuses_a_variant_name_that_climbs_folders(unchecked):
    error = client_error(unchecked.create_endpoint_config, **endpoint_config("../../x"))
    assert error["Code"] == "ValidationException"
    assert "at 'productionVariants.1.member.variantName'" in error["Message"]


def test_service_refuses_a_name_filter_longer_than_the_api_allows(unchecked):
    error = client_error(unchecked.list_training_jobs, NameContains="a" * 100_000)
    assert error["Code"] == "ValidationException"
    assert "Member must have length less than or equal to 63" in error["Message"]


@pytest.mark.parametrize("token", ["not-a-token", "²", "9" * 5000])
def test_list_tags_with_a_bad_token_is_a_validation_error(unchecked, token):
    model = unique("tagged")
    unchecked.create_model(
        ModelName=model, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": XGBOOST_IMAGE}
    )
    arn = unchecked.describe_model(ModelName=model)["ModelArn"]
    error = client_error(unchecked.list_tags, ResourceArn=arn, NextToken=token)
    assert error["Code"] == "ValidationException"
    assert "Invalid pagination token" in error["Message"]


def test_list_with_a_bad_token_is_a_validation_error(unchecked):
    error = client_error(unchecked.list_models, NextToken="²")
    assert error["Code"] == "ValidationException"
    assert "Invalid pagination token" in error["Message"]


@pytest.mark.parametrize("channel", [".", ".."])
def test_training_job_refuses_dot_channels(unchecked, bucket, channel):
    request = training_request(unique("dots"), bucket)
    request["InputDataConfig"][1]["ChannelName"] = channel
    error = client_error(unchecked.create_training_job, **request)
    assert error["Code"] == "ValidationException"
    assert f"Channel name '{channel}' is not allowed" in error["Message"] and "'train'" in error["Message"]
    assert not unchecked.list_training_jobs(NameContains=request["TrainingJobName"])["TrainingJobSummaries"]


def test_tuning_job_refuses_dot_channels(unchecked, bucket):
    name = unique("dots")
    training = training_request(name, bucket)
    error = client_error(
        unchecked.create_hyper_parameter_tuning_job,
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 1, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "4"}]
            },
        },
        TrainingJobDefinition={
            "StaticHyperParameters": {"num_round": "2", "objective": "reg:squarederror"},
            "AlgorithmSpecification": training["AlgorithmSpecification"],
            "RoleArn": ROLE_ARN,
            "InputDataConfig": [
                csv_channel("train", f"s3://{bucket}/t"),
                csv_channel("..", f"s3://{bucket}/v"),
            ],
            "OutputDataConfig": training["OutputDataConfig"],
            "ResourceConfig": training["ResourceConfig"],
            "StoppingCondition": training["StoppingCondition"],
        },
    )
    assert error["Code"] == "ValidationException"
    assert "Channel name '..' is not allowed" in error["Message"]


# --- raw HTTP: bodies boto3 would never send ---


def post(
    config: ServiceConfig, path: str, body: bytes, headers: dict[str, str], send_body: bool = True
) -> tuple[int, dict[str, str], bytes]:
    """POST a signed request; with ``send_body=False`` only its headers go out (Content-Length
    still declares the body), so the answer shows the service did not wait for the body."""
    headers = signed_headers(config, path, body, headers)
    connection = http.client.HTTPConnection("127.0.0.1", config.port, timeout=30)
    try:
        connection.putrequest("POST", path)
        for key, value in headers.items():
            connection.putheader(key, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body if send_body else None)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def control_plane(config: ServiceConfig, operation: str, body: bytes, send_body: bool = True):
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"SageMaker.{operation}"}
    return post(config, "/", body, headers, send_body)


def aws_error(status: int, headers: dict[str, str], body: bytes) -> tuple[int, str, str]:
    assert headers.get("x-amzn-requestid")
    document = json.loads(body)
    assert document["message"]
    return status, document["__type"], document["message"]


@pytest.mark.parametrize(
    "body, says",
    [
        (b'{"MaxResults": ', "not valid JSON: Expecting value: line 1 column 16"),
        (b'{"NameContains": "\xff\xfe"}', "not valid UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'["ListModels"]', "must be a JSON object"),
        (b'{"MaxResults": NaN}', "not valid JSON"),
    ],
    ids=["malformed", "not-utf8", "deep", "array", "nan"],
)
def test_unreadable_bodies_are_serialization_errors(service, body, says):
    status, code, message = aws_error(*control_plane(service, "ListModels", body))
    assert (status, code) == (400, "SerializationException")
    assert says in message


def test_a_declared_oversized_body_is_refused_before_it_is_sent(service):
    body = b'{"NameContains": "' + b"a" * MAX_CONTROL_PLANE_BODY + b'"}'
    status, code, message = aws_error(*control_plane(service, "ListModels", body, send_body=False))
    assert (status, code) == (413, "ValidationException")
    assert "8 MiB limit" in message


def test_a_chunked_oversized_body_is_refused_once_it_passes_the_limit(service):
    path = "/"
    body = b'{"NameContains": "' + b"a" * MAX_CONTROL_PLANE_BODY + b'"}'
    headers = signed_headers(
        service,
        path,
        body,
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.ListModels"},
    )
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        piece = 1024 * 1024
        chunks = (body[i : i + piece] for i in range(0, len(body), piece))
        connection.request("POST", path, body=chunks, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        headers = {key.lower(): value for key, value in response.getheaders()}
        status, code, _ = aws_error(response.status, headers, response.read())
    finally:
        connection.close()
    assert (status, code) == (413, "ValidationException")


def test_boto3_gets_an_aws_error_for_a_request_over_the_limit(unchecked):
    error = client_error(unchecked.list_models, NameContains="a" * (MAX_CONTROL_PLANE_BODY + 1))
    assert error["Code"] == "ValidationException"
    assert "8 MiB limit" in error["Message"]


def test_an_invoke_payload_over_6_mb_is_refused_before_it_is_sent(service):
    body = b"1," * (MAX_PAYLOAD // 2 + 1)
    status, headers, answer = post(
        service, "/endpoints/no-such-endpoint/invocations", body, {"Content-Type": "text/csv"}, False
    )
    # The runtime API is rest-json: the code is in X-Amzn-ErrorType, the body has Message.
    assert (status, headers["x-amzn-errortype"], headers["content-type"]) == (
        413,
        "ValidationError",
        "application/json",
    )
    assert "6 MB" in json.loads(answer)["Message"]


# --- the gateway on its own: an unexpected failure is still AWS-shaped ---


class _BrokenService:
    """Stands in for the control plane when it fails in a way no request can provoke on purpose."""

    def handle(self, operation: str, params: dict[str, Any], lesson: str | None = None) -> dict[str, Any]:
        raise RuntimeError("store unavailable")


def test_an_unexpected_failure_is_internal_failure_json():
    credentials = Credentials("AKIAGATEWAYTESTKEY00", "gateway-test-secret-gateway-test-secret0")
    gateway = Gateway(_BrokenService(), AccessGuard(SignatureVerifier(credentials)), Router("us-east-1"))
    request = AWSRequest(
        method="POST", url="http://127.0.0.1:1/", data=b"{}", headers={"X-Amz-Target": "SageMaker.ListModels"}
    )
    SigV4Auth(
        BotocoreCredentials(credentials.access_key_id, credentials.secret_access_key),
        "sagemaker",
        "us-east-1",
    ).add_auth(request)
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
        + [(b"host", b"127.0.0.1:1"), (b"content-length", b"2")],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    try:
        asyncio.run(gateway(scope, receive, send))
    finally:
        gateway.executor.shutdown()
    start, body = sent
    headers = dict(start["headers"])
    assert start["status"] == 500 and headers[b"x-amzn-requestid"]
    document = json.loads(body["body"])
    assert document["__type"] == "InternalFailure"
    assert "ListModels failed inside the local service" in document["message"]
    assert "store unavailable" in document["message"]


def test_boto3_reads_the_service_errors_as_aws_errors(service):
    client = boto3.client("sagemaker", region_name=service.region, config=Config(parameter_validation=False))
    error = client_error(client.list_endpoints, MaxResults=1000)
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("1 validation error detected: Value '1000' at 'maxResults'")
