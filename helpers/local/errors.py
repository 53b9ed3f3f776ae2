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
