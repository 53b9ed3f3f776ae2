"""Checks every SageMaker response a test receives against botocore's output shape."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.validate import ParamValidator


class ShapeMismatch(AssertionError):
    pass


def check_output(operation_model, parsed: dict[str, Any]) -> None:
    shape = operation_model.output_shape
    if shape is None:
        return
    body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
    if "Error" in parsed:
        return
    if shape.type_name == "structure" and any(m.serialization.get("payload") for m in shape.members.values()):
        return  # streaming/blob payloads (InvokeEndpoint) are not JSON documents
    report = ParamValidator().validate(body, shape)
    if report.has_errors():
        raise ShapeMismatch(
            f"{operation_model.name} response does not match botocore's shape:\n{report.generate_report()}"
        )


def validate_every_response(session: boto3.Session) -> None:
    """Make every sagemaker / sagemaker-runtime client of ``session`` validate its responses."""

    def after_call(http_response, parsed, model, **kwargs):
        check_output(model, parsed)

    session.events.register("after-call.sagemaker", after_call)
    session.events.register("after-call.sagemaker-runtime", after_call)
