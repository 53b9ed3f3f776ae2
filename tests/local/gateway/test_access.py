"""Only the learner's own signed programs may use the service: no web pages, no other credentials."""

from __future__ import annotations

import http.client
import json
import os
import stat
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from helpers.local.core.config import client_environment
from tests.service_helpers import (
    listening_ports,
    processes_in,
    single_variant_config,
    train_model,
    unique,
    wait_for,
)

AWS_CLI = Path(sys.prefix) / "awscli" / "bin" / "aws"


def _raw(
    service, method: str, path: str, headers: dict[str, str], body: bytes = b"", port: int | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port or service.port, timeout=10)
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def _client(service, name: str, key: str | None = None, secret: str | None = None):
    env = client_environment(service)
    return boto3.Session(
        aws_access_key_id=key or env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=secret or env["AWS_SECRET_ACCESS_KEY"],
        region_name=service.region,
    ).client(name, endpoint_url=service.url, config=Config(retries={"max_attempts": 1}))


def _error_code(call) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


def test_credentials_are_private_to_the_state_folder(service, tmp_path):
    env = client_environment(service)
    credentials = service.state_dir / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(service.state_dir.stat().st_mode) == 0o700
    assert env["AWS_ACCESS_KEY_ID"].startswith("AKIA") and len(env["AWS_SECRET_ACCESS_KEY"]) >= 32
    assert json.loads(credentials.read_text())["AccessKeyId"] == env["AWS_ACCESS_KEY_ID"]
    # Another state folder is another service with other credentials.
    from helpers.local.core.config import load_config

    other = client_environment(load_config(1, tmp_path / "other"))
    assert other["AWS_ACCESS_KEY_ID"] != env["AWS_ACCESS_KEY_ID"]
    assert other["AWS_SECRET_ACCESS_KEY"] != env["AWS_SECRET_ACCESS_KEY"]


def test_cross_origin_preflight_gets_no_cors_grant(service):
    status, headers, body = _raw(
        service,
        "OPTIONS",
        "/",
        {
            "Host": f"127.0.0.1:{service.port}",
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target,content-type",
        },
    )
    assert status == 403
    assert not [name for name in headers if name.startswith("access-control-")]
    assert b"refuses requests from web pages" in body


def test_signed_request_from_a_web_page_is_refused_and_changes_nothing(service, sm):
    # A page cannot sign, but even a request that does carry a signature is refused once it has an Origin.
    client = _client(service, "sagemaker")
    client.meta.events.register(
        "before-send", lambda request, **_: request.headers.__setitem__("Origin", "http://evil.example")
    )
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client.create_model(
            ModelName=unique("from-page"),
            ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
            PrimaryContainer={"Image": "x"},
        )
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert not [m for m in sm.list_models()["Models"] if m["ModelName"].startswith("from-page")]


def test_a_host_that_is_not_loopback_is_refused(service):
    # DNS rebinding: a page's own host name made to resolve to 127.0.0.1.
    status, _, body = _raw(service, "GET", "/", {"Host": f"rebind.evil.example:{service.port}"})
    assert status == 403 and b"loopback" in body


def test_unsigned_and_foreign_requests_get_each_services_error(service, bucket):
    s3, sm = "s3", "sagemaker"
    wrong_secret = {"secret": "x" * 40}
    foreign_key = {"key": "AKIAOTHERUSEROTHERUS", "secret": "y" * 40}
    assert (
        _error_code(lambda: _client(service, sm, **wrong_secret).list_models()) == "InvalidSignatureException"
    )
    assert (
        _error_code(lambda: _client(service, sm, **foreign_key).list_models())
        == "UnrecognizedClientException"
    )
    assert (
        _error_code(lambda: _client(service, s3, **wrong_secret).list_objects_v2(Bucket=bucket))
        == "SignatureDoesNotMatch"
    )
    assert (
        _error_code(lambda: _client(service, s3, **foreign_key).list_objects_v2(Bucket=bucket))
        == "InvalidAccessKeyId"
    )
    assert (
        _error_code(lambda: _client(service, "sts", **foreign_key).get_caller_identity())
        == "InvalidClientTokenId"
    )
    assert (
        _error_code(lambda: _client(service, "logs", **wrong_secret).describe_log_groups())
        == "InvalidSignatureException"
    )

    unsigned = boto3.Session(region_name=service.region).client(
        s3, endpoint_url=service.url, config=Config(signature_version=botocore.UNSIGNED)
    )
    assert (
        _error_code(lambda: unsigned.put_object(Bucket=bucket, Key="anonymous.txt", Body=b"x"))
        == "AccessDenied"
    )
    status, _, body = _raw(
        service,
        "POST",
        "/",
        {
            "Host": f"127.0.0.1:{service.port}",
            "X-Amz-Target": "SageMaker.ListModels",
            "Content-Type": "application/x-amz-json-1.1",
        },
        b"{}",
    )
    assert status == 403 and json.loads(body)["__type"] == "MissingAuthenticationTokenException"
    assert "python -m helpers.local env" in json.loads(body)["message"]
    assert "Contents" not in _client(service, s3).list_objects_v2(Bucket=bucket, Prefix="anonymous.txt")


def test_a_tampered_body_is_refused(service):
    client = _client(service, "sagemaker")

    def tamper(request, **_):
        request.body = request.body.replace(b"tampered-a", b"tampered-b")  # same length

    client.meta.events.register("before-send", tamper)
    assert _error_code(lambda: client.list_models(NameContains="tampered-a")) == "InvalidSignatureException"


def test_presigned_urls_work_and_expire_as_signed(service, s3, bucket):
    s3.put_object(Bucket=bucket, Key="presigned/hello.txt", Body=b"hello")
    s3.put_object(Bucket=bucket, Key="presigned/other.txt", Body=b"other")
    for client in (
        s3,
        boto3.client("s3", config=Config(signature_version="s3v4")),
    ):  # Signature Version 2 and 4 URLs
        url = client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "presigned/hello.txt"}, ExpiresIn=60
        )
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == b"hello"
        forged = url.replace("presigned/hello.txt", "presigned/other.txt")
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(forged, timeout=10)
        assert raised.value.code == 403 and b"SignatureDoesNotMatch" in raised.value.read()


def test_the_aws_cli_works_with_the_printed_environment(service, tmp_path):
    assert AWS_CLI.exists(), (
        f"{AWS_CLI} is missing: `make test` installs the aws CLI next to the course's venv"
    )
    printed = subprocess.run(
        [sys.executable, "-m", "helpers.local", "env",
         "--port", str(service.port), "--state-dir", str(service.state_dir)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for line in printed.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip("'")
    local_file = tmp_path / "upload.csv"
    local_file.write_text("1,2,3\n")
    cli_bucket = unique("cli-bucket")

    def aws(*args: str) -> str:
        done = subprocess.run([str(AWS_CLI), *args], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    aws("s3", "mb", f"s3://{cli_bucket}")
    aws("s3", "cp", str(local_file), f"s3://{cli_bucket}/data/upload.csv")
    assert "upload.csv" in aws("s3", "ls", f"s3://{cli_bucket}/data/")
    assert "TrainingJobSummaries" in aws("sagemaker", "list-training-jobs")
    env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
    refused = subprocess.run(
        [str(AWS_CLI), "sagemaker", "list-models"], capture_output=True, text=True, env=env, timeout=120
    )
    assert refused.returncode != 0 and "InvalidSignatureException" in refused.stderr


def test_a_model_server_answers_only_the_service(service, sm, s3, bucket):
    model = train_model(sm, s3, bucket, unique("direct-data"), seed=11)
    name = unique("direct")
    single_variant_config(sm, name, model)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    try:
        assert (
            wait_for(lambda: sm.describe_endpoint(EndpointName=name), "EndpointStatus")["EndpointStatus"]
            == "InService"
        )
        runtime = _client(service, "sagemaker-runtime")
        assert runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body="1,2,3,4")[
            "Body"
        ].read()
        # A forked model server's /proc/<pid>/environ is its warm process's: find it by its socket.
        ports = [
            port
            for pid in processes_in(service.state_dir / "work" / "endpoints" / name)
            for port in listening_ports(pid)
        ]
        assert ports, "the endpoint's model server was not found"
        # Another local user who finds the loopback port still cannot use the model.
        status, _, body = _raw(
            service, "POST", "/invocations", {"Content-Type": "text/csv"}, b"1,2,3,4", port=ports[0]
        )
        assert status == 403 and b"local SageMaker service only" in body
    finally:
        sm.delete_endpoint(EndpointName=name)
        sm.delete_endpoint_config(EndpointConfigName=name)
        sm.delete_model(ModelName=model)


def _presigned_get(s3, bucket: str, key: str, expires: int = 60) -> str:
    client = boto3.client("s3", config=Config(signature_version="s3v4"))
    s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    return client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
    )


def test_a_presigned_s3_url_cannot_drive_other_services(service, s3, sm, bucket):
    url = urllib.parse.urlsplit(_presigned_get(s3, bucket, "presigned/reuse.txt"))
    model = unique("via-presigned")
    body = json.dumps(
        {
            "ModelName": model,
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r",
            "PrimaryContainer": {"Image": "x"},
        }
    )
    status, _, answer = _raw(
        service,
        "GET",
        f"{url.path}?{url.query}",
        {
            "Host": url.netloc,
            "X-Amz-Target": "SageMaker.CreateModel",
            "Content-Type": "application/x-amz-json-1.1",
        },
        body.encode(),
    )
    assert status == 403, answer
    assert not [m for m in sm.list_models()["Models"] if m["ModelName"] == model]
    # Nor can it carry headers it did not sign, such as a copy source.
    status, _, answer = _raw(
        service,
        "GET",
        f"{url.path}?{url.query}",
        {"Host": url.netloc, "x-amz-copy-source": f"{bucket}/secret"},
    )
    assert status == 403 and b"not signed" in answer


def test_presigned_urls_need_a_bounded_expiry(service, s3, bucket):
    url = _presigned_get(s3, bucket, "presigned/expiry.txt")
    without = "&".join(
        p for p in urllib.parse.urlsplit(url).query.split("&") if not p.startswith("X-Amz-Expires=")
    )
    status, _, _ = _raw(
        service, "GET", f"/{bucket}/presigned/expiry.txt?{without}", {"Host": f"127.0.0.1:{service.port}"}
    )
    assert status == 403


@pytest.mark.parametrize(
    "query",
    [
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%C3%A9%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "0" * 64,
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=K%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=99999999999999999&X-Amz-SignedHeaders=host&X-Amz-Signature="
        + "0"
        * 64,
        "AWSAccessKeyId=%C3%A9&Signature=x&Expires=99999999999",
        "AWSAccessKeyId=K&X-Amz-Signature=x",
    ],
)
def test_malformed_signatures_get_an_aws_error_not_a_crash(service, bucket, query):
    status, headers, body = _raw(
        service, "GET", f"/{bucket}/x?{query}", {"Host": f"127.0.0.1:{service.port}"}
    )
    assert status == 403 and b"<Code>" in body, body


def test_an_unsigned_request_is_refused_before_its_body_is_read(service):
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    conn.putrequest("POST", "/", skip_host=True)
    for name, value in {
        "Host": f"127.0.0.1:{service.port}",
        "X-Amz-Target": "SageMaker.ListModels",
        "Content-Type": "application/x-amz-json-1.1",
        "Content-Length": str(6 * 1024 * 1024),
    }.items():
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(b"{")  # the rest never comes: the answer must not wait for it
    response = conn.getresponse()
    assert response.status == 403
    assert json.loads(response.read())["__type"] == "MissingAuthenticationTokenException"


def test_a_bucket_named_endpoints_is_still_s3(s3):
    s3.create_bucket(Bucket="endpoints")
    s3.put_object(Bucket="endpoints", Key="big/invocations", Body=b"0" * (9 * 1024 * 1024))
    assert s3.head_object(Bucket="endpoints", Key="big/invocations")["ContentLength"] == 9 * 1024 * 1024


def test_a_service_on_the_port_with_another_state_folder_is_not_used(service, tmp_path):
    from helpers.local import control
    from helpers.local.core.config import load_config

    impostor_for = load_config(service.port, tmp_path / "mine")
    with pytest.raises(control.ServiceStartError, match="not the one of"):
        control.start(impostor_for)


def test_credentials_readable_by_others_are_refused(tmp_path):
    from helpers.local.core.config import load_config
    from helpers.local.core.credentials import UnsafeStateFolder

    config = load_config(1, tmp_path / "state")
    client_environment(config)
    (config.state_dir / "credentials.json").chmod(0o644)
    with pytest.raises(UnsafeStateFolder, match="not private"):
        client_environment(config)
    # An existing folder that others can read is made private on first use.
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    client_environment(load_config(1, shared))
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700
