"""The one front door: an ASGI app on 127.0.0.1 that speaks for every AWS service the course uses.

SageMaker (control plane and runtime) and CloudWatch Logs are answered here; S3, IAM and the rest of
STS go to moto's WSGI app. Requests are told apart the way AWS tells them apart: the
``X-Amz-Target`` header for awsJson1_1 calls, and the credential scope of the signature.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any
from urllib.parse import parse_qs, unquote

from a2wsgi import WSGIMiddleware
from moto.server import DomainDispatcherApplication, create_backend_app

from . import protocol
from .access import AccessGuard, Refusal, protocol_of
from .config import ACCOUNT_ID, ROLE_NAME
from .errors import ServiceError
from .logs import api as logs_api
from .process_ledger import process_start_time
from .signature import SignedRequest
from .version import code_fingerprint

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
_INVOKE = re.compile(r"^/endpoints/([^/]+)/invocations$")
HEALTH_PATH = "/_local/health"


class Gateway:
    def __init__(self, service, guard: AccessGuard, runtime=None):
        self.service = service
        self.guard = guard
        self.runtime = runtime  # answers InvokeEndpoint; absent until hosting is wired in
        self.moto = WSGIMiddleware(DomainDispatcherApplication(create_backend_app), workers=8)
        # Control-plane calls block on SQLite and job bookkeeping: keep them off the event loop.
        self.executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="sagemaker-api")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = _headers(scope)
        path = scope["path"]
        target = headers.get("x-amz-target", "")
        signing_service = _signing_service(headers.get("authorization", ""))
        error_protocol = protocol_of(headers, path, signing_service)
        refusal = self.guard.refuse_browser(headers, error_protocol)
        if refusal is not None:
            await _refuse(send, refusal)
            return
        if path == HEALTH_PATH:
            await _respond(send, 200, json.dumps(self._health()).encode(), "application/json")
            return
        # S3 bodies stream on to moto (they may be large); S3 signs them through the declared
        # X-Amz-Content-SHA256. Every other body is small and read whole, so its hash is checked.
        body = None if error_protocol == "s3" else await _read_body(receive)
        request = SignedRequest(
            scope["method"],
            (scope.get("raw_path") or path.encode()).decode("latin-1"),
            scope.get("query_string", b"").decode("latin-1"),
            headers,
        )
        refusal = self.guard.refuse_unsigned(
            request, error_protocol, None if body is None else hashlib.sha256(body).hexdigest()
        )
        if refusal is not None:
            await _refuse(send, refusal)
            return

        if target.startswith("SageMaker."):
            await self._control_plane(target.split(".", 1)[1], body, send)
        elif target.startswith(logs_api.TARGET_PREFIX):
            answer = partial(logs_api.answer, target, headers.get("authorization", ""), body, self.service.region)
            status, payload = await asyncio.get_running_loop().run_in_executor(self.executor, answer)
            await _respond(send, status, payload, "application/x-amz-json-1.1")
        elif scope["method"] == "POST" and _INVOKE.match(path) and signing_service in ("sagemaker", None):
            await self._invoke(unquote(_INVOKE.match(path).group(1)), headers, body, send)
        elif signing_service == "sts" and parse_qs(body.decode(errors="replace")).get("Action") == [
            "GetCallerIdentity"
        ]:
            await _respond(send, 200, _caller_identity(), "text/xml")
        else:
            await self.moto(scope, receive if body is None else _replay(body), send)

    async def _control_plane(self, operation: str, body: bytes, send: Send) -> None:
        try:
            params = json.loads(body or b"{}")
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self.executor, self.service.handle, operation, params)
            status, payload = 200, protocol.json_body(result)
        except json.JSONDecodeError:
            status, payload = 400, protocol.error_body(_serialization_error())
        except ServiceError as error:
            status, payload = error.status, protocol.error_body(error)
        await _respond(send, status, payload, "application/x-amz-json-1.1")

    async def _invoke(self, endpoint: str, headers: dict[str, str], body: bytes, send: Send) -> None:
        if self.runtime is None:
            error = ServiceError(f"Endpoint {endpoint} of account {ACCOUNT_ID} not found.")
            error.code = "ValidationError"
            await _respond(send, 400, protocol.error_body(error), "application/json")
            return
        status, payload, response_headers = await self.runtime.invoke(endpoint, headers, body)
        await _respond(
            send, status, payload, response_headers.pop("content-type", "application/json"), response_headers
        )

    def _health(self) -> dict[str, Any]:
        return {
            "service": "sagemaker-local",
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
                if self.runtime is not None:
                    await self.runtime.close()
                await asyncio.get_running_loop().run_in_executor(None, self.service.shutdown)
                await send({"type": "lifespan.shutdown.complete"})
                return


def _headers(scope: Scope) -> dict[str, str]:
    """Lower-case header names; a repeated header's values joined with ',' (as SigV4 signs them)."""
    headers: dict[str, str] = {}
    for key, value in scope["headers"]:
        name, text = key.decode("latin-1").lower(), value.decode("latin-1")
        headers[name] = f"{headers[name]},{text}" if name in headers else text
    return headers


async def _refuse(send: Send, refusal: Refusal) -> None:
    await _respond(send, refusal.status, refusal.body, refusal.content_type, refusal.headers)


def _signing_service(authorization: str) -> str | None:
    match = _SCOPE.search(authorization)
    return match.group(1) if match else None


def _serialization_error() -> ServiceError:
    error = ServiceError("The request body is not valid JSON.")
    error.code = "SerializationException"
    return error


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


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
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
