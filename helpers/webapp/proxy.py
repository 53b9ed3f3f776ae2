"""What API Gateway does around a Lambda function: HTTP request -> proxy event -> HTTP response.

A REST API with *Lambda proxy integration* hands the function the whole request as one
JSON document (the proxy event) and expects ``statusCode``/``headers``/``body`` back. The
local server uses these two functions to give the handler exactly that contract.
"""

from __future__ import annotations

import base64
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


def http_response(result: Mapping[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body bytes from a handler's proxy response."""
    headers = {name: str(value) for name, value in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(map(str, values))
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    return int(result.get("statusCode", 200)), headers, data
