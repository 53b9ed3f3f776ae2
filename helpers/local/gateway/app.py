"""The one front door: an ASGI app on 127.0.0.1 that speaks for every AWS service the course uses.

SageMaker (control plane and runtime), CloudWatch Logs and CloudWatch metrics are answered here;
S3, IAM and the rest of STS go to moto's WSGI app. Requests are told apart the way AWS tells them apart: the
``X-Amz-Target`` header for awsJson1_1 calls, and the credential scope of the signature.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import re
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote

from a2wsgi import WSGIMiddleware
from moto.server import DomainDispatcherApplication, create_backend_app

from helpers.local.api.costs import usage_report
from helpers.local.aws.logs import api as logs_api
from helpers.local.aws.metrics import api as metrics_api
from helpers.local.containers.process_ledger import process_start_time
from helpers.local.core import protocol
from helpers.local.core.config import ACCOUNT_ID, ROLE_NAME
from helpers.local.core.errors import (
    InternalFailure,
    RequestTooLarge,
    SerializationException,
    ServiceError,
    UnknownOperation,
)
from helpers.local.core.health import HEALTH_PATH, HEALTH_SERVICE_NAME
from helpers.local.core.version import code_fingerprint
from helpers.local.gateway.access import AccessGuard, Refusal, Refused, error_response, protocol_of
from helpers.local.gateway.signature import SignedRequest, claimed_service
from helpers.local.hosting import runtime_errors
from helpers.local.hosting.router import Router
from helpers.local.hosting.runtime_errors import MAX_PAYLOAD, PayloadTooLarge, RuntimeApiError

log = logging.getLogger("helpers.local")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_INVOKE = re.compile(r"^/endpoints/([^/]+)/invocations$")
# botocore puts AWS_SDK_UA_APP_ID (``helpers.connect()`` sets one per lesson) in every User-Agent.
_APP_ID = re.compile(r"(?:^|\s)app/([A-Za-z0-9!#$%&'*+\-.^_`|~]{1,50})(?:\s|$)")
# The service's own routes (what the work would cost on AWS), signed like any SageMaker request.
USAGE_PATH = "/_local/usage"


# The largest valid SageMaker request (100 hyperparameters of 2,500 characters, 50 tags, a 1 MB
# pipeline definition) stays well under 2 MiB even with JSON escaping; 8 MiB leaves room for any
# operation while no body can make the service hold more than that in memory.
MAX_CONTROL_PLANE_BODY = 8 * 1024 * 1024


class Gateway:
    def __init__(self, service, guard: AccessGuard, runtime: Router):
        self.service = service
        self.guard = guard
        self.runtime = runtime  # answers InvokeEndpoint
        self.moto = WSGIMiddleware(DomainDispatcherApplication(create_backend_app), workers=8)
        # Control-plane calls block on SQLite and job bookkeeping: keep them off the event loop.
        self.executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="sagemaker-api")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = False

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._route(scope, receive, tracked_send)
        except Exception as exc:  # a bug in the service: answer like AWS, keep serving
            log.exception("%s %s failed in the gateway", scope.get("method"), scope.get("path"))
            if not started:
                # In the shape the client parses: IAM and STS clients read XML, not JSON.
                message = f"the local service failed on this request: {exc!r}"
                await _refuse(send, error_response(_error_protocol(scope), 500, "InternalFailure", message))

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        path, method = scope["path"], scope["method"]
        target = headers.get("x-amz-target", "")
        request = SignedRequest(
            method,
            (scope.get("raw_path") or path.encode()).decode("latin-1"),
            scope.get("query_string", b"").decode("latin-1"),
            headers,
        )
        error_protocol = protocol_of(headers, method, path, claimed_service(request))
        refusal = self.guard.refuse_browser(headers, error_protocol)
        if refusal is not None:
            await _refuse(send, refusal)
            return
        if path == HEALTH_PATH:
            challenge = dict(parse_qsl(request.query)).get("challenge", "")[:128]
            await _respond(send, 200, json.dumps(self._health(challenge)).encode(), "application/json")
            return
        try:
            claimed = self.guard.precheck(request, error_protocol)
            invoke = _INVOKE.match(path) if method == "POST" and claimed.service == "sagemaker" else None
            # S3 bodies stream on to moto (they may be large); S3 signs them through the declared
            # X-Amz-Content-SHA256. Every other body is small and read whole, so its hash is checked.
            limit = MAX_PAYLOAD if invoke else MAX_CONTROL_PLANE_BODY
            body = None if claimed.service == "s3" else await _read_body(receive, headers, limit)
            signed = self.guard.verify(
                request, error_protocol, None if body is None else hashlib.sha256(body).hexdigest()
            )
        except Refused as refused:
            await _refuse(send, refused.refusal)
            return
        except _BodyTooLarge as too_large:
            await _refuse(send, _too_large(error_protocol, too_large.size, bool(invoke)))
            return
        except _ClientGone:
            return

        # Dispatch on what the signature covers: the signed service, then its signed target.
        if signed.service == "sagemaker" and target.startswith("SageMaker."):
            await self._control_plane(target.split(".", 1)[1], body, send, lesson_of(headers))
        elif signed.service == "sagemaker" and method == "GET" and path == USAGE_PATH:
            lesson = dict(parse_qsl(request.query)).get("lesson") or None
            answer = partial(usage_report, self.service, lesson)
            report = await asyncio.get_running_loop().run_in_executor(self.executor, answer)
            await _respond(send, 200, json.dumps(report).encode(), "application/json")
        elif signed.service == "sagemaker" and invoke:
            await self._invoke(unquote(invoke.group(1)), headers, body, send)
        elif signed.service == "logs" and target.startswith(logs_api.TARGET_PREFIX):
            answer = partial(logs_api.answer, target, body, signed.region)
            status, payload = await asyncio.get_running_loop().run_in_executor(self.executor, answer)
            await _respond(send, status, payload, "application/x-amz-json-1.1")
        elif signed.service == "monitoring" and target.startswith(metrics_api.TARGET_PREFIX):
            await self._metrics(
                target.removeprefix(metrics_api.TARGET_PREFIX), body, signed.region, "json", send
            )
        elif signed.service == "monitoring" and method == "POST" and metrics_api.operation_of(path):
            await self._metrics(metrics_api.operation_of(path), body, signed.region, "cbor", send)
        elif signed.service in ("sagemaker", "logs"):
            error = UnknownOperation(
                f"No {signed.service} operation answers {method} {path} with target '{target}'."
            )
            await _respond(send, error.status, protocol.error_body(error), "application/x-amz-json-1.1")
        elif signed.service == "sts" and parse_qs(body.decode(errors="replace")).get("Action") == [
            "GetCallerIdentity"
        ]:
            await _respond(send, 200, _caller_identity(), "text/xml")
        else:
            await self.moto(scope, receive if body is None else _replay(body), send)

    async def _metrics(self, operation: str, body: bytes, region: str, codec: str, send: Send) -> None:
        answer = partial(metrics_api.answer, operation, body, region, codec)
        status, payload, headers = await asyncio.get_running_loop().run_in_executor(self.executor, answer)
        if codec == "cbor":
            headers["smithy-protocol"] = "rpc-v2-cbor"
        await _respond(send, status, payload, metrics_api.content_type(codec), headers)

    async def _control_plane(
        self, operation: str, body: bytes, send: Send, lesson: str | None = None
    ) -> None:
        try:
            params = _parse_json(body)
            loop = asyncio.get_running_loop()
            handle = partial(self.service.handle, operation, params, lesson)
            result = await loop.run_in_executor(self.executor, handle)
            status, payload = 200, protocol.json_body(result)
        except ServiceError as error:
            status, payload = error.status, protocol.error_body(error)
        except Exception as exc:  # a bug in the service: answer like AWS, keep serving
            log.exception("%s failed in the gateway", operation)
            error = InternalFailure(f"{operation} failed inside the local service: {exc!r}")
            status, payload = error.status, protocol.error_body(error)
        await _respond(send, status, payload, "application/x-amz-json-1.1")

    async def _invoke(self, endpoint: str, headers: dict[str, str], body: bytes, send: Send) -> None:
        try:
            status, payload, response_headers = await self.runtime.invoke(endpoint, headers, body)
        except RuntimeApiError as error:
            status, payload, response_headers = error.response()
        except Exception as exc:
            log.exception("InvokeEndpoint of %s failed in the gateway", endpoint)
            failure = runtime_errors.InternalFailure(
                f"InvokeEndpoint failed inside the local service: {exc!r}"
            )
            status, payload, response_headers = failure.response()
        content_type = response_headers.pop("content-type")
        await _respond(send, status, payload, content_type, response_headers)

    def _health(self, challenge: str) -> dict[str, Any]:
        return {
            "service": HEALTH_SERVICE_NAME,
            "proof": self.guard.health_proof(challenge) if challenge else None,
            "pid": os.getpid(),
            "startTime": process_start_time(os.getpid()),  # tells this process from a later one with its pid
            "stateDir": str(self.service.config.state_dir),
            "region": self.service.region,
            "code": code_fingerprint(),
        }

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.runtime.close()
                await asyncio.get_running_loop().run_in_executor(None, self.service.shutdown)
                await send({"type": "lifespan.shutdown.complete"})
                return


def lesson_of(headers: dict[str, str]) -> str | None:
    """The ``app/<id>`` of the request's User-Agent: which lesson (client session) sent it."""
    match = _APP_ID.search(headers.get("user-agent", ""))
    return match.group(1) if match else None


def _headers(scope: Scope) -> dict[str, str]:
    """Lower-case header names; a repeated header's values joined with ',' (as SigV4 signs them)."""
    headers: dict[str, str] = {}
    for key, value in scope["headers"]:
        name, text = key.decode("latin-1").lower(), value.decode("latin-1")
        headers[name] = f"{headers[name]},{text}" if name in headers else text
    return headers


def _too_large(error_protocol: str, size: int, invoke: bool) -> Refusal:
    if invoke:
        status, body, headers = PayloadTooLarge().response()
        return Refusal(status, body, headers.pop("content-type"), headers)
    error = RequestTooLarge(
        f"The request body ({size} bytes or more) is larger than the {MAX_CONTROL_PLANE_BODY // 2**20} MiB "
        "limit of an API call: send less in one call, and put data in S3 instead."
    )
    return error_response(error_protocol, 413, error.code, error.message)


def _error_protocol(scope: Scope) -> str:
    """The error shape (``json``, ``query``, ``s3``) the request's client understands."""
    headers = _headers(scope)
    request = SignedRequest(
        scope["method"],
        (scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
        scope.get("query_string", b"").decode("latin-1"),
        headers,
    )
    return protocol_of(headers, scope["method"], scope["path"], claimed_service(request))


async def _refuse(send: Send, refusal: Refusal) -> None:
    await _respond(send, refusal.status, refusal.body, refusal.content_type, refusal.headers)


def _parse_json(body: bytes) -> Any:
    """The request's JSON document; SerializationException (400) for anything that is not one."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SerializationException(f"The request body is not valid UTF-8 (byte {exc.start}).") from None
    if not text.strip():
        return {}
    try:
        params = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise SerializationException("The request body is nested too deeply to be read.") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers too long to read
        raise SerializationException(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object ({...}).")
    return params


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is too large for a number")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _caller_identity() -> bytes:
    # The SDK's role helpers expect an assumed-role identity, as on a notebook instance.
    return (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        "<GetCallerIdentityResult>"
        f"<Arn>arn:aws:sts::{ACCOUNT_ID}:assumed-role/{ROLE_NAME}/SageMaker</Arn>"
        "<UserId>AROAEXAMPLELOCALROLE:SageMaker</UserId>"
        f"<Account>{ACCOUNT_ID}</Account>"
        "</GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    ).encode()


class _BodyTooLarge(Exception):
    def __init__(self, size: int):
        self.size = size


class _ClientGone(Exception):
    pass


async def _read_body(
    receive: Receive, headers: dict[str, str] | None = None, limit: int | None = None
) -> bytes:
    """The whole request body; _BodyTooLarge as soon as it is known to pass ``limit`` bytes.

    A declared Content-Length is checked before anything is read; a chunked body is counted as
    it arrives, so an oversized one is never held whole.
    """
    declared = (headers or {}).get("content-length", "")
    if limit is not None and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge(int(declared))
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise _BodyTooLarge(size)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _respond(
    send: Send, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-amzn-requestid", str(uuid.uuid4()).encode()),
    ]
    for key, value in (extra or {}).items():
        headers.append((key.encode(), value.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
