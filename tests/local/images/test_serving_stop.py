"""How a toolkit model server ends on SIGTERM: at once when idle, after its answer when busy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from helpers.local.containers.model_client import ModelAddress, ModelConnection
from helpers.local.containers.runner import free_port
from helpers.local.images.toolkit.serving import INVOCATION_TOKEN_ENV
from tests.service_helpers import wait_until_pinging

_SERVER = textwrap.dedent(
    """
    import time
    from helpers.local.images.toolkit import serving

    def handler(body, content_type, accept):
        if body == b"slow":
            time.sleep(1.5)
        return b"answer for " + body, "text/plain"

    serving.serve(handler, port=PORT)
    """
)


@pytest.fixture
def server():
    port = free_port()
    address = ModelAddress(port, "token")
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER.replace("PORT", str(port))],
        env={**os.environ, INVOCATION_TOKEN_ENV: "token"},
    )
    connection = ModelConnection(address)
    wait_until_pinging(connection, proc)
    yield proc, connection
    proc.kill()
    proc.wait()


def test_an_idle_model_server_ends_at_once_and_cleanly(server):
    proc, connection = server
    assert connection.invoke(b"fast", "text/plain", None).body == b"answer for fast"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0  # uvicorn's own stop re-raises SIGTERM: it would read -15


def test_a_busy_model_server_answers_before_it_ends(server):
    proc, connection = server
    answers = []
    request = threading.Thread(target=lambda: answers.append(connection.invoke(b"slow", "text/plain", None)))
    request.start()
    time.sleep(0.5)  # the request is being answered
    proc.send_signal(signal.SIGTERM)
    request.join(timeout=30)
    assert answers and answers[0].status == 200 and answers[0].body == b"answer for slow"
    proc.wait(timeout=10)
