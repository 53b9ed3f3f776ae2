"""Runs the service process in the foreground (``python -m helpers.local serve``).

One process: the gateway on uvicorn, answering SageMaker through the control plane
(``api/service.py``) and S3, IAM, STS and CloudWatch Logs through moto's backends. ``control.py``
starts this process in the background and stops it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
from typing import IO

import uvicorn

from helpers.local.api.service import Service
from helpers.local.aws import backends as moto_backends
from helpers.local.core.config import HOST, ServiceConfig
from helpers.local.core.credentials import ensure_private_folder
from helpers.local.gateway.access import AccessGuard
from helpers.local.gateway.app import Gateway
from helpers.local.gateway.signature import SignatureVerifier


def hold_state_folder(config: ServiceConfig) -> IO[str] | None:
    """Lock the state folder for this process's life; None if another service holds it.

    Two services on one folder would each restore, sweep and fail the other's jobs and objects.
    The kernel drops the lock when the process ends, however it ends.
    """
    handle = (config.state_dir / "service.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        logging.getLogger("helpers.local").error(
            "The state folder %s is in use by another local SageMaker service (%s): stop that one first, "
            "or give this one another --state-dir.",
            config.state_dir,
            holder,
        )
        return None
    handle.truncate(0)
    handle.write(f"pid {os.getpid()}, port {config.port}\n")
    handle.flush()
    return handle


def serve(config: ServiceConfig) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ensure_private_folder(config.state_dir)
    lock = hold_state_folder(config)
    if lock is None:
        sys.exit(1)
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
