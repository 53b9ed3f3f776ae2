"""What API Gateway does around a Lambda function: HTTP request -> proxy event -> HTTP response.

A REST API with *Lambda proxy integration* hands the function the whole request as one
JSON document (the proxy event) and expects ``statusCode``/``headers``/``body`` back. The
local server uses these two functions to give the handler exactly that contract.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

STAGE = "prod"


def proxy_event(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    query: str = "",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The event API Gateway (REST API, proxy integration) would send for this request."""
    try:  # text bodies arrive as text, anything else base64-encoded
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    multi_query = parse_qs(query, keep_blank_values=True) if query else None
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers) or None,
        "multiValueHeaders": {name: [value] for name, value in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} if multi_query else None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent")},
        },
        "body": text if body else None,
        "isBase64Encoded": encoded,
    }


class MalformedProxyResponse(ValueError):
    """A handler result API Gateway would refuse (it answers 502 "Internal server error")."""


def http_response(result: Mapping[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body bytes from a handler's proxy response.

    Raises MalformedProxyResponse, saying what is wrong, for a result a REST API rejects:
    not a dict, no integer ``statusCode``, a ``body`` that is not a string, and so on.
    """
    if not isinstance(result, Mapping):
        raise MalformedProxyResponse(f"the handler returned {type(result).__name__}, not a dict")
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedProxyResponse(f"statusCode must be an HTTP status code (int), got {status!r}")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedProxyResponse(f"body must be a string (json.dumps() it), got {type(body).__name__}")
    for field in ("headers", "multiValueHeaders"):
        if not isinstance(result.get(field) or {}, Mapping):
            raise MalformedProxyResponse(f"{field} must be a dict, got {type(result[field]).__name__}")

    headers = {name: str(value) for name, value in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(map(str, values))
    if not result.get("isBase64Encoded"):
        return status, headers, (body or "").encode("utf-8")
    try:
        return status, headers, base64.b64decode(body or "", validate=True)
    except binascii.Error:
        raise MalformedProxyResponse("isBase64Encoded is true but body is not valid base64") from None
