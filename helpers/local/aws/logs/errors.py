"""The CloudWatch Logs error codes clients look for (botocore's ``logs`` model names them)."""

from __future__ import annotations

from helpers.local.core.errors import ServiceError


class InvalidParameterException(ServiceError):
    code = "InvalidParameterException"


class ResourceNotFoundException(ServiceError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExistsException(ServiceError):
    code = "ResourceAlreadyExistsException"


class InvalidOperationException(ServiceError):
    code = "InvalidOperationException"


def group_not_found() -> ResourceNotFoundException:
    return ResourceNotFoundException("The specified log group does not exist.")


def stream_not_found() -> ResourceNotFoundException:
    return ResourceNotFoundException("The specified log stream does not exist.")
