"""The SageMaker wire protocol, driven by botocore's own service model.

Requests are validated against the operation's input shape (so a learner gets the same kind of
message the real API gives for a missing or mistyped field); responses are cleaned of empty
values, because the SDK treats an empty structure as present (``DataCaptureConfig: {}`` breaks
``update_endpoint``), and timestamps go out as epoch seconds as awsJson1_1 expects.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel
from botocore.validate import ParamValidator

from .errors import ServiceError, UnknownOperation, ValidationException


@cache
def service_model(service: str = "sagemaker") -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def operation_model(name: str, service: str = "sagemaker") -> OperationModel:
    model = service_model(service)
    if name not in model.operation_names:
        raise UnknownOperation(f"The operation {name} is not part of the {service} API.")
    return model.operation_model(name)


def validate_request(operation: OperationModel, params: Any) -> None:
    """Raise ValidationException with botocore's description of every problem in ``params``."""
    if not isinstance(params, dict):
        raise ValidationException("The request body must be a JSON object.")
    shape = operation.input_shape
    if shape is None:
        return
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise ValidationException(report.generate_report().replace("\n", " "))
    _check_patterns(params, shape)


def _check_patterns(params: dict, shape: Any) -> None:
    # botocore does not check patterns; names are where learners trip, so check those.
    for name, value in params.items():
        member = shape.members.get(name)
        pattern = member.metadata.get("pattern") if member is not None else None
        if not pattern or not isinstance(value, str) or not name.endswith("Name"):
            continue
        try:
            matched = re.fullmatch(pattern, value)
        except re.error:
            continue
        if not matched:
            raise ValidationException(
                f"1 validation error detected: Value '{value}' at '{_lower_first(name)}' failed to "
                f"satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
            )


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def clean(value: Any) -> Any:
    """Drop None and empty structures, turn datetimes into epoch seconds (recursively)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = clean(item)
            if item is None or item == {}:
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [clean(item) for item in value]
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return value



def error_body(error: ServiceError) -> bytes:
    return json.dumps({"__type": error.code, "message": error.message}).encode()


def json_body(payload: dict) -> bytes:
    return json.dumps(clean(payload)).encode()
