"""The CloudWatch metric calls clients make, in both codecs botocore's ``cloudwatch`` model offers.

boto3 sends awsJson1_0 (``X-Amz-Target: GraniteServiceVersion20100801.<Op>``, timestamps as epoch
seconds, query-compatible error codes in ``x-amzn-query-error``); clients that choose Smithy RPC v2
CBOR post to ``/service/GraniteServiceVersion20100801/operation/<Op>`` with timestamps as tag 1.
Requests are checked against that model; limits and messages follow the CloudWatch API reference
(GetMetricStatistics, ListMetrics, PutMetricData). The SageMaker SDK's ``TrainingJobAnalytics``
reads a training job's curve with GetMetricStatistics.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Callable
from typing import Any

import cbor2

from helpers.local.aws import backends as moto_backends
from helpers.local.aws.metrics.store import MetricPoint, MetricStore, dimensions_key
from helpers.local.core import protocol
from helpers.local.core.errors import ServiceError, ValidationException

TARGET_PREFIX = "GraniteServiceVersion20100801."
PATH_PREFIX = "/service/GraniteServiceVersion20100801/operation/"
CONTENT_TYPE = "application/cbor"
MAX_DATAPOINTS = 1440  # GetMetricStatistics answers at most this many per call
LIST_PAGE = 500  # ListMetrics returns up to 500 results per page
HIGH_RESOLUTION_PERIODS = (1, 5, 10, 30)


class InvalidParameterValueException(ServiceError):
    code = "InvalidParameterValue"


class InvalidParameterCombinationException(ServiceError):
    code = "InvalidParameterCombination"


class MissingRequiredParameterException(ServiceError):
    code = "MissingParameter"


class InvalidNextToken(ServiceError):
    code = "InvalidNextToken"


def operation_of(path: str) -> str | None:
    """The operation a Smithy RPC v2 CBOR request names in its path."""
    return path[len(PATH_PREFIX) :] if path.startswith(PATH_PREFIX) else None


def answer(operation: str, body: bytes, region: str, codec: str) -> tuple[int, bytes, dict[str, str]]:
    """The HTTP status, body and headers of one request, in the client's codec (``json`` for
    awsJson1_0 with ``X-Amz-Target``, ``cbor`` for Smithy RPC v2); ``region`` is the signature's."""
    try:
        if codec == "cbor":
            params = _epoch_seconds(cbor2.loads(body)) if body else {}
        else:
            params = json.loads(body or b"{}")
        result = handle(moto_backends.metric_store(), operation, params, region)
    except (cbor2.CBORDecodeError, json.JSONDecodeError):
        error = ServiceError(f"The request body is not valid {codec.upper()}.")
        error.code = "SerializationException"
        return error.status, _encode({"__type": error.code, "message": error.message}, codec), {}
    except ServiceError as error:
        # The model is query-compatible: clients take the error code from this header.
        headers = {"x-amzn-query-error": f"{error.code};Sender"}
        return error.status, _encode({"__type": error.code, "message": error.message}, codec), headers
    return 200, _encode(result, codec), {}


def content_type(codec: str) -> str:
    return CONTENT_TYPE if codec == "cbor" else "application/x-amz-json-1.0"


def _encode(payload: dict[str, Any], codec: str) -> bytes:
    if codec == "cbor":
        return cbor2.dumps(_datetimes(payload), datetime_as_timestamp=True)
    return protocol.json_body(payload)


def _datetimes(value: Any, key: str = "") -> Any:
    """Answers carry timestamps as epoch seconds; CBOR sends them as tag-1 datetimes."""
    if key == "Timestamp" and isinstance(value, float):
        return _timestamp(value)
    if isinstance(value, dict):
        return {k: _datetimes(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_datetimes(item) for item in value]
    return value


def handle(store: MetricStore, operation: str, params: Any, region: str) -> dict[str, Any]:
    handler = _OPERATIONS.get(operation)
    model = protocol.service_model("cloudwatch")
    if handler is None:
        error = ServiceError(
            f"The local service does not implement CloudWatch {operation}. It implements: "
            + ", ".join(sorted(_OPERATIONS))
            + "."
        )
        error.code = (
            "UnknownOperationException" if operation not in model.operation_names else "InvalidAction"
        )
        raise error
    try:
        protocol.validate_request(protocol.operation_model(operation, "cloudwatch"), params)
    except ValidationException as error:
        raise InvalidParameterValueException(error.message) from None
    return handler(store, params, region)


def _epoch_seconds(value: Any) -> Any:
    """CBOR tag-1 timestamps come out of cbor2 as datetimes; the model checks numbers."""
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {key: _epoch_seconds(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_epoch_seconds(item) for item in value]
    return value


def _timestamp(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _get_metric_statistics(store: MetricStore, params: dict[str, Any], region: str) -> dict[str, Any]:
    statistics = params.get("Statistics") or []
    if params.get("ExtendedStatistics"):
        raise InvalidParameterValueException(
            "The local service computes Statistics (SampleCount, Average, Sum, Minimum, Maximum), "
            "not ExtendedStatistics (percentiles)."
        )
    if not statistics:
        raise MissingRequiredParameterException("Must specify either Statistics or ExtendedStatistics.")
    start, end, period = params["StartTime"], params["EndTime"], params["Period"]
    if period < 60 and period not in HIGH_RESOLUTION_PERIODS or period >= 60 and period % 60:
        raise InvalidParameterValueException(
            "The parameter Period must be 1, 5, 10, 30, or any multiple of 60."
        )
    if start >= end:
        raise InvalidParameterValueException(
            "The parameter StartTime must be less than the parameter EndTime."
        )
    requested = math.ceil((end - start) / period)
    if requested > MAX_DATAPOINTS:
        raise InvalidParameterCombinationException(
            f"You have requested up to {requested:,} datapoints, which exceeds the limit of "
            f"{MAX_DATAPOINTS:,}. You may reduce the datapoints requested by increasing Period, or "
            "decreasing the time range."
        )
    rows = store.statistics(
        region,
        params["Namespace"],
        params["MetricName"],
        dimensions_key(params.get("Dimensions", [])),
        start,
        end,
        period,
        params.get("Unit"),
    )
    datapoints = []
    for row in rows:
        values = {
            "SampleCount": row.sample_count,
            "Average": row.total / row.sample_count,
            "Sum": row.total,
            "Minimum": row.minimum,
            "Maximum": row.maximum,
        }
        point: dict[str, Any] = {"Timestamp": row.start, "Unit": row.unit}
        point.update({name: values[name] for name in statistics})
        datapoints.append(point)
    return {"Label": params["MetricName"], "Datapoints": datapoints}


def _list_metrics(store: MetricStore, params: dict[str, Any], region: str) -> dict[str, Any]:
    filters = params.get("Dimensions") or []
    matched = []
    for namespace, name, key in store.metrics(region, params.get("Namespace"), params.get("MetricName")):
        dimensions = [{"Name": n, "Value": v} for n, v in json.loads(key)]
        have = {d["Name"]: d["Value"] for d in dimensions}
        if all(f["Name"] in have and f.get("Value", have[f["Name"]]) == have[f["Name"]] for f in filters):
            matched.append({"Namespace": namespace, "MetricName": name, "Dimensions": dimensions})
    offset = _offset(params.get("NextToken"))
    page = matched[offset : offset + LIST_PAGE]
    result: dict[str, Any] = {"Metrics": page}
    if offset + LIST_PAGE < len(matched):
        result["NextToken"] = base64.urlsafe_b64encode(f"o{offset + LIST_PAGE}".encode()).decode()
    return result


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if text.startswith("o") and text[1:].isdigit():
            return int(text[1:])
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidNextToken("The service couldn't process the NextToken: pass the previous page's NextToken.")


def _put_metric_data(store: MetricStore, params: dict[str, Any], region: str) -> dict[str, Any]:
    namespace = params["Namespace"]
    if namespace.startswith("AWS/"):
        raise InvalidParameterValueException(
            "The value AWS/ for parameter Namespace is invalid: namespaces starting with AWS/ are "
            "reserved for AWS services."
        )
    points = []
    now = dt.datetime.now(dt.UTC).timestamp()
    for index, datum in enumerate(params["MetricData"], start=1):
        dimensions = dimensions_key(datum.get("Dimensions", []))
        when = datum.get("Timestamp", now)
        unit = datum.get("Unit", "None")
        if "Value" in datum:
            pairs = [(datum["Value"], 1.0)]
        elif datum.get("Values"):
            counts = datum.get("Counts") or [1.0] * len(datum["Values"])
            if len(counts) != len(datum["Values"]):
                raise InvalidParameterValueException(
                    f"The parameters MetricData.member.{index}.Values and MetricData.member.{index}.Counts "
                    "must be of the same size."
                )
            pairs = list(zip(datum["Values"], counts, strict=True))
        elif "StatisticValues" in datum:
            stats = datum["StatisticValues"]
            pairs = [(stats["Sum"] / stats["SampleCount"], stats["SampleCount"])]
        else:
            raise InvalidParameterCombinationException(
                f"The parameters MetricData.member.{index}.Value, MetricData.member.{index}.Values and "
                f"MetricData.member.{index}.StatisticValues are mutually exclusive and one must be given."
            )
        points.extend(
            MetricPoint(namespace, datum["MetricName"], dimensions, when, value, count, unit)
            for value, count in pairs
        )
    store.put(region, points)
    return {}


_OPERATIONS: dict[str, Callable[[MetricStore, dict[str, Any], str], dict[str, Any]]] = {
    "GetMetricStatistics": _get_metric_statistics,
    "ListMetrics": _list_metrics,
    "PutMetricData": _put_metric_data,
}
