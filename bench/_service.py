"""A throw-away local service for a benchmark: free port, temporary state folder, stopped at the end."""

from __future__ import annotations

import socket
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.local import control  # noqa: E402
from helpers.local.core.config import ServiceConfig, load_config  # noqa: E402
from tests.service_helpers import session_for, signed_headers  # noqa: E402,F401 (re-exported for the benches)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_service() -> Iterator[tuple[ServiceConfig, boto3.Session]]:
    with tempfile.TemporaryDirectory() as state:
        config = load_config(free_port(), state)
        control.start(config)
        session = session_for(config)
        try:
            yield config, session
        finally:
            control.stop(config)


def percentiles(samples: list[float]) -> str:
    """p50 / p99 of seconds, in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:.3f} ms, p99 {p99 * 1000:.3f} ms"
