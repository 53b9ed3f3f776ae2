"""The web app's AWS clean-up, against moto's in-process AWS (no account needed)."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from moto import mock_aws

from helpers.webapp.aws import BASIC_EXECUTION_POLICY, INVOKE_POLICY_NAME, delete_web_app

NAME = "sentiment-test-endpoint"
INVOKE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "sagemaker:InvokeEndpoint",
            "Resource": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/x",
        }
    ],
}


@pytest.fixture
def boto_session(monkeypatch):
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # AWSLambdaBasicExecutionRole exists on AWS
    with mock_aws():
        yield boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )


def _role(session: boto3.Session) -> str:
    iam = session.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
    ]}  # fmt: skip
    arn = iam.create_role(RoleName=NAME, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=NAME, PolicyArn=BASIC_EXECUTION_POLICY)
    iam.put_role_policy(
        RoleName=NAME, PolicyName=INVOKE_POLICY_NAME, PolicyDocument=json.dumps(INVOKE)
    )  # fmt: skip
    return arn


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def test_deletes_the_whole_web_app(boto_session):
    role_arn = _role(boto_session)
    boto_session.client("lambda").create_function(
        FunctionName=NAME,
        Runtime="python3.11",
        Handler="lambda_function.lambda_handler",
        Role=role_arn,
        Code={"ZipFile": _zip()},
    )
    apigateway = boto_session.client("apigateway")
    apigateway.create_rest_api(name=NAME)
    apigateway.create_rest_api(name="someone-elses-api")

    deleted = delete_web_app(boto_session, NAME)

    assert [d.split()[0] for d in deleted] == ["REST", "Lambda", "IAM"]
    assert [api["name"] for api in apigateway.get_rest_apis()["items"]] == ["someone-elses-api"]
    assert boto_session.client("lambda").list_functions()["Functions"] == []
    assert NAME not in [r["RoleName"] for r in boto_session.client("iam").list_roles()["Roles"]]


def test_a_half_built_web_app_and_a_second_run(boto_session):
    _role(boto_session)  # the notebook stopped after creating the role
    assert delete_web_app(boto_session, NAME) == [f"IAM role {NAME}"]
    assert delete_web_app(boto_session, NAME) == []  # nothing left, and no error
