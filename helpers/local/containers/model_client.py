"""The service's side of the model server contract: ``GET /ping`` and ``POST /invocations``.

Known here once: which request headers reach the model (those InvokeEndpoint defines for it), the
per-server token that tells the model server a request comes from the service, how long a model
may take, how long an idle keep-alive connection is trusted, and how a failure is reported
(``ModelUnreachable`` when the server is gone, ``ModelTimeout`` when it is too slow). Two faces
share it: ``ModelConnection`` blocks (batch transform, health checks, on job threads) and
``ModelSession`` awaits (real-time InvokeEndpoint on the gateway's event loop).
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from helpers.local.images.toolkit.serving import INVOCATION_TOKEN_HEADER

# A container must answer an invocation within 60 s (InvokeEndpoint and batch transform alike).
MODEL_TIMEOUT_SECONDS = 60.0
# Hosting expects /ping to answer within 2 s; a slower answer counts as not healthy yet.
PING_TIMEOUT_SECONDS = 2.0
# Idle connections are dropped well before the model server's own 60 s keep-alive ends, so a
# request is never written to a socket the server is closing.
KEEPALIVE_SECONDS = 30.0
# The request headers InvokeEndpoint passes on to the container (lower-case, as received).
FORWARDED_HEADERS = ("content-type", "accept", "x-amzn-sagemaker-custom-attributes")
_CUSTOM_ATTRIBUTES = "x-amzn-sagemaker-custom-attributes"


class ModelUnreachable(ConnectionError):
    """The model server's port did not take the request: the process exited or is restarting."""


class ModelTimeout(TimeoutError):
    """The model server took the request but did not answer in time."""


@dataclass(frozen=True)
class ModelAddress:
    """Where one model server listens, and the token it accepts."""

    port: int
    token: str

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@dataclass(frozen=True)
class ModelAnswer:
    """What the container answered, whatever its status."""

    status: int
    body: bytes
    content_type: str | None = None
    custom_attributes: str | None = None

    @property
    def failed(self) -> bool:
        return self.status >= 400

    @property
    def message(self) -> str:
        """The body as text, for an error report."""
        return self.body.decode(errors="replace").strip()


def invocation_headers(address: ModelAddress, headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of an ``/invocations`` request: the caller's forwarded ones and the server's token.

    ``headers`` has lower-case names; anything else the caller sent stays with the service.
    """
    sent = {name: headers[name] for name in FORWARDED_HEADERS if name in headers}
    sent[INVOCATION_TOKEN_HEADER] = address.token
    return sent


class ModelConnection:
    """Blocking calls to one model server, on one keep-alive connection per calling thread."""

    def __init__(self, address: ModelAddress):
        self.address = address
        self._local = threading.local()

    def ping(self, timeout: float = PING_TIMEOUT_SECONDS) -> bool:
        """True when the server answers ``/ping`` with 200 within ``timeout``."""
        headers = {INVOCATION_TOKEN_HEADER: self.address.token}
        return self._request("GET", "/ping", b"", headers, timeout).status == 200

    def invoke(
        self, body: bytes, headers: Mapping[str, str], timeout: float = MODEL_TIMEOUT_SECONDS
    ) -> ModelAnswer:
        """POST ``body`` to ``/invocations``; ModelUnreachable or ModelTimeout when there is no answer."""
        return self._request("POST", "/invocations", body, invocation_headers(self.address, headers), timeout)

    def _request(
        self, method: str, path: str, body: bytes, headers: dict[str, str], timeout: float
    ) -> ModelAnswer:
        conn = self._connection(timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except TimeoutError as exc:
            self._drop()
            raise ModelTimeout(f"the model server did not answer {path} within {timeout:g} s") from exc
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise ModelUnreachable(
                f"the model server on port {self.address.port} is not answering: {exc}"
            ) from exc
        self._local.last_used = time.monotonic()
        return ModelAnswer(
            response.status, data, response.getheader("content-type"), response.getheader(_CUSTOM_ATTRIBUTES)
        )

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None and time.monotonic() - self._local.last_used > KEEPALIVE_SECONDS:
            self._drop()
            conn = None
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.address.port, timeout=timeout)
            self._local.conn = conn
            self._local.last_used = time.monotonic()
        else:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None


class ModelSession:
    """Asynchronous calls to any model server, on one pooled aiohttp session.

    Made and used on one event loop (the gateway's); ``close`` it on that loop.
    """

    def __init__(self, timeout: float = MODEL_TIMEOUT_SECONDS):
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def invoke(self, address: ModelAddress, body: bytes, headers: Mapping[str, str]) -> ModelAnswer:
        """POST ``body`` to ``/invocations``; ModelUnreachable or ModelTimeout when there is no answer."""
        try:
            async with self._client().post(
                address.url("/invocations"), data=body, headers=invocation_headers(address, headers)
            ) as response:
                data = await response.read()
                return ModelAnswer(
                    response.status,
                    data,
                    response.headers.get("Content-Type"),
                    response.headers.get(_CUSTOM_ATTRIBUTES),
                )
        # Before ClientConnectionError: aiohttp's read timeouts are both.
        except TimeoutError as exc:
            raise ModelTimeout(f"the model server did not answer within {self.timeout:g} s") from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, ConnectionError) as exc:
            # ClientPayloadError: the server went away in the middle of its answer.
            raise ModelUnreachable(
                f"the model server on port {address.port} is not answering: {exc}"
            ) from exc

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                auto_decompress=False,  # the model's bytes go to the caller as they are
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
