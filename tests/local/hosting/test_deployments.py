"""The endpoint state machine through the control plane in-process, with real XGBoost model servers:
Creating -> InService, a failed health check -> Failed, an update that fails rolls back, delete,
and a restarted control plane brings its endpoints back."""

from __future__ import annotations

import asyncio
import io
import tarfile
import time
from collections.abc import Iterator

import numpy as np
import pytest
import xgboost as xgb
from moto.s3.models import s3_backends

from helpers.local.api.service import Service
from helpers.local.aws import backends as moto_backends
from helpers.local.core.config import ACCOUNT_ID, ROLE_ARN, ServiceConfig, load_config
from helpers.local.core.errors import ValidationException
from helpers.local.hosting.runtime_errors import RuntimeApiError
from tests.conftest import free_port
from tests.service_helpers import XGBOOST_IMAGE

BUCKET = "deployment-tests"
# The router keeps its connections on the event loop it first ran on, as uvicorn runs one loop.
LOOP = asyncio.new_event_loop()


def model_artifact() -> bytes:
    """A model.tar.gz holding a two-round XGBoost regression, as a training job leaves it."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    booster = xgb.train({"objective": "reg:squarederror"}, xgb.DMatrix(x, label=x[:, 0]), num_boost_round=2)
    model = bytes(booster.save_raw("json"))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(model)
        tar.addfile(info, io.BytesIO(model))
    return out.getvalue()


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Iterator[ServiceConfig]:
    config = load_config(free_port(), tmp_path_factory.mktemp("deployment-state"))
    moto_backends.open_state(config.state_dir)
    s3_backends[ACCOUNT_ID]["aws"].create_bucket(BUCKET, config.region)
    moto_backends.put_object(BUCKET, "model.tar.gz", model_artifact())
    yield config
    LOOP.close()
    s3_backends[ACCOUNT_ID]["aws"].reset()


@pytest.fixture(scope="module")
def plane(config) -> Iterator[Service]:
    service = Service(config)
    for name, container in (
        ("good", {"Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz"}),
        ("empty", {"Image": XGBOOST_IMAGE}),  # no model file: its server never answers /ping
    ):
        service.handle(
            "CreateModel", {"ModelName": name, "ExecutionRoleArn": ROLE_ARN, "PrimaryContainer": container}
        )
        service.handle(
            "CreateEndpointConfig",
            {
                "EndpointConfigName": f"{name}-config",
                "ProductionVariants": [
                    {"VariantName": "A", "ModelName": name,
                     "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
                ],
            },
        )  # fmt: skip
    yield service
    if not service.stopping.is_set():  # the restart test stops it itself
        stop(service)


def stop(service: Service) -> None:
    """What the front door does at shutdown: close the runtime's connections, then the service."""
    LOOP.run_until_complete(service.router.close())
    service.shutdown()


def describe(service: Service, endpoint: str) -> dict:
    return service.handle("DescribeEndpoint", {"EndpointName": endpoint})


def settle(service: Service, endpoint: str, timeout: float = 90) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        desc = describe(service, endpoint)
        if desc["EndpointStatus"] not in ("Creating", "Updating", "Deleting"):
            return desc
        time.sleep(0.05)
    raise AssertionError(f"{endpoint} still {desc['EndpointStatus']} after {timeout} s")


def invoke(service: Service, endpoint: str) -> tuple[int, bytes]:
    """The status and body InvokeEndpoint would answer with (a runtime error's status and message)."""

    async def call():
        return await service.router.invoke(endpoint, {"content-type": "text/csv"}, b"1.0,2.0,3.0")

    try:
        status, body, _ = LOOP.run_until_complete(call())
    except RuntimeApiError as error:
        return error.status, str(error).encode()
    return status, body


def test_create_goes_from_creating_to_in_service_and_serves(plane):
    plane.handle("CreateEndpoint", {"EndpointName": "serving", "EndpointConfigName": "good-config"})
    assert describe(plane, "serving")["EndpointStatus"] == "Creating"
    desc = settle(plane, "serving")
    assert desc["EndpointStatus"] == "InService" and "FailureReason" not in desc
    assert desc["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    status, body = invoke(plane, "serving")
    assert status == 200 and float(body)


def test_a_failed_health_check_ends_failed_with_the_reason(plane):
    plane.handle("CreateEndpoint", {"EndpointName": "broken", "EndpointConfigName": "empty-config"})
    desc = settle(plane, "broken")
    assert desc["EndpointStatus"] == "Failed"
    assert "failed its health check" in desc["FailureReason"]
    assert invoke(plane, "broken")[0] == 400


def test_an_update_that_fails_rolls_back_and_the_old_fleet_keeps_serving(plane):
    settle(plane, "serving")
    plane.handle("UpdateEndpoint", {"EndpointName": "serving", "EndpointConfigName": "empty-config"})
    desc = settle(plane, "serving")
    assert desc["EndpointStatus"] == "InService" and desc["EndpointConfigName"] == "good-config"
    assert desc["FailureReason"].startswith("Update failed and was rolled back:")
    assert invoke(plane, "serving")[0] == 200


def test_an_update_that_succeeds_switches_config_and_clears_the_failure(plane):
    settle(plane, "serving")
    plane.handle("CreateEndpointConfig", {
        "EndpointConfigName": "good-config-2",
        "ProductionVariants": [
            {"VariantName": "B", "ModelName": "good",
             "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    })  # fmt: skip
    plane.handle("UpdateEndpoint", {"EndpointName": "serving", "EndpointConfigName": "good-config-2"})
    desc = settle(plane, "serving")
    assert desc["EndpointStatus"] == "InService" and desc["EndpointConfigName"] == "good-config-2"
    assert "FailureReason" not in desc
    assert [v["VariantName"] for v in desc["ProductionVariants"]] == ["B"]
    assert invoke(plane, "serving")[0] == 200


def test_delete_removes_the_endpoint(plane):
    plane.handle("CreateEndpoint", {"EndpointName": "short-lived", "EndpointConfigName": "good-config"})
    settle(plane, "short-lived")
    plane.handle("DeleteEndpoint", {"EndpointName": "short-lived"})
    assert invoke(plane, "short-lived")[0] == 400  # refused at once, before the fleet is gone
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            describe(plane, "short-lived")
        except ValidationException as error:
            assert "Could not find endpoint" in error.message
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the endpoint was not deleted within 30 s")


def test_a_restarted_control_plane_brings_serving_endpoints_back(plane, config):
    settle(plane, "serving")
    stop(plane)
    again = Service(config)
    try:
        assert describe(again, "serving")["EndpointStatus"] == "Updating"
        desc = settle(again, "serving")
        assert desc["EndpointStatus"] == "InService" and desc["EndpointConfigName"] == "good-config-2"
        assert invoke(again, "serving")[0] == 200
        assert describe(again, "broken")["EndpointStatus"] == "Failed"  # stays as it was
    finally:
        stop(again)
