"""The service's client for the model server contract, against a real model server process."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from helpers.local.containers.model_client import (
    ModelAddress,
    ModelConnection,
    ModelSession,
    ModelTimeout,
    ModelUnreachable,
)
from helpers.local.containers.runner import free_port
from helpers.local.images.toolkit.serving import INVOCATION_TOKEN_ENV
from tests.service_helpers import wait_until_pinging

# A model server on the real toolkit whose handler echoes what reached it: the headers the
# container sees are the contract under test. "sleep" makes it slower than any test timeout.
_ECHO_SERVER = textwrap.dedent(
    """
    import json, time
    from helpers.local.images.toolkit import serving

    def handler(body, content_type, accept):
        if body == b"sleep":
            time.sleep(5)
        return json.dumps({"content_type": content_type, "accept": accept}).encode(), "application/json"

    seen = []

    class Echo(serving.ModelServerApp):
        # Also says which header names the last /invocations request carried.

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http" and scope["path"] == "/invocations":
                seen[:] = sorted(k.decode() for k, _ in scope["headers"])
            if scope["type"] == "http" and scope["path"] == "/seen-headers":
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": json.dumps(seen).encode()})
                return
            await super().__call__(scope, receive, send)

    import uvicorn
    uvicorn.run(Echo(handler, offload_bytes=0), host="127.0.0.1", port=PORT, log_level="warning")
    """
)


@pytest.fixture(scope="module")
def address() -> Iterator[ModelAddress]:
    port = free_port()
    address = ModelAddress(port, "secret-token")
    proc = subprocess.Popen(
        [sys.executable, "-c", _ECHO_SERVER.replace("PORT", str(port))],
        env={**os.environ, INVOCATION_TOKEN_ENV: address.token},
    )
    try:
        wait_until_pinging(ModelConnection(address), proc)
        yield address
    finally:
        proc.terminate()
        proc.wait()


_CALLER_HEADERS = {
    "content-type": "text/csv",
    "accept": "application/json",
    "x-amzn-sagemaker-custom-attributes": "trace=1",
    "authorization": "AWS4-HMAC-SHA256 Credential=...",
    "x-amzn-sagemaker-target-variant": "A",
}


def test_the_model_gets_the_invoke_headers_and_the_token_but_not_the_callers_credentials(address):
    answer = ModelConnection(address).invoke(b"1,2", _CALLER_HEADERS)
    assert answer.status == 200 and not answer.failed
    assert json.loads(answer.body) == {"content_type": "text/csv", "accept": "application/json"}
    assert answer.content_type == "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", address.port, timeout=10)
    conn.request("GET", "/seen-headers")
    seen = set(json.loads(conn.getresponse().read()))
    conn.close()
    forwarded = {"content-type", "accept", "x-amzn-sagemaker-custom-attributes", "x-sagemaker-local-token"}
    assert forwarded <= seen
    assert not seen & {"authorization", "x-amzn-sagemaker-target-variant"}


def test_both_faces_answer_alike(address):
    async def invoke_async():
        session = ModelSession()
        try:
            return await session.invoke(address, b"1,2", _CALLER_HEADERS)
        finally:
            await session.close()

    assert asyncio.run(invoke_async()) == ModelConnection(address).invoke(b"1,2", _CALLER_HEADERS)


def test_a_model_answer_without_the_token_is_refused(address):
    stranger = ModelConnection(ModelAddress(address.port, "wrong-token"))
    answer = stranger.invoke(b"1,2", _CALLER_HEADERS)
    assert answer.failed and answer.status == 403


def test_a_slow_model_is_a_timeout_and_a_closed_port_is_unreachable(address):
    with pytest.raises(ModelTimeout):
        ModelConnection(address).invoke(b"sleep", _CALLER_HEADERS, timeout=0.3)

    async def invoke_slow():
        session = ModelSession(timeout=0.3)
        try:
            await session.invoke(address, b"sleep", _CALLER_HEADERS)
        finally:
            await session.close()

    with pytest.raises(ModelTimeout):
        asyncio.run(invoke_slow())
    gone = ModelAddress(free_port(), "t")
    with pytest.raises(ModelUnreachable):
        ModelConnection(gone).invoke(b"1,2", _CALLER_HEADERS)

    async def invoke_gone():
        session = ModelSession()
        try:
            await session.invoke(gone, b"1,2", _CALLER_HEADERS)
        finally:
            await session.close()

    with pytest.raises(ModelUnreachable):
        asyncio.run(invoke_gone())
