"""Runs the front door in the foreground (``python -m helpers.local serve``)."""

from __future__ import annotations

import logging

import uvicorn

from . import moto_backends
from .access import AccessGuard
from .config import HOST, ServiceConfig
from .credentials import ensure_private_folder
from .gateway import Gateway
from .service import Service
from .signature import SignatureVerifier


def serve(config: ServiceConfig) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ensure_private_folder(config.state_dir)
    guard = AccessGuard(SignatureVerifier(config.credentials()))
    moto_backends.open_state(config.state_dir)
    service = Service(config)
    moto_backends.ensure_execution_role()
    app = Gateway(service, guard, runtime=service.router)
    uvicorn_config = uvicorn.Config(
        app,
        host=HOST,
        port=config.port,
        http="httptools",
        loop="asyncio",
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    logging.getLogger("helpers.local").info(
        "SageMaker local service on %s (state in %s)", config.url, config.state_dir
    )
    uvicorn.Server(uvicorn_config).run()
