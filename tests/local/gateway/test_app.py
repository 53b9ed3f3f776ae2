"""The front door in-process: which service answers which signed request.

The ASGI app is built as ``server.serve`` builds it, on a throw-away state folder, and called
through httpx's ASGI transport: no service process, no sockets.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.s3.models import s3_backends

from helpers.local.api.service import Service
from helpers.local.aws import backends as moto_backends
from helpers.local.core.config import ACCOUNT_ID, ROLE_NAME, ServiceConfig, client_environment, load_config
from helpers.local.core.credentials import health_proof
from helpers.local.gateway.access import AccessGuard
from helpers.local.gateway.app import HEALTH_PATH, Gateway
from helpers.local.gateway.signature import SignatureVerifier
from tests.conftest import free_port

JSON = "application/x-amz-json-1.1"


class FrontDoor:
    def __init__(self, config: ServiceConfig, app: Gateway):
        self.config, self.app = config, app
        env = client_environment(config)
        self.credentials = Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])

    def call(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        signing_name: str | None = "sagemaker",
        host: str | None = None,
    ) -> httpx.Response:
        """One request, SigV4-signed for ``signing_name`` as boto3 would sign it (None: unsigned)."""
        host = host or f"127.0.0.1:{self.config.port}"
        url = f"http://{host}{path}"
        headers = dict(headers or {})
        if signing_name:
            request = AWSRequest(method=method, url=url, data=body, headers=headers)
            auth = S3SigV4Auth if signing_name == "s3" else SigV4Auth
            auth(self.credentials, signing_name, self.config.region).add_auth(request)
            headers = dict(request.headers.items())

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport) as client:
                return await client.request(method, url, content=body, headers=headers)

        return asyncio.run(send())

    def json_call(self, target: str, params: dict, signing_name: str = "sagemaker") -> httpx.Response:
        headers = {"X-Amz-Target": target, "Content-Type": JSON}
        return self.call("POST", "/", json.dumps(params).encode(), headers, signing_name)


@pytest.fixture(scope="module")
def door(tmp_path_factory) -> Iterator[FrontDoor]:
    config = load_config(free_port(), tmp_path_factory.mktemp("gateway-state"))
    moto_backends.open_state(config.state_dir)
    service = Service(config)
    app = Gateway(service, AccessGuard(SignatureVerifier(config.credentials())), runtime=service.router)
    yield FrontDoor(config, app)
    service.shutdown()
    app.executor.shutdown()
    s3_backends[ACCOUNT_ID]["aws"].reset()  # S3 in this process no longer writes to the folder


def error_of(response: httpx.Response) -> tuple[str, str]:
    document = response.json()
    return document["__type"], document["message"]


def test_a_sagemaker_target_reaches_the_control_plane(door):
    response = door.json_call("SageMaker.ListModels", {})
    assert response.status_code == 200 and response.json() == {"Models": []}
    assert response.headers["content-type"] == JSON and response.headers["x-amzn-requestid"]


def test_a_logs_target_reaches_cloudwatch_logs(door):
    group = f"/aws/sagemaker/TrainingJobs-{uuid.uuid4().hex[:6]}"
    created = door.json_call("Logs_20140328.CreateLogGroup", {"logGroupName": group}, "logs")
    assert created.status_code == 200
    listed = door.json_call("Logs_20140328.DescribeLogGroups", {"logGroupNamePrefix": group}, "logs")
    assert [g["logGroupName"] for g in listed.json()["logGroups"]] == [group]


def test_a_sagemaker_operation_the_service_lacks_is_unknown(door):
    response = door.json_call("SageMaker.CreateRocket", {})
    assert response.status_code == 400
    code, message = error_of(response)
    assert code == "UnknownOperationException" and "CreateRocket" in message


@pytest.mark.parametrize(("target", "signing_name"), [("Frobnicate.ListModels", "sagemaker"), ("", "logs")])
def test_a_target_no_service_answers_is_an_unknown_operation(door, target, signing_name):
    response = door.json_call(target, {}, signing_name)
    assert response.status_code == 400
    code, message = error_of(response)
    assert code == "UnknownOperationException" and f"No {signing_name} operation answers POST /" in message


def test_a_sagemaker_target_signed_for_logs_is_not_the_control_plane(door):
    # The signature decides the service: the header alone does not reach SageMaker.
    response = door.json_call("SageMaker.ListModels", {}, "logs")
    assert response.status_code == 400 and error_of(response)[0] == "UnknownOperationException"


def test_invocations_of_an_endpoint_go_to_the_runtime(door):
    response = door.call(
        "POST", "/endpoints/no-such-endpoint/invocations", b"1,2", {"Content-Type": "text/csv"}
    )
    # The runtime is a rest-json API: the code in X-Amzn-ErrorType, the message in the body.
    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"].split(":")[0] == "ValidationError"
    assert response.json()["Message"] == f"Endpoint no-such-endpoint of account {ACCOUNT_ID} not found."


def test_s3_path_style_reaches_s3(door):
    bucket = f"gateway-{uuid.uuid4().hex[:8]}"
    assert door.call("PUT", f"/{bucket}", signing_name="s3").status_code == 200
    put = door.call("PUT", f"/{bucket}/data/train.csv", b"1,2,3\n", signing_name="s3")
    assert put.status_code == 200
    got = door.call("GET", f"/{bucket}/data/train.csv", signing_name="s3")
    assert got.status_code == 200 and got.content == b"1,2,3\n"
    assert moto_backends.get_object(bucket, "data/train.csv") == b"1,2,3\n"  # the jobs' view of S3


def test_s3_virtual_host_style_reaches_the_same_bucket(door):
    bucket = f"gateway-{uuid.uuid4().hex[:8]}"
    door.call("PUT", f"/{bucket}", signing_name="s3")
    door.call("PUT", f"/{bucket}/key.txt", b"hello", signing_name="s3")
    host = f"{bucket}.s3.localhost:{door.config.port}"
    got = door.call("GET", "/key.txt", signing_name="s3", host=host)
    assert got.status_code == 200 and got.content == b"hello"


def test_sts_get_caller_identity_is_the_course_role(door):
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    response = door.call(
        "POST", "/", body, {"Content-Type": "application/x-www-form-urlencoded"}, signing_name="sts"
    )
    assert response.status_code == 200
    assert f"<Arn>arn:aws:sts::{ACCOUNT_ID}:assumed-role/{ROLE_NAME}/SageMaker</Arn>" in response.text


def test_the_health_path_answers_unsigned_and_proves_the_credentials(door):
    response = door.call("GET", f"{HEALTH_PATH}?challenge=abc", signing_name=None)
    assert response.status_code == 200
    health = response.json()
    assert health["service"] == "sagemaker-local" and health["stateDir"] == str(door.config.state_dir)
    assert health["proof"] == health_proof(door.config.credentials(), "abc")


def test_an_unsigned_api_call_is_refused(door):
    response = door.call(
        "POST", "/", b"{}", {"X-Amz-Target": "SageMaker.ListModels", "Content-Type": JSON}, signing_name=None
    )
    assert response.status_code == 403
    assert error_of(response)[0] == "MissingAuthenticationTokenException"


def test_a_failure_inside_an_iam_call_is_an_iam_shaped_error(door):
    """IAM is a query-protocol service: botocore parses its errors from XML (<ErrorResponse><Error>,
    botocore parsers.QueryParser), so a failure on an operation moto lacks (SimulatePrincipalPolicy,
    which SDK v3's role check calls) must come back as XML with a code, not a JSON document."""
    body = (
        b"Action=SimulatePrincipalPolicy&Version=2010-05-08&ActionNames.member.1=s3%3APutObject"
        b"&PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FSomeRole"
    )
    response = door.call(
        "POST", "/", body, {"Content-Type": "application/x-www-form-urlencoded"}, signing_name="iam"
    )
    assert response.status_code == 500
    assert response.text.startswith("<ErrorResponse><Error>")
    assert "<Code>InternalFailure</Code>" in response.text
