"""A script's inference toolkit error (``status_code``) is answered with its status, as the real
containers do; any other exception is a 500."""

from __future__ import annotations

import asyncio

import pytest

from helpers.local.images.toolkit.serving import ModelServerApp


class ToolkitError(Exception):
    """Shaped like sagemaker_inference.errors.GenericInferenceToolkitError."""

    def __init__(self, status_code: int, message: str, phrase: str | None = None):
        super().__init__(status_code, message, phrase)
        self.status_code, self.message, self.phrase = status_code, message, phrase or message


def invoke(app: ModelServerApp, body: bytes) -> tuple[int, bytes]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "path": "/invocations",
        "method": "POST",
        "headers": [(b"content-type", b"text/plain")],
    }
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], sent[1]["body"]


@pytest.mark.parametrize(
    ("error", "status"), [(ToolkitError(415, "Send text/plain."), 415), (ToolkitError(400, "Empty."), 400)]
)
def test_a_toolkit_error_keeps_its_status_and_message(error, status, monkeypatch):
    monkeypatch.delenv("SAGEMAKER_LOCAL_INVOCATION_TOKEN", raising=False)

    def handler(body, content_type, accept):
        raise error

    assert invoke(ModelServerApp(handler), b"review") == (status, error.message.encode())


def test_other_exceptions_are_a_500(monkeypatch):
    monkeypatch.delenv("SAGEMAKER_LOCAL_INVOCATION_TOKEN", raising=False)

    def handler(body, content_type, accept):
        raise ValueError("boom")

    status, body = invoke(ModelServerApp(handler), b"review")
    assert status == 500 and b"boom" in body
