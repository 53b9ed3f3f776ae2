"""The SageMaker control plane: dispatches validated requests to the operation handlers.

It lives in the service process (``server.py`` builds it behind the gateway) and owns what the
operations share: the store, the container processes, the endpoints and the job threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from helpers.local.api import load_all
from helpers.local.api.registry import OPERATIONS
from helpers.local.containers.process_ledger import ChildLedger
from helpers.local.containers.processes import PROCESSES
from helpers.local.core import protocol
from helpers.local.core.config import ACCOUNT_ID, ServiceConfig
from helpers.local.core.errors import InternalFailure, ServiceError, UnknownOperation
from helpers.local.core.paths import child, remove_tree
from helpers.local.hosting.deployments import EndpointManager
from helpers.local.hosting.router import Router
from helpers.local.jobs.billing import JobMeter
from helpers.local.jobs.lifecycle import INTERRUPTIBLE, fail_interrupted
from helpers.local.jobs.runs import RunRegistry
from helpers.local.notebooks.instances import NotebookInstanceManager
from helpers.local.store.resources import Store
from helpers.local.store.usage import UsageLedger

log = logging.getLogger("helpers.local")


class Service:
    def __init__(self, config: ServiceConfig):
        load_all()
        self.config = config
        self.region = config.region
        self.store = Store(config.database)
        self.usage = UsageLedger(config.usage_database)  # what the work would cost on AWS
        self.job_meter = JobMeter(self.store, self.usage)
        # Containers a killed service left running go first, before anything new is started.
        self.children = ChildLedger(config.state_dir / "processes")
        self.children.stop_leftovers()
        PROCESSES.track_in(self.children)
        config.work_dir.mkdir(parents=True, exist_ok=True)
        self.runs = RunRegistry(self.job_meter)  # every job run and background task in progress
        self.stopping = threading.Event()
        # Resource families that need to act on start-up (e.g. restart endpoints) register here.
        self.on_shutdown: list[Callable[[], None]] = []
        self._fail_interrupted_jobs()
        self.router = Router(self.region)
        self.endpoints = EndpointManager(self, self.router)
        self.endpoints.restore()
        self.notebook_instances = NotebookInstanceManager(self)
        self.notebook_instances.restore()

    def _fail_interrupted_jobs(self) -> None:
        """End every job still running as Failed: its processes are gone, it cannot finish any more.

        Runs at start-up (after a crash) and at the end of a graceful stop.
        """
        for kind in INTERRUPTIBLE:
            status_key, name_key = f"{kind}Status", f"{kind}Name"
            for doc in self.store.list(kind):
                if doc[status_key] in ("InProgress", "Stopping"):
                    self.store.update(kind, doc[name_key], lambda d, k=kind: fail_interrupted(k, d))
                    self.job_meter.ended(kind, doc[name_key])
                    self._remove_job_files(kind, doc[name_key])

    def _remove_job_files(self, kind: str, name: str) -> None:
        # What the job's run removes when it ends (a tuning job has no folder of its own).
        if kind == "TrainingJob":
            job = child(self.config.work_dir / "training-jobs", name)
            remove_tree(job / "input" / "data", job)
        elif kind == "ProcessingJob":
            job = child(self.config.work_dir / "processing-jobs", name)
            remove_tree(job / "processing", job)
        elif kind == "TransformJob":
            remove_tree(child(self.config.work_dir / "transform-jobs", name), self.config.work_dir)

    def arn(self, resource: str, name: str) -> str:
        # AWS lowercases resource names inside SageMaker ARNs.
        return f"arn:aws:sagemaker:{self.region}:{ACCOUNT_ID}:{resource}/{name.lower()}"

    def handle(self, operation: str, params: dict[str, Any], lesson: str | None = None) -> dict[str, Any]:
        """Answer one operation; ``lesson`` (the caller's app id) is recorded as what a Create made."""
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise UnknownOperation(
                f"The local SageMaker service does not implement {operation} yet; "
                "run this step against AWS instead."
            )
        protocol.validate_request(protocol.operation_model(operation), params)
        try:
            result = handler(self, params)
        except ServiceError:
            raise
        except Exception as exc:  # a bug in the service: say where, keep serving
            log.exception("%s failed", operation)
            raise InternalFailure(f"{operation} failed inside the local service: {exc!r}") from exc
        if lesson and operation.startswith("Create"):
            for key, value in result.items():
                if key.endswith("Arn") and isinstance(value, str):
                    self.usage.attribute(value, lesson)
        return result

    def shutdown(self) -> None:
        self.stopping.set()
        for hook in self.on_shutdown:
            hook()
        self.endpoints.shutdown()
        self.notebook_instances.shutdown()
        PROCESSES.stop_all()
        self.runs.join(timeout=5)
        self._fail_interrupted_jobs()  # whatever a job thread did not end in time
        PROCESSES.track_in(None)
        self.store.close()
        self.usage.close()
