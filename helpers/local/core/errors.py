"""AWS-style errors: an error code the SDKs understand and a message a learner can act on."""

from __future__ import annotations


class ServiceError(Exception):
    code = "InternalFailure"
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ValidationException(ServiceError):
    code = "ValidationException"


class ResourceNotFound(ServiceError):
    code = "ResourceNotFound"


class ResourceInUse(ServiceError):
    code = "ResourceInUse"


class ResourceLimitExceeded(ServiceError):
    code = "ResourceLimitExceeded"


class UnknownOperation(ServiceError):
    code = "UnknownOperationException"


class InternalFailure(ServiceError):
    code = "InternalFailure"
    status = 500


class SerializationException(ServiceError):
    """The body cannot be read as the operation's input: not JSON, not UTF-8, or a value of the wrong type."""

    code = "SerializationException"


class RequestTooLarge(ServiceError):
    """A request body over the gateway's size limit, refused before it is read whole."""

    code = "ValidationException"
    status = 413


class JobFailure(Exception):
    """Ends a running job (or a model server's start) as Failed with this message as its FailureReason.

    Not an API error: it happens after the request was answered, so it is recorded, not raised to a client.
    """
