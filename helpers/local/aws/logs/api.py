"""The CloudWatch Logs calls clients make (awsJson1_1, ``X-Amz-Target: Logs_20140328.<Op>``).

Requests are checked against botocore's ``logs`` model; limits, tokens and error codes follow the
CloudWatch Logs API reference. The SageMaker SDK's log follower reads a stream with
``GetLogEvents(startFromHead=True)`` and ``nextForwardToken`` until a page comes back empty, so a
forward token always names the last event returned (or the request's own position when none was).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from typing import Any

from helpers.local.aws import backends as moto_backends
from helpers.local.aws.logs.errors import InvalidOperationException, InvalidParameterException
from helpers.local.aws.logs.store import END, START, LogEvent, LogStore, Position
from helpers.local.core import protocol
from helpers.local.core.config import ACCOUNT_ID
from helpers.local.core.errors import ServiceError, UnknownOperation, ValidationException

EVENTS_PAGE = 10_000  # GetLogEvents / FilterLogEvents default and maximum number of events
RESPONSE_BYTES = 1_048_576  # a page of events, and a PutLogEvents batch, holds at most 1 MB
EVENT_OVERHEAD = 26  # bytes AWS counts per event on top of its UTF-8 message
DESCRIBE_PAGE = 50
MAX_BATCH_SPAN_MS = 24 * 3600 * 1000
TOO_OLD_MS = 14 * 24 * 3600 * 1000
TOO_NEW_MS = 2 * 3600 * 1000
FILTER_SCAN = 100_000  # events FilterLogEvents reads per call before it returns a nextToken
TARGET_PREFIX = "Logs_20140328."
_ARN = re.compile(r"^arn:aws[\w-]*:logs:[^:]*:[^:]*:log-group:([^:]+)(?::\*)?$")


def answer(target: str, body: bytes, region: str) -> tuple[int, bytes]:
    """The HTTP status and JSON body for one request; ``region`` is the signature's, as on AWS."""
    try:
        params = json.loads(body or b"{}")
        result = handle(moto_backends.log_store(), target.removeprefix(TARGET_PREFIX), params, region)
    except json.JSONDecodeError:
        error = ServiceError("The request body is not valid JSON.")
        error.code = "SerializationException"
        return error.status, protocol.error_body(error)
    except ServiceError as error:
        return error.status, protocol.error_body(error)
    return 200, protocol.json_body(result)


def handle(store: LogStore, operation: str, params: Any, region: str) -> dict[str, Any]:
    """Answer one Logs operation; raises ServiceError with the AWS error code on failure."""
    handler = _OPERATIONS.get(operation)
    if handler is None:
        if operation not in protocol.service_model("logs").operation_names:
            raise UnknownOperation(f"The operation {operation} is not part of the CloudWatch Logs API.")
        raise InvalidOperationException(
            f"The local service does not implement CloudWatch Logs {operation}. It implements: "
            + ", ".join(sorted(_OPERATIONS))
            + "."
        )
    checked = params
    if operation == "PutLogEvents" and isinstance(params, dict) and isinstance(params.get("logEvents"), list):
        # botocore's validator costs ~80 us an event: it checks the first, _check_events the rest.
        checked = dict(params, logEvents=params["logEvents"][:1])
    try:
        protocol.validate_request(protocol.operation_model(operation, "logs"), checked)
    except ValidationException as error:
        raise InvalidParameterException(error.message) from None
    return handler(store, params, region)


def _now() -> int:
    return int(time.time() * 1000)


def _group_arn(region: str, name: str) -> str:
    return f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{name}"


def _group_name(params: dict[str, Any]) -> str:
    name, identifier = params.get("logGroupName"), params.get("logGroupIdentifier")
    if name and identifier:
        raise InvalidParameterException("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if identifier:
        match = _ARN.match(identifier)
        return match.group(1) if match else identifier
    if not name:
        raise InvalidParameterException("Either logGroupName or logGroupIdentifier must be given.")
    return name


def _limit(params: dict[str, Any], most: int) -> int:
    limit = params.get("limit", most)
    if limit > most:
        raise InvalidParameterException(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            f"Member must have value less than or equal to {most}"
        )
    return limit


def _offset_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode()


def _offset(params: dict[str, Any]) -> int:
    token = params.get("nextToken")
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if text.startswith("o") and text[1:].isdigit():
            return int(text[1:])
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidParameterException(
        "The specified nextToken is invalid: pass the nextToken of the previous page."
    )


def _event_token(direction: str, position: Position) -> str:
    timestamp, seq = position
    return f"{direction}/{timestamp + 1:020d}{seq:020d}"


def _event_position(token: str) -> tuple[str, Position]:
    direction, _, digits = token.partition("/")
    if direction not in ("f", "b") or len(digits) != 40 or not digits.isdigit():
        raise InvalidParameterException(
            "The specified nextToken is invalid: pass a token of the previous response."
        )
    return direction, (int(digits[:20]) - 1, int(digits[20:]))


def _within_bytes(events: list[LogEvent], from_end: bool = False) -> list[LogEvent]:
    """The longest run of events (from the start, or the end) that fits in one 1 MB response."""
    total, kept = 0, []
    for event in reversed(events) if from_end else events:
        total += len(event.message.encode()) + EVENT_OVERHEAD
        if total > RESPONSE_BYTES and kept:
            break
        kept.append(event)
    return kept[::-1] if from_end else kept


# Groups and streams


def create_log_group(store: LogStore, params: dict[str, Any], region: str) -> dict[str, Any]:
    store.create_group(region, params["logGroupName"], _now())
    return {}


def create_log_stream(store: LogStore, params: dict[str, Any], region: str) -> dict[str, Any]:
    store.create_stream(region, params["logGroupName"], params["logStreamName"], _now())
    return {}


def delete_log_group(store: LogStore, params: dict[str, Any], region: str) -> dict[str, Any]:
    store.delete_group(region, params["logGroupName"])
    return {}


def delete_log_stream(store: LogStore, params: dict[str, Any], region: str) -> dict[str, Any]:
    store.delete_stream(region, params["logGroupName"], params["logStreamName"])
    return {}


def describe_log_groups(store: LogStore, params: dict[str, Any], region: str) -> dict[str, Any]:
    prefix, pattern = params.get("logGroupNamePrefix"), params.get("logGroupNamePattern")
    if prefix and pattern:
        raise InvalidParameterException("logGroupNamePrefix and logGroupNamePattern are mutually exclusive.")
    groups = store.groups(region)
    if prefix:
        groups = [group for group in groups if group.name.startswith(prefix)]
    if pattern:  # AWS matches the pattern as a case-insensitive substring
        groups = [group for group in groups if pattern.lower() in group.name.lower()]
    offset, limit = _offset(params), _limit(params, DESCRIBE_PAGE)
    page = groups[offset : offset + limit]
    response: dict[str, Any] = {
        "logGroups": [
            {
                "logGroupName": group.name,
                "creationTime": group.created,
                "metricFilterCount": 0,
                "arn": _group_arn(region, group.name) + ":*",
                "logGroupArn": _group_arn(region, group.name),
                "storedBytes": group.stored_bytes,
                "logGroupClass": "STANDARD",
            }
            for group in page
        ]
    }
    if offset + limit < len(groups):
        response["nextToken"] = _offset_token(offset + limit)
    return response


def describe_log_streams(store: LogStore, params: dict[str, Any], region: str) -> dict[str, Any]:
    group = _group_name(params)
    prefix = params.get("logStreamNamePrefix", "")
    by_last_event = params.get("orderBy", "LogStreamName") == "LastEventTime"
    if by_last_event and prefix:
        raise InvalidParameterException("Cannot order by LastEventTime with a logStreamNamePrefix.")
    offset, limit = _offset(params), _limit(params, DESCRIBE_PAGE)
    # One more than asked tells whether another page exists: the SDK's log follower loops while
    # a nextToken is present, so one must only appear when there is more.
    streams = store.streams(
        region, group, prefix, by_last_event, params.get("descending", False), offset, limit + 1
    )
    response: dict[str, Any] = {
        "logStreams": [
            {
                "logStreamName": stream.name,
                "creationTime": stream.created,
                "firstEventTimestamp": stream.first_event,
                "lastEventTimestamp": stream.last_event,
                "lastIngestionTime": stream.last_ingestion,
                "arn": f"{_group_arn(region, group)}:log-stream:{stream.name}",
                "storedBytes": stream.stored_bytes,
            }
            for stream in streams[:limit]
        ]
    }
    if len(streams) > limit:
        response["nextToken"] = _offset_token(offset + limit)
    return response


# Events


def _check_events(events: list[Any]) -> None:
    for index, event in enumerate(events):
        if not (
            isinstance(event, dict)
            and type(event.get("timestamp")) is int
            and isinstance(event.get("message"), str)
            and event["message"]
            and event.keys() <= {"timestamp", "message"}
        ):
            raise InvalidParameterException(
                f"logEvents[{index}] must be an object with an integer timestamp (milliseconds since "
                "the epoch) and a non-empty string message."
            )


def put_log_events(store: LogStore, params: dict[str, Any], region: str) -> dict[str, Any]:
    events = params["logEvents"]
    _check_events(events)
    if len(events) > EVENTS_PAGE:
        raise InvalidParameterException(
            f"A PutLogEvents batch holds at most {EVENTS_PAGE} log events; this one has {len(events)}."
        )
    size = sum(len(event["message"].encode()) + EVENT_OVERHEAD for event in events)
    if size > RESPONSE_BYTES:
        raise InvalidParameterException(f"Upload too large: {size} bytes exceeds limit of {RESPONSE_BYTES}")
    stamps = [event["timestamp"] for event in events]
    if any(later < earlier for earlier, later in zip(stamps, stamps[1:], strict=False)):
        raise InvalidParameterException(
            "Log events in a single PutLogEvents request must be in chronological order."
        )
    if stamps[-1] - stamps[0] > MAX_BATCH_SPAN_MS:
        raise InvalidParameterException(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
        )
    now = _now()
    too_old = [i for i, stamp in enumerate(stamps) if stamp < now - TOO_OLD_MS]
    too_new = [i for i, stamp in enumerate(stamps) if stamp > now + TOO_NEW_MS]
    accepted = events[len(too_old) : too_new[0] if too_new else len(events)]
    store.put_events(
        region,
        params["logGroupName"],
        params["logStreamName"],
        ((e["timestamp"], e["message"]) for e in accepted),
        now,
    )
    rejected = {}
    if too_old:
        rejected["tooOldLogEventEndIndex"] = too_old[-1] + 1
    if too_new:
        rejected["tooNewLogEventStartIndex"] = too_new[0]
    return {"rejectedLogEventsInfo": rejected}


def get_log_events(store: LogStore, params: dict[str, Any], region: str) -> dict[str, Any]:
    group, name = _group_name(params), params["logStreamName"]
    stream_id = store.stream_id(region, group, name)
    start, end = params.get("startTime", 0), params.get("endTime", END[0])
    limit = _limit(params, EVENTS_PAGE)
    token = params.get("nextToken")
    if token is not None:
        direction, position = _event_position(token)
        backward = direction == "b"
    else:
        backward = not params.get("startFromHead", False)
        position = END if backward else START
    events = store.read_stream(stream_id, name, start, end, position, backward, limit)
    events = _within_bytes(events, from_end=backward)
    if events:
        first, last = events[0].position, events[-1].position
    elif backward:  # nothing before: reading forward again starts where this read stopped
        first, last = position, (position[0], position[1] - 1) if position != END else START
    else:
        first, last = (position[0], position[1] + 1), position
    return {
        "events": [
            {"timestamp": event.timestamp, "message": event.message, "ingestionTime": event.ingestion}
            for event in events
        ],
        "nextForwardToken": _event_token("f", last),
        "nextBackwardToken": _event_token("b", first),
    }


def filter_log_events(store: LogStore, params: dict[str, Any], region: str) -> dict[str, Any]:
    group = _group_name(params)
    names, prefix = params.get("logStreamNames"), params.get("logStreamNamePrefix")
    if names and prefix:
        raise InvalidParameterException("logStreamNames and logStreamNamePrefix are mutually exclusive.")
    streams = store.stream_names(region, group, prefix or "")
    if names:
        streams = [stream for stream in streams if stream in set(names)]
    matches = _filter_pattern(params.get("filterPattern") or "")
    start, end = params.get("startTime", 0), params.get("endTime", END[0])
    limit = _limit(params, EVENTS_PAGE)
    position = _event_position(params["nextToken"])[1] if params.get("nextToken") else START
    found: list[LogEvent] = []
    scanned, exhausted = 0, not streams
    while not exhausted and len(found) < limit and scanned < FILTER_SCAN:
        chunk = store.read_group(region, group, streams, start, end, position, EVENTS_PAGE)
        for event in chunk:
            scanned += 1
            position = event.position
            if matches(event.message):
                found.append(event)
                if len(found) == limit:
                    break
        exhausted = len(chunk) < EVENTS_PAGE and (not chunk or position == chunk[-1].position)
    more = not exhausted
    kept = _within_bytes(found)
    if len(kept) < len(found):
        more, position = True, kept[-1].position
    response: dict[str, Any] = {
        "events": [
            {
                "logStreamName": event.stream,
                "timestamp": event.timestamp,
                "message": event.message,
                "ingestionTime": event.ingestion,
                "eventId": f"{event.timestamp:020d}{event.seq:036d}",
            }
            for event in kept
        ],
        "searchedLogStreams": [
            {"logStreamName": stream, "searchedCompletely": not more} for stream in streams
        ],
    }
    if more:
        response["nextToken"] = _event_token("f", position)
    return response


def _filter_pattern(pattern: str) -> Callable[[str], bool]:
    """CloudWatch Logs' text patterns: terms and "quoted phrases" must all appear (case-sensitive),
    ``?term`` means any of those terms, ``-term`` excludes; ``""`` matches everything."""
    pattern = pattern.strip()
    if pattern.startswith(("{", "[")) or pattern.startswith("%"):
        raise InvalidParameterException(
            "The local service filters log events by terms and quoted phrases only; JSON, space-delimited "
            "and regular-expression filter patterns are not implemented locally."
        )
    terms = [quoted or plain for quoted, plain in re.findall(r'"([^"]*)"|(\S+)', pattern)]
    required = [term for term in terms if not term.startswith(("?", "-"))]
    any_of = [term[1:] for term in terms if term.startswith("?") and len(term) > 1]
    excluded = [term[1:] for term in terms if term.startswith("-") and len(term) > 1]

    def matches(message: str) -> bool:
        return (
            all(term in message for term in required)
            and (not any_of or any(term in message for term in any_of))
            and not any(term in message for term in excluded)
        )

    return matches


_OPERATIONS: dict[str, Callable[[LogStore, dict[str, Any], str], dict[str, Any]]] = {
    "CreateLogGroup": create_log_group,
    "CreateLogStream": create_log_stream,
    "DeleteLogGroup": delete_log_group,
    "DeleteLogStream": delete_log_stream,
    "DescribeLogGroups": describe_log_groups,
    "DescribeLogStreams": describe_log_streams,
    "PutLogEvents": put_log_events,
    "GetLogEvents": get_log_events,
    "FilterLogEvents": filter_log_events,
}
