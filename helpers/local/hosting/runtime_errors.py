"""The errors of the SageMaker runtime API (InvokeEndpoint), shaped as botocore reads them.

The runtime API is rest-json, not awsJson1_1 like the control plane: the error code travels in
``X-Amzn-ErrorType``, the body is ``application/json`` with ``Message`` and the error shape's own
members (a ModelError's ``OriginalStatusCode``, ``OriginalMessage`` and ``LogStreamArn``), and its
client error is ``ValidationError`` rather than ``ValidationException``. Codes and statuses are
the ones the sagemaker-runtime service model declares, so boto3 raises its modeled exception
classes (``runtime.exceptions.ModelError``) and the SDK's predictor surfaces the same fields.
"""

from __future__ import annotations

import json
from typing import Any

from helpers.local.core.config import ACCOUNT_ID
from helpers.local.core.errors import ServiceError

# InvokeEndpoint's payload limit; the gateway refuses a larger body before reading it whole.
MAX_PAYLOAD = 6 * 1024 * 1024


class RuntimeApiError(ServiceError):
    """An InvokeEndpoint failure; ``response()`` is what goes on the wire."""

    code = "InternalFailure"
    status = 500

    def fields(self) -> dict[str, Any]:
        """Members of the error shape beyond ``Message``."""
        return {}

    def response(self) -> tuple[int, bytes, dict[str, str]]:
        """Status, body and headers (lower-case names) of the error response."""
        body = json.dumps({"Message": self.message, **self.fields()}).encode()
        return self.status, body, {"content-type": "application/json", "x-amzn-errortype": self.code}


class ValidationError(RuntimeApiError):
    """The request cannot be served as sent: no such endpoint, no such variant."""

    code = "ValidationError"
    status = 400


class EndpointNotFound(ValidationError):
    def __init__(self, endpoint: str):
        super().__init__(f"Endpoint {endpoint} of account {ACCOUNT_ID} not found.")


class VariantNotFound(ValidationError):
    def __init__(self, endpoint: str, variant: str, variants: list[str]):
        super().__init__(
            f"Target variant {variant} does not exist on endpoint {endpoint}; "
            f"its variants are: {', '.join(variants)}."
        )


class PayloadTooLarge(ValidationError):
    """A body over MAX_PAYLOAD, refused before it reaches a model."""

    status = 413

    def __init__(self) -> None:
        super().__init__(
            f"Request payload is larger than the {MAX_PAYLOAD // 2**20} MB limit of InvokeEndpoint: "
            "send fewer records per request, or use a batch transform job for large inputs."
        )


class ModelError(RuntimeApiError):
    """The model's container answered 4xx/5xx, or not at all in time (``OriginalStatusCode`` 0)."""

    code = "ModelError"
    status = 424

    def __init__(self, endpoint: str, region: str, original_status: int, original_message: str):
        self.original_status = original_status
        self.original_message = original_message
        self.log_group = f"/aws/sagemaker/Endpoints/{endpoint}"
        self.log_group_arn = f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{self.log_group}"
        side = "client" if 400 <= original_status < 500 else "server"  # a timeout (0) is the server's
        super().__init__(
            f'Received {side} error ({original_status}) from primary with message "{original_message}". '
            f"See the log group {self.log_group} in account {ACCOUNT_ID} for more information."
        )

    def fields(self) -> dict[str, Any]:
        return {
            "OriginalStatusCode": self.original_status,
            "OriginalMessage": self.original_message,
            "LogStreamArn": self.log_group_arn,
        }


class ServiceUnavailable(RuntimeApiError):
    """No instance can take the request right now; the caller may retry."""

    code = "ServiceUnavailable"
    status = 503


class InternalFailure(RuntimeApiError):
    """A failure inside the local service itself, not the caller's or the model's."""

    code = "InternalFailure"
    status = 500
