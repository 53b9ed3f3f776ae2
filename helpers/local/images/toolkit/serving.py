"""A small, fast model server on the SageMaker inference contract.

One process, one event loop (uvicorn with the httptools parser) bound to 127.0.0.1 on
``SAGEMAKER_BIND_TO_PORT``. It answers

* ``GET /ping`` with 200: the model is loaded before the port opens, so a reachable server is healthy;
* ``GET /execution-parameters`` with what batch transform should use;
* ``POST /invocations`` by calling the image's handler ``(body, content_type, accept) -> (bytes,
  content_type)``; an empty body is 204, and :class:`InvocationError` (or an inference toolkit
  error a script raised, see :func:`toolkit_error_status`) becomes its status and message.

The app is plain ASGI rather than a framework so a one-row request costs tens of microseconds.
Small requests run on the event loop itself (no thread hop); large ones go to a worker thread so
``/ping`` stays responsive while a big batch is predicted.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from helpers.local.images.toolkit.errors import UserError

PORT_ENV = "SAGEMAKER_BIND_TO_PORT"
DEFAULT_PORT = 8080
DEFAULT_ACCEPT_ENV = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"
EXECUTION_PARAMETERS = {"MaxConcurrentTransforms": 1, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}
# Above this many bytes a request is predicted off the event loop.
OFFLOAD_BYTES = 256 * 1024

# The local service gives each model server a secret and sends it with every request, so other
# users of the machine cannot reach the model through its loopback port, bypassing the service.
INVOCATION_TOKEN_ENV = "SAGEMAKER_LOCAL_INVOCATION_TOKEN"
INVOCATION_TOKEN_HEADER = "x-sagemaker-local-token"

InvocationHandler = Callable[[bytes, str, str], tuple[bytes, str]]


class InvocationError(Exception):
    """A request the model cannot answer: 400 bad payload, 406 bad Accept, 415 bad Content-Type."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def toolkit_error_status(exc: BaseException) -> int | None:
    """The status of an inference toolkit error raised by a script, else None.

    A script signals a bad request by raising ``sagemaker_inference.errors.BaseInferenceToolkitError``
    (or its ``GenericInferenceToolkitError``), whose ``status_code`` the real containers answer with;
    any exception carrying an HTTP error status that way is answered alike.
    """
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool) and 400 <= status <= 599:
        return status
    return None


def media_type(header: str | None) -> str:
    """``text/csv; charset=utf-8`` -> ``text/csv``."""
    return (header or "").split(";", 1)[0].strip().lower()


def choose_accept(accept: str | None, supported: Sequence[str], default: str) -> str:
    """The first supported type the client accepts; ``default`` when it names none or ``*/*``."""
    if not accept:
        return default
    for part in accept.split(","):
        wanted = media_type(part)
        if wanted in ("", "*/*"):
            return default
        if wanted in supported:
            return wanted
    raise InvocationError(
        406, f"Accept type {accept} is not supported. Please use one of: {', '.join(supported)}."
    )


def default_accept(image_default: str, supported: Sequence[str]) -> str:
    """The response type for requests without Accept; a model's Environment may override it.

    Checked when the model loads: an unsupported value would otherwise label every default answer
    with a type its body is not in, so the endpoint fails to start and says why instead.
    """
    configured = os.environ.get(DEFAULT_ACCEPT_ENV, "")
    value = media_type(configured)
    if not value:
        return image_default
    if value not in supported:
        raise UserError(
            f"{DEFAULT_ACCEPT_ENV}={configured!r} is not a supported response type. "
            f"Please use one of: {', '.join(supported)}."
        )
    return value


def is_batch() -> bool:
    """True inside a batch transform job (SageMaker sets ``SAGEMAKER_BATCH``)."""
    return os.environ.get("SAGEMAKER_BATCH", "").lower() in ("1", "true", "yes")


_TEXT = b"text/plain; charset=utf-8"
_TOKEN_HEADER_BYTES = INVOCATION_TOKEN_HEADER.encode()


class ModelServerApp:
    """The ASGI application around one invocation handler."""

    def __init__(self, handler: InvocationHandler, offload_bytes: int = OFFLOAD_BYTES):
        self.handler = handler
        self.offload_bytes = offload_bytes
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="invocations")
        self._parameters = json.dumps(EXECUTION_PARAMETERS).encode()
        self._token = os.environ.get(INVOCATION_TOKEN_ENV, "").encode()
        self.in_flight = 0  # requests whose answer is being worked out (the event loop's thread only)

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        # Counted while the answer is worked out; a stop that comes later (the caller has its
        # answer by then: transform jobs and the endpoint router stop only idle servers) ends the
        # process at once.
        self.in_flight += 1
        try:
            status, body, content_type = await self._answer(scope, receive)
        finally:
            self.in_flight -= 1
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: dict[str, Any], receive: Callable) -> tuple[int, bytes, bytes]:
        path, method = scope["path"], scope["method"]
        if path != "/ping" and not self._caller_is_the_service(scope):
            return 403, b"This model server answers the local SageMaker service only.", _TEXT
        if path == "/invocations" and method == "POST":
            return await self._invoke(scope, receive)
        if path == "/ping" and method in ("GET", "HEAD"):
            return 200, b"", _TEXT
        if path == "/execution-parameters" and method == "GET":
            return 200, self._parameters, b"application/json"
        return 404, f"No route for {method} {path}".encode(), _TEXT

    def _caller_is_the_service(self, scope: dict[str, Any]) -> bool:
        if not self._token:
            return True  # started by hand, outside the service
        for name, value in scope["headers"]:
            if name == _TOKEN_HEADER_BYTES:
                return hmac.compare_digest(value, self._token)
        return False

    async def _invoke(self, scope: dict[str, Any], receive: Callable) -> tuple[int, bytes, bytes]:
        payload = await _read_body(receive)
        if not payload:
            return 204, b"", _TEXT
        content_type = accept = ""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"accept":
                accept = value.decode("latin-1")
        try:
            if len(payload) > self.offload_bytes:
                loop = asyncio.get_running_loop()
                answer, answer_type = await loop.run_in_executor(
                    self._executor, self.handler, payload, content_type, accept
                )
            else:
                answer, answer_type = self.handler(payload, content_type, accept)
        except InvocationError as exc:
            return exc.status, exc.message.encode(), _TEXT
        except Exception as exc:
            traceback.print_exc(file=sys.stdout)
            status = toolkit_error_status(exc)
            if status is not None:
                return status, str(getattr(exc, "message", None) or exc).encode(), _TEXT
            return 500, f"Unable to evaluate payload provided: {exc}".encode(), _TEXT
        return 200, answer, answer_type.encode()


async def _read_body(receive: Callable) -> bytes:
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body"):
        return body
    chunks = [body]
    while message.get("more_body"):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


def serve(handler: InvocationHandler, port: int | None = None) -> None:
    """Serve ``handler`` on 127.0.0.1 until SIGTERM/SIGINT."""
    import gc

    import uvicorn

    # The model is loaded: keep the collector from rescanning it during requests.
    gc.collect()
    gc.freeze()
    port = port or int(os.environ.get(PORT_ENV, DEFAULT_PORT))
    print(f"Model server listening on 127.0.0.1:{port}", flush=True)
    app = ModelServerApp(handler)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http="httptools",
        loop="asyncio",
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=False,
        timeout_keep_alive=60,
    )
    _stopping_when_idle(uvicorn.Server)(config, app).run()


def _stopping_when_idle(server_class: type) -> type:
    """``server_class`` (uvicorn's Server), except that SIGTERM with no request in flight exits at once.

    uvicorn notices a stop only on its next 0.1 s tick and then closes each connection in turn, so
    a batch transform job or a replaced endpoint fleet waited ~0.2 s for a server that had nothing
    left to answer. A request being answered still gets uvicorn's graceful stop.
    """

    class StoppingWhenIdle(server_class):
        def __init__(self, config: Any, app: ModelServerApp):
            super().__init__(config)
            self.app = app

        def handle_exit(self, sig: int, frame: Any) -> None:
            if self.app.in_flight == 0:
                sys.stdout.flush()
                os._exit(0)
            super().handle_exit(sig, frame)

    return StoppingWhenIdle
