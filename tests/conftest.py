"""Fixtures: one local service per test session, on a free port with a throw-away state folder."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from helpers.local import control
from helpers.local.core.config import ServiceConfig, client_environment, load_config

from .shapes import validate_every_response


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def service(tmp_path_factory) -> Iterator[ServiceConfig]:
    """The running service; its settings are exported so notebooks' kernels reach the same one."""
    config = load_config(free_port(), tmp_path_factory.mktemp("service-state"))
    saved = dict(os.environ)
    os.environ["SAGEMAKER_LOCAL_PORT"] = str(config.port)
    os.environ["SAGEMAKER_LOCAL_STATE_DIR"] = str(config.state_dir)
    os.environ["SAGEMAKER_COURSE_MODE"] = "local"
    # The IMDB lessons use the small bundled corpus in tests: no download, stable stored outputs.
    os.environ["IMDB_SOURCE"] = "fallback"
    os.environ.update(client_environment(config))
    control.start(config)
    yield config
    control.stop(config)
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def boto(service) -> boto3.Session:
    session = boto3.Session(region_name=service.region)
    validate_every_response(session)
    return session


@pytest.fixture(scope="session")
def sm(boto):
    return boto.client("sagemaker")


@pytest.fixture(scope="session")
def s3(boto):
    return boto.client("s3")


@pytest.fixture(scope="session")
def bucket(s3) -> str:
    name = "course-tests"
    s3.create_bucket(Bucket=name)
    return name


def _endpoint_names(sm) -> set[str]:
    paginator = sm.get_paginator("list_endpoints")
    return {e["EndpointName"] for page in paginator.paginate() for e in page["Endpoints"]}


@contextlib.contextmanager
def _endpoints_deleted_after(request) -> Iterator[None]:
    """Delete the endpoints created meanwhile: each holds instance quota later tests and lessons need."""
    sm = request.getfixturevalue("sm")
    before = _endpoint_names(sm)
    yield
    for name in _endpoint_names(sm) - before:
        with contextlib.suppress(ClientError):
            sm.delete_endpoint(EndpointName=name)


@pytest.fixture(scope="module", autouse=True)
def _module_leaves_no_endpoint(request) -> Iterator[None]:
    items = [item for item in request.session.items if item.module is request.module]
    if not any("service" in item.fixturenames for item in items):
        yield
        return
    with _endpoints_deleted_after(request):
        yield


@pytest.fixture(autouse=True)
def _test_leaves_no_endpoint(request) -> Iterator[None]:
    if "service" not in request.fixturenames:
        yield
        return
    with _endpoints_deleted_after(request):
        yield
