"""The SageMaker wire protocol, driven by botocore's own service model.

Requests are validated against the operation's input shape at every depth, with the messages the
real API gives (``1 validation error detected: Value 'x' at 'a.1.member.b' failed to satisfy
constraint: ...``); responses are cleaned of empty values, because the SDK treats an empty
structure as present (``DataCaptureConfig: {}`` breaks ``update_endpoint``), and timestamps go out
as epoch seconds as awsJson1_1 expects.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

from helpers.local.core.errors import (
    SerializationException,
    ServiceError,
    UnknownOperation,
    ValidationException,
)

# A message echoes each offending value; past this many characters it is cut (a 200 MB name
# would otherwise come back whole).
MAX_ECHOED_CHARACTERS = 256
# Problems listed in one message; the count in front still says how many there are.
MAX_LISTED_PROBLEMS = 100
# Shapes whose pattern the local service widens: a notebook instance's repository may also be an
# ssh or file URL or a local path to a git repository (AWS takes https URLs and repository names).
_GIT_URL = r"(https://|ssh://|file://|git@|/|\./|~/).+"
WIDER_PATTERNS = {
    "CodeRepositoryNameOrUrl": _GIT_URL + r"|[a-zA-Z0-9](-*[a-zA-Z0-9])*",
    "GitConfigUrl": _GIT_URL,
}
# JSON integers must fit the Java types the API declares.
_INTEGER_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_EXPECTED = {
    "structure": "a JSON object",
    "map": "a JSON object",
    "list": "a JSON array",
    "string": "a string",
    "blob": "a base64 string",
    "boolean": "true or false",
    "integer": "an integer",
    "long": "an integer",
    "float": "a number",
    "double": "a number",
    "timestamp": "epoch seconds (a number)",
}


@cache
def service_model(service: str = "sagemaker") -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def operation_model(name: str, service: str = "sagemaker") -> OperationModel:
    model = service_model(service)
    if name not in model.operation_names:
        raise UnknownOperation(f"The operation {name} is not part of the {service} API.")
    return model.operation_model(name)


def validate_request(operation: OperationModel, params: Any) -> None:
    """Check ``params`` against every member of the operation's input shape, at every depth.

    A value of the wrong JSON type or an unknown member stops the check at once (as the API's
    deserializer does: SerializationException / ValidationException); constraint problems
    (required, length, range, enum, pattern) are all collected into one ValidationException.
    """
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object ({...}).")
    shape = operation.input_shape
    if shape is None:
        return
    problems: list[str] = []
    try:
        _check_structure(shape, params, "", problems)
    except RecursionError:
        raise SerializationException("The request is nested too deeply to be read.") from None
    if problems:
        raise ValidationException(validation_message(problems))


def validation_message(problems: list[str]) -> str:
    """AWS's summary line: ``N validation error(s) detected: p1; p2``."""
    count = len(problems)
    listed = "; ".join(problems[:MAX_LISTED_PROBLEMS])
    if count > MAX_LISTED_PROBLEMS:
        listed += f"; and {count - MAX_LISTED_PROBLEMS} more"
    return f"{count} validation error{'s' if count > 1 else ''} detected: {listed}"


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        _check_structure(shape, value, path, problems)
    elif kind == "list":
        _check_list(shape, value, path, problems)
    elif kind == "map":
        _check_map(shape, value, path, problems)
    else:
        _check_type(shape, value, path)
        for constraint in _scalar_problems(shape, value):
            problems.append(_problem(shape, value, path, constraint))


def _check_structure(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        _mismatch(shape, value, path)
    members = shape.members
    for name in shape.required_members:
        if value.get(name) is None:
            problems.append(
                f"Value null at '{_join(path, name)}' failed to satisfy constraint: Member must not be null"
            )
    for name, item in value.items():
        member = members.get(name)
        if member is None:
            where = f" in '{path}'" if path else ""
            raise ValidationException(
                f"Unknown parameter '{name}'{where}: it must be one of: {', '.join(members)}."
            )
        if item is not None:  # JSON null is an absent member
            _check(member, item, _join(path, name), problems)


def _check_list(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, list):
        _mismatch(shape, value, path)
    for constraint in _length_problems(shape.metadata, len(value)):
        problems.append(_problem(shape, value, path, constraint))
    member = shape.member
    for position, item in enumerate(value, start=1):
        item_path = f"{path}.{position}.member"
        if item is None:
            problems.append(
                f"Value null at '{item_path}' failed to satisfy constraint: Member must not be null"
            )
        else:
            _check(member, item, item_path, problems)


def _check_map(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        _mismatch(shape, value, path)
    for constraint in _length_problems(shape.metadata, len(value)):
        problems.append(_problem(shape, value, path, constraint))
    key_shape, value_shape = shape.key, shape.value
    scalar_values = value_shape.type_name not in ("structure", "list", "map")
    bad_key = bad_value = False
    for key, item in value.items():
        bad_key = bad_key or bool(_scalar_problems(key_shape, key))
        if item is None:
            problems.append(
                f"Value null at '{path}.{key}' failed to satisfy constraint: Member must not be null"
            )
        elif scalar_values:
            _check_type(value_shape, item, f"{path}.{key}")
            bad_value = bad_value or bool(_scalar_problems(value_shape, item))
        else:
            _check(value_shape, item, f"{path}.{key}", problems)
    # AWS names the whole map and every constraint its keys (or values) carry.
    if bad_key:
        problems.append(
            _problem(shape, value, path, f"Map keys must satisfy constraint: [{_constraints(key_shape)}]")
        )
    if bad_value:
        problems.append(
            _problem(shape, value, path, f"Map value must satisfy constraint: [{_constraints(value_shape)}]")
        )


def _check_type(shape: Shape, value: Any, path: str) -> None:
    kind = shape.type_name
    if kind in ("string", "blob"):
        ok = isinstance(value, str)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in _INTEGER_RANGE:
        low, high = _INTEGER_RANGE[kind]
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    else:  # float, double, timestamp
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        _mismatch(shape, value, path)


def _scalar_problems(shape: Shape, value: Any) -> list[str]:
    """The constraints ``value`` (already of the right type) breaks, in AWS's phrasing."""
    metadata = shape.metadata
    if not metadata:
        return []
    if not isinstance(value, str):
        return _range_problems(metadata, value) if shape.type_name not in ("boolean", "timestamp") else []
    # Length first: a pattern never runs over a string longer than the API allows.
    problems = _length_problems(metadata, len(value))
    enum = metadata.get("enum")
    if enum and value not in enum:
        problems.append(f"Member must satisfy enum value set: [{', '.join(enum)}]")
    pattern = WIDER_PATTERNS.get(shape.name, metadata.get("pattern"))
    if pattern and not problems:
        compiled = _compiled(pattern)
        if compiled is not None and compiled.fullmatch(value) is None:
            problems.append(f"Member must satisfy regular expression pattern: {pattern}")
    return problems


def _length_problems(metadata: dict[str, Any], length: int) -> list[str]:
    return _bound_problems(metadata, length, "length")


def _range_problems(metadata: dict[str, Any], value: float) -> list[str]:
    return _bound_problems(metadata, value, "value")


def _bound_problems(metadata: dict[str, Any], measured: float, noun: str) -> list[str]:
    """AWS's phrases for a ``min``/``max`` outside which ``measured`` (a length or a value) falls."""
    problems = []
    if "max" in metadata and measured > metadata["max"]:
        problems.append(f"Member must have {noun} less than or equal to {_number(metadata['max'])}")
    if "min" in metadata and measured < metadata["min"]:
        problems.append(f"Member must have {noun} greater than or equal to {_number(metadata['min'])}")
    return problems


def _constraints(shape: Shape) -> str:
    """Every constraint of a map's key or value shape, as AWS lists them."""
    metadata, numeric = shape.metadata, shape.type_name != "string"
    what = "value" if numeric else "length"
    parts = []
    if "max" in metadata:
        parts.append(f"Member must have {what} less than or equal to {_number(metadata['max'])}")
    if "min" in metadata:
        parts.append(f"Member must have {what} greater than or equal to {_number(metadata['min'])}")
    if metadata.get("enum"):
        parts.append(f"Member must satisfy enum value set: [{', '.join(metadata['enum'])}]")
    if metadata.get("pattern"):
        parts.append(f"Member must satisfy regular expression pattern: {metadata['pattern']}")
    return ", ".join(parts)


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    # botocore's patterns are Java regular expressions: \w, \d and \s are ASCII there; the few
    # Python cannot compile (\p{L} classes, surrogate ranges) are left to the handlers.
    try:
        return re.compile(pattern, re.ASCII)
    except re.error:
        return None


def _problem(shape: Shape, value: Any, path: str, constraint: str) -> str:
    # Sensitive members (secrets, payloads) are named without their value, as AWS does.
    shown = "Value" if shape.metadata.get("sensitive") else f"Value '{_echo(value)}'"
    return f"{shown} at '{path}' failed to satisfy constraint: {constraint}"


def _mismatch(shape: Shape, value: Any, path: str) -> None:
    where = f" at '{path}'" if path else ""
    raise SerializationException(
        f"Value '{_echo(value)}'{where} cannot be read as {shape.type_name}: "
        f"pass {_EXPECTED[shape.type_name]}."
    )


def _echo(value: Any, budget: int = MAX_ECHOED_CHARACTERS) -> str:
    """``value`` written the way AWS's Java services print it, cut after ``budget`` characters."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, list):
        text = "[" + ", ".join(_pieces(value, budget)) + "]"
    elif isinstance(value, dict):
        text = (
            "{"
            + ", ".join(_pieces((f"{_echo(k, budget)}={_echo(v, budget)}" for k, v in value.items()), budget))
            + "}"
        )
    else:
        text = str(value)
    return text if len(text) <= budget else text[:budget] + "..."


def _pieces(items: Any, budget: int) -> list[str]:
    # Render items only until the budget is spent: a long list is never printed whole.
    pieces, used = [], 0
    for item in items:
        piece = _echo(item, budget)
        pieces.append(piece)
        used += len(piece) + 2
        if used > budget:
            break
    return pieces


def _join(path: str, name: str) -> str:
    # AWS names members in camel case: 'outputDataConfig.s3OutputPath'.
    member = name[:1].lower() + name[1:]
    return f"{path}.{member}" if path else member


def _number(limit: float) -> str:
    return str(int(limit)) if float(limit).is_integer() else str(limit)


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
