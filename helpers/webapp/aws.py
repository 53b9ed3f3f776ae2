"""Tearing down the web app's AWS side: the REST API, the Lambda function and its IAM role.

The notebook builds them step by step, and any step can fail (a missing permission, a quota),
so the clean-up looks each part up by name and deletes whatever exists instead of relying on
variables that a failed cell never set.
"""

from __future__ import annotations

import boto3
from botocore.exceptions import ClientError

BASIC_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
INVOKE_POLICY_NAME = "invoke-endpoint"
_MISSING = {"NotFoundException", "ResourceNotFoundException", "NoSuchEntity"}


def _unless_missing(call, **kwargs) -> bool:
    """Run one delete call; False when the thing was not there to delete."""
    try:
        call(**kwargs)
    except ClientError as error:
        if error.response["Error"]["Code"] in _MISSING:
            return False
        raise
    return True


def delete_web_app(boto_session: boto3.Session, name: str) -> list[str]:
    """Delete the REST API, the function and the role called ``name``; returns what was deleted."""
    apigateway = boto_session.client("apigateway")
    lambda_client = boto_session.client("lambda")
    iam = boto_session.client("iam")
    deleted = []
    for page in apigateway.get_paginator("get_rest_apis").paginate():
        for api in page["items"]:
            if api["name"] == name and _unless_missing(apigateway.delete_rest_api, restApiId=api["id"]):
                deleted.append(f"REST API {api['id']}")
    if _unless_missing(lambda_client.delete_function, FunctionName=name):
        deleted.append(f"Lambda function {name}")
    _unless_missing(iam.delete_role_policy, RoleName=name, PolicyName=INVOKE_POLICY_NAME)
    _unless_missing(iam.detach_role_policy, RoleName=name, PolicyArn=BASIC_EXECUTION_POLICY)
    if _unless_missing(iam.delete_role, RoleName=name):
        deleted.append(f"IAM role {name}")
    return deleted
