"""Endpoints: configs, create/describe/list/delete, invoke, A/B routing, blue/green updates."""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

import boto3
import botocore.parsers
import pytest
from botocore.exceptions import ClientError

from helpers.local.core.config import ACCOUNT_ID, ROLE_ARN
from helpers.local.hosting.runtime_errors import MAX_PAYLOAD, ModelError
from tests.service_helpers import (
    XGBOOST_IMAGE,
    processes_in,
    train_model,
    unique,
    wait_for,
    wait_until,
)

ROW = "1.0,2.0,3.0,4.0"


@pytest.fixture(scope="module")
def models(sm, s3, bucket):
    """Two models that answer the same row differently (num_round 1 vs 30), so a switch shows."""
    return train_model(sm, s3, bucket, "hosting-a", 10, num_round="1"), train_model(
        sm, s3, bucket, "hosting-b", 10, num_round="30"
    )


def _config(sm, variants: list[tuple[str, str, int, float]]) -> str:
    name = unique("config")
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": v,
                "ModelName": m,
                "InitialInstanceCount": n,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": w,
            }
            for v, m, n, w in variants
        ],
    )
    return name


def _wait_endpoint(sm, name: str) -> dict:
    return wait_for(lambda: sm.describe_endpoint(EndpointName=name), "EndpointStatus")


def _deploy(sm, config: str) -> str:
    name = unique("endpoint")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    desc = _wait_endpoint(sm, name)
    assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")
    return name


def _predict(runtime, endpoint: str, **extra) -> tuple[float, str]:
    response = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=ROW, **extra)
    return float(response["Body"].read()), response["InvokedProductionVariant"]


@pytest.fixture(scope="module")
def runtime(boto):
    return boto.client("sagemaker-runtime")


def test_endpoint_lifecycle_and_describe(sm, runtime, models):
    config = _config(sm, [("AllTraffic", models[0], 2, 1.0)])
    assert (
        sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0][
            "InitialInstanceCount"
        ]
        == 2
    )
    endpoint = unique("endpoint")
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    assert sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] in ("Creating", "InService")
    desc = _wait_endpoint(sm, endpoint)
    assert desc["EndpointStatus"] == "InService"
    variant = desc["ProductionVariants"][0]
    assert (variant["VariantName"], variant["CurrentInstanceCount"], variant["CurrentWeight"]) == (
        "AllTraffic",
        2,
        1.0,
    )
    assert endpoint in [e["EndpointName"] for e in sm.list_endpoints(NameContains=endpoint)["Endpoints"]]
    assert config in [
        c["EndpointConfigName"] for c in sm.list_endpoint_configs(NameContains=config)["EndpointConfigs"]
    ]

    value, variant_name = _predict(runtime, endpoint)
    assert variant_name == "AllTraffic" and isinstance(value, float)

    sm.delete_endpoint(EndpointName=endpoint)
    wait_for(lambda: _status_or_gone(sm, endpoint), "EndpointStatus")
    with pytest.raises(runtime.exceptions.ValidationError) as error:
        runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=ROW)
    answer = error.value.response
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 400
    # The modeled Message member, as boto3 fills it from an AWS answer.
    assert answer["Message"] == f"Endpoint {endpoint} of account {ACCOUNT_ID} not found."


def _status_or_gone(sm, endpoint: str) -> dict:
    try:
        return sm.describe_endpoint(EndpointName=endpoint)
    except ClientError:
        return {"EndpointStatus": "Gone"}


def test_hosting_errors(sm, runtime, models):
    with pytest.raises(ClientError) as error:
        sm.create_endpoint(EndpointName=unique("e"), EndpointConfigName="no-such-config")
    assert "no-such-config" in error.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as error:
        _config(sm, [("A", "no-such-model", 1, 1.0)])
    assert "no-such-model" in error.value.response["Error"]["Message"]
    config = _config(sm, [("A", models[0], 1, 1.0)])
    with pytest.raises(ClientError) as error:
        sm.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[
                {
                    "VariantName": "A",
                    "ModelName": models[0],
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
    assert "already existing" in error.value.response["Error"]["Message"]
    endpoint = _deploy(sm, config)
    with pytest.raises(ClientError) as error:
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    assert "already existing" in error.value.response["Error"]["Message"]
    # A model error carries the container's status and message, as boto3 reads them from AWS.
    with pytest.raises(runtime.exceptions.ModelError) as error:
        runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body="1.0,2.0")
    answer = error.value.response
    assert (answer["ResponseMetadata"]["HTTPStatusCode"], answer["OriginalStatusCode"]) == (424, 400)
    assert answer["OriginalMessage"].startswith("Feature size of csv inference data 2 is not consistent")
    assert answer["Error"]["Message"].startswith(
        f'Received client error (400) from primary with message "{answer["OriginalMessage"]}".'
    )
    assert answer["LogStreamArn"].endswith(f":log-group:/aws/sagemaker/Endpoints/{endpoint}")
    with pytest.raises(runtime.exceptions.ValidationError) as error:
        runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=ROW, TargetVariant="Z")
    answer = error.value.response
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert answer["Message"] == answer["Error"]["Message"]
    assert (
        "Target variant Z does not exist" in answer["Message"] and "its variants are: A" in answer["Message"]
    )
    # As on AWS, deleting a config in use is allowed and the endpoint keeps serving.
    sm.delete_endpoint_config(EndpointConfigName=config)
    assert _predict(runtime, endpoint)[1] == "A"
    sm.delete_endpoint(EndpointName=endpoint)


def test_weighted_routing_and_target_variant(sm, runtime, models):
    endpoint = _deploy(sm, _config(sm, [("A", models[0], 1, 3.0), ("B", models[1], 1, 1.0)]))
    counts = Counter(_predict(runtime, endpoint)[1] for _ in range(400))
    # 3:1 weights: B gets 25% (binomial sd ~2.2%): 15%..35% is a >4 sd tolerance.
    assert 0.15 < counts["B"] / 400 < 0.35, counts
    assert {_predict(runtime, endpoint, TargetVariant="B")[1] for _ in range(20)} == {"B"}

    sm.update_endpoint_weights_and_capacities(
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[
            {"VariantName": "A", "DesiredWeight": 0.0},
            {"VariantName": "B", "DesiredInstanceCount": 2},
        ],
    )
    desc = _wait_endpoint(sm, endpoint)
    by_name = {v["VariantName"]: v for v in desc["ProductionVariants"]}
    assert by_name["A"]["CurrentWeight"] == 0.0 and by_name["B"]["CurrentInstanceCount"] == 2
    assert {_predict(runtime, endpoint)[1] for _ in range(50)} == {"B"}
    sm.delete_endpoint(EndpointName=endpoint)


def test_update_endpoint_under_load_drops_no_request(sm, runtime, boto, models):
    old_model, new_model = models
    endpoint = _deploy(sm, _config(sm, [("Old", old_model, 1, 1.0)]))
    old_answer, _ = _predict(runtime, endpoint)
    # One list per client: each client sends its requests one after another, so within a client the
    # order is dispatch order. Across clients it is not: an Old request still in flight may finish
    # after another client's first New answer, which is the drain working as intended.
    answers: list[list[tuple[float, str]]] = [[] for _ in range(4)]
    failures: list[Exception] = []
    stop = threading.Event()

    def client(own_answers: list[tuple[float, str]]) -> None:
        own = boto.client("sagemaker-runtime")
        while not stop.is_set():
            try:
                own_answers.append(_predict(own, endpoint))
            except Exception as exc:  # any failure is what this test is about
                failures.append(exc)

    threads = [threading.Thread(target=client, args=(own,)) for own in answers]
    for thread in threads:
        thread.start()
    wait_until(lambda: all(answers), "every client has an answer from the old fleet")
    sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=_config(sm, [("New", new_model, 2, 1.0)]))
    desc = _wait_endpoint(sm, endpoint)
    wait_until(lambda: all(own[-1][1] == "New" for own in answers), "every client has met the new fleet")
    stop.set()
    for thread in threads:
        thread.join()

    assert desc["EndpointStatus"] == "InService"
    assert failures == []
    for own_answers in answers:
        variants = [variant for _, variant in own_answers]
        assert variants[0] == "Old" and variants[-1] == "New"
        switch = variants.index("New")
        assert set(variants[switch:]) == {"New"}  # a request sent after a New answer never meets Old
    new_answer = answers[0][-1][0]
    assert new_answer != old_answer
    sm.delete_endpoint(EndpointName=endpoint)


def test_failed_update_rolls_back(sm, runtime, models, s3, bucket):
    endpoint = _deploy(sm, _config(sm, [("Good", models[0], 1, 1.0)]))
    broken = unique("broken-model")
    s3.put_object(Bucket=bucket, Key="broken/model.tar.gz", Body=b"this is not a tarball")
    sm.create_model(
        ModelName=broken, ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{bucket}/broken/model.tar.gz"},
    )  # fmt: skip
    sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=_config(sm, [("Bad", broken, 1, 1.0)]))
    desc = _wait_endpoint(sm, endpoint)
    assert desc["EndpointStatus"] == "InService"
    assert "rolled back" in desc["FailureReason"]
    assert _predict(runtime, endpoint)[1] == "Good"
    sm.delete_endpoint(EndpointName=endpoint)


def test_dead_model_server_is_replaced(sm, runtime, models, service):
    endpoint = _deploy(sm, _config(sm, [("A", models[0], 1, 1.0)]))
    _predict(runtime, endpoint)
    pids = processes_in(service.state_dir / "work" / "endpoints" / endpoint)
    assert len(pids) == 1
    os.killpg(pids[0], signal.SIGKILL)
    folder = service.state_dir / "work" / "endpoints" / endpoint
    wait_until(lambda: processes_in(folder) not in ([], pids), "a new model server replaces the killed one")
    assert sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"
    assert _predict(runtime, endpoint)[1] == "A"
    sm.delete_endpoint(EndpointName=endpoint)


def test_delete_while_creating_leaves_nothing_running(sm, runtime, models, service):
    endpoint = unique("endpoint")
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=_config(sm, [("A", models[0], 2, 1.0)]))
    sm.delete_endpoint(EndpointName=endpoint)  # while its model servers are still starting

    def gone() -> bool:
        try:
            sm.describe_endpoint(EndpointName=endpoint)
        except ClientError:
            return True
        return False

    wait_until(gone, "the endpoint is deleted")
    with pytest.raises(ClientError) as error:
        _predict(runtime, endpoint)
    assert "not found" in error.value.response["Error"]["Message"]
    assert processes_in(service.state_dir / "work" / "endpoints" / endpoint) == []


def test_an_invoke_payload_over_6_mb_is_a_validation_error(runtime):
    with pytest.raises(runtime.exceptions.ValidationError) as error:
        runtime.invoke_endpoint(
            EndpointName="no-such-endpoint", ContentType="text/csv", Body=b"1" * (MAX_PAYLOAD + 1)
        )
    answer = error.value.response
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert "larger than the 6 MB limit of InvokeEndpoint" in answer["Message"]


@pytest.mark.parametrize(
    "original_status, says",
    [(503, "Received server error (503) from primary"), (0, "Received server error (0) from primary")],
)
def test_a_model_server_error_or_timeout_reads_as_a_server_error(original_status, says):
    """What boto3 makes of a ModelError for a 5xx answer, or none in time (status 0 on AWS)."""
    status, body, headers = ModelError("e", "us-east-1", original_status, "busy").response()
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    parser = botocore.parsers.create_parser("rest-json")
    operation = client.meta.service_model.operation_model("InvokeEndpoint")
    parsed = parser.parse({"status_code": status, "headers": headers, "body": body}, operation.output_shape)
    assert parsed["Error"]["Code"] == "ModelError" and parsed["Error"]["Message"].startswith(says)
    error_class = client.exceptions.from_code(parsed["Error"]["Code"])
    assert error_class is client.exceptions.ModelError


def test_create_model_refuses_model_data_that_does_not_exist(sm, bucket):
    """CreateModel checks the artifact itself, as AWS does: ``ValidationException: Could not find
    model data at s3://...`` at once, not a Failed endpoint or transform job later."""
    url = f"s3://{bucket}/no-such-prefix/model.tar.gz"
    with pytest.raises(ClientError) as error:
        sm.create_model(
            ModelName=unique("no-data"), ExecutionRoleArn=ROLE_ARN,
            PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": url},
        )  # fmt: skip
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert error.value.response["Error"]["Message"] == f"Could not find model data at {url}."


@pytest.mark.parametrize(
    "extra, names",
    [
        ({"AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://course-tests/async"}}},
         "asynchronous"),
        ({"DataCaptureConfig": {"InitialSamplingPercentage": 100, "DestinationS3Uri": "s3://course-tests/c",
                                "CaptureOptions": [{"CaptureMode": "Input"}]}}, "Model Monitor"),
        ({"ExplainerConfig": {"ClarifyExplainerConfig": {"ShapConfig": {"ShapBaselineConfig": {}}}}},
         "Clarify"),
    ],
    ids=["async", "data-capture", "explainer"],
)  # fmt: skip
def test_endpoint_features_the_service_would_not_honour_are_refused(sm, models, extra, names):
    """Accepting these and then ignoring them would differ from AWS silently; a refusal names them."""
    name = unique("unsupported")
    with pytest.raises(ClientError) as error:
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {"VariantName": "AllTraffic", "ModelName": models[0], "InitialInstanceCount": 1,
                 "InstanceType": "ml.m5.large"}
            ],
            **extra,
        )  # fmt: skip
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert names in error.value.response["Error"]["Message"]
    assert not sm.list_endpoint_configs(NameContains=name)["EndpointConfigs"]


def test_a_multi_model_container_is_refused(sm, models):
    container = sm.describe_model(ModelName=models[0])["PrimaryContainer"]
    with pytest.raises(ClientError) as error:
        sm.create_model(
            ModelName=unique("multi"),
            ExecutionRoleArn=ROLE_ARN,
            PrimaryContainer={"Image": container["Image"], "Mode": "MultiModel",
                              "ModelDataUrl": container["ModelDataUrl"].rsplit("/", 1)[0] + "/"},
        )  # fmt: skip
    assert "Multi-model endpoints" in error.value.response["Error"]["Message"]
