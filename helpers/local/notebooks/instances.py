"""Notebook instance lifecycles: Pending → InService → Stopping → Stopped, Failed, Deleting.

Each instance has a folder in the state folder: ``SageMaker/`` is its volume (what
``/home/ec2-user/SageMaker`` holds on AWS: it outlives Stop and Start, Delete removes it) and
``jupyter/`` the server's settings and the lifecycle scripts. Creating clones the instance's
repositories and runs OnCreate once; every start runs OnStart and then a JupyterLab server on the
volume. Setup runs on a background thread, one change at a time per instance.

An instance enters InService in ``_enter_in_service`` and leaves it in ``_leave_in_service`` only,
so whatever follows an instance's time in service (its cost) has one place to hook into.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.local.containers.logs import LogSink
from helpers.local.containers.processes import ServiceStopping
from helpers.local.core.config import client_environment
from helpers.local.core.paths import child, remove_tree
from helpers.local.core.pricing import NOTEBOOK
from helpers.local.notebooks.jupyter import JupyterServer, JupyterServerError
from helpers.local.notebooks.lifecycle_scripts import LOG_GROUP, LifecycleScriptFailed, run_hook
from helpers.local.notebooks.repositories import CloneFailed, clone, resolve

log = logging.getLogger("helpers.local.notebooks")
NOTEBOOK_INSTANCE = "NotebookInstance"
LIFECYCLE_CONFIG = "NotebookInstanceLifecycleConfig"
STATUS = "NotebookInstanceStatus"
MONITOR_INTERVAL_SECONDS = 1.0
USER_AWS_SETTINGS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


class NotebookInstanceManager:
    """The notebook instances' servers and the background work that changes their status."""

    def __init__(self, service):
        self.service = service
        self.store = service.store
        self.region: str = service.region
        self.root: Path = service.config.work_dir / "notebook-instances"
        self._servers: dict[str, JupyterServer] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._monitor = threading.Thread(target=self._watch, name="notebook-instance-monitor", daemon=True)
        self._monitor.start()

    # -- folders ---------------------------------------------------------------------------------

    def folder(self, name: str) -> Path:
        return child(self.root, name)

    def volume(self, name: str) -> Path:
        """The instance's ``/home/ec2-user/SageMaker``."""
        return self.folder(name) / "SageMaker"

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    # -- status changes --------------------------------------------------------------------------

    def transition(
        self, name: str, allowed: tuple[str, ...], status: str, extra: Callable[[dict], None] | None = None
    ) -> str | None:
        """Move the instance to ``status`` if its status is one of ``allowed``, in one store update.

        Returns the status it had (None if there is no such instance); nothing changes when that
        status is not allowed.
        """
        before: list[str] = []

        def change(doc: dict[str, Any]) -> None:
            before.append(doc[STATUS])
            if doc[STATUS] not in allowed:
                return
            doc[STATUS] = status
            doc["LastModifiedTime"] = time.time()
            if status != "Failed":
                doc.pop("FailureReason", None)
            if extra is not None:
                extra(doc)

        self.store.update(NOTEBOOK_INSTANCE, name, change)
        return before[0] if before else None

    def _enter_in_service(self, name: str, server: JupyterServer) -> bool:
        """Pending → InService with ``server`` answering; False (server stopped) if it is no longer wanted."""
        with self._guard:
            self._servers[name] = server
        if self.transition(name, ("Pending",), "InService") == "Pending":
            self.store.update_record(NOTEBOOK_INSTANCE, name, lambda r: r.pop("Resume", None))
            self._bill_from_now(name)
            return True
        with self._guard:
            self._servers.pop(name, None)
        server.stop()
        return False

    def _leave_in_service(
        self, name: str, status: str, reason: str | None = None
    ) -> tuple[str | None, JupyterServer | None]:
        """InService → ``status`` (Stopping, Failed, or Pending when the service stops).

        Returns the status the instance had and, if it was InService, its server for the caller to stop.
        """
        extra = (lambda doc: doc.update(FailureReason=reason)) if reason else None
        before = self.transition(name, ("InService",), status, extra)
        with self._guard:
            server = self._servers.pop(name, None) if before == "InService" else None
        if before == "InService" and status != "Pending":
            # Pending here means the service is stopping: the instance resumes at its next start,
            # as one that AWS would have kept running (and billing), so its interval stays open.
            self._end_billing(name)
        return before, server

    def _fail(self, name: str, reason: str) -> None:
        log.warning("Notebook instance %s failed: %s", name, reason)
        if (
            self.transition(name, ("Pending",), "Failed", lambda doc: doc.update(FailureReason=reason))
            == "Pending"
        ):
            self._end_billing(name)  # a resume that failed ends the time in service it carried on

    # -- what it would cost on AWS: the instance-hours while InService ---------------------------

    def _bill_from_now(self, name: str) -> None:
        doc = self.store.get(NOTEBOOK_INSTANCE, name)
        if doc is None:
            return
        arn = doc["NotebookInstanceArn"]
        if not self.service.usage.open_intervals(arn):  # a resume after a restart goes on billing
            self.service.usage.open_interval(arn, name, NOTEBOOK_INSTANCE, NOTEBOOK, doc["InstanceType"], 1)

    def _end_billing(self, name: str) -> None:
        doc = self.store.get(NOTEBOOK_INSTANCE, name)
        if doc:
            self.service.usage.close_intervals(doc["NotebookInstanceArn"])

    def server(self, name: str) -> JupyterServer | None:
        with self._guard:
            return self._servers.get(name)

    # -- the work behind each API call -----------------------------------------------------------

    def create(self, name: str) -> None:
        """Set up a new (Pending) instance and start it, on a background thread."""
        self.service.runs.background(f"create-notebook-instance-{name}", lambda: self._bring_up(name))

    def start(self, name: str) -> None:
        """Start a Stopped or Failed instance that the API has just made Pending."""
        self.service.runs.background(f"start-notebook-instance-{name}", lambda: self._bring_up(name))

    def stop(self, name: str) -> str | None:
        """InService → Stopping now, then the server stopped and Stopped on a background thread.

        Returns the status the instance had: nothing changes unless it was InService.
        """
        before, server = self._leave_in_service(name, "Stopping")
        if before != "InService":
            return before

        def work() -> None:
            with self._lock(name):
                if server is not None:
                    server.stop()
                self.transition(name, ("Stopping",), "Stopped")

        self.service.runs.background(f"stop-notebook-instance-{name}", work)
        return before

    def delete(self, name: str) -> None:
        """Remove a Deleting instance's folder, then the instance."""

        def work() -> None:
            with self._lock(name):
                folder = self.folder(name)
                if folder.exists():
                    remove_tree(folder, self.root)
                self.store.delete(NOTEBOOK_INSTANCE, name)

        self.service.runs.background(f"delete-notebook-instance-{name}", work)

    # -- bringing an instance up -----------------------------------------------------------------

    def _bring_up(self, name: str, run_on_start: bool = True) -> None:
        with self._lock(name):
            try:
                self._set_up_and_serve(name, run_on_start)
            except ServiceStopping:
                return  # the service is going down: the instance stays Pending and comes back with it
            except (CloneFailed, LifecycleScriptFailed, JupyterServerError) as exc:
                if not self.service.stopping.is_set():  # else its process was stopped with the service
                    self._fail(name, str(exc))
            except Exception as exc:  # a bug: the instance must not stay Pending for ever
                log.exception("notebook instance %s could not start", name)
                self._fail(name, f"InternalServerError: the notebook instance could not start: {exc!r}")

    def _set_up_and_serve(self, name: str, run_on_start: bool) -> None:
        doc = self.store.get(NOTEBOOK_INSTANCE, name)
        if doc is None or doc[STATUS] != "Pending":
            return
        record = self.store.get_record(NOTEBOOK_INSTANCE, name) or {}
        volume, settings = self.volume(name), self.folder(name) / "jupyter"
        config = self._lifecycle_config(doc)
        if not record.get("Created"):
            run_on_start = True
            # A first start, or one after a creation that failed: set up the volume from scratch.
            if volume.exists():
                remove_tree(volume, self.root)
            volume.mkdir(parents=True)
            for repository in _repositories(doc):
                url, branch = resolve(self.store, repository)
                clone(url, volume, branch)
            if config is not None:
                self._run_hook(doc, config, "OnCreate", volume, settings)
            self.store.update_record(NOTEBOOK_INSTANCE, name, lambda r: r.update(Created=True))
        if config is not None and run_on_start:
            self._run_hook(doc, config, "OnStart", volume, settings)
        self._enter_in_service(name, self._serve(name))

    def _serve(self, name: str) -> JupyterServer:
        """A Jupyter server on the instance's volume, answering; its output in ``<name>/jupyter.log``."""
        sink = LogSink(self.region, LOG_GROUP, f"{name}/jupyter.log")
        server = JupyterServer(
            self.volume(name), self.folder(name) / "jupyter", self._environment(), sink.write
        )
        try:
            server.wait_until_ready()
        finally:
            sink.flush()
        return server

    # -- a server that stops on its own (File > Shut Down in JupyterLab, a crash) -----------------

    def _watch(self) -> None:
        while not self.service.stopping.wait(MONITOR_INTERVAL_SECONDS):
            with self._guard:
                servers = dict(self._servers)
            for name, server in servers.items():
                if server.running:
                    continue
                lock = self._lock(name)
                if not lock.acquire(blocking=False):
                    continue  # a Stop is under way: it owns the server
                try:
                    self._replace_server(name, server)
                finally:
                    lock.release()

    def _replace_server(self, name: str, dead: JupyterServer) -> None:
        """Start the instance's Jupyter server again, as SageMaker restarts it on the instance."""
        dead.stop()  # reaped, out of the ledger
        with self._guard:
            if self._servers.get(name) is not dead:
                return
        log.warning("Notebook instance %s: its Jupyter server stopped; starting it again", name)
        try:
            server = self._serve(name)
        except (JupyterServerError, ServiceStopping) as exc:
            if not self.service.stopping.is_set():
                reason = (
                    f"The notebook instance's Jupyter server stopped and could not be started again: {exc}"
                )
                self._leave_in_service(name, "Failed", reason)
            return
        with self._guard:
            if self._servers.get(name) is dead:
                self._servers[name] = server
                return
        server.stop()  # the instance was stopped meanwhile

    def _lifecycle_config(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        name = doc.get("NotebookInstanceLifecycleConfigName")
        if not name:
            return None
        config = self.store.get(LIFECYCLE_CONFIG, name)
        if config is None:
            raise LifecycleScriptFailed(
                f"The notebook instance's lifecycle configuration {name} does not exist any more: attach "
                "another one (UpdateNotebookInstance) or none, then start the instance again."
            )
        return config

    def _run_hook(
        self, doc: dict[str, Any], config: dict[str, Any], hook: str, volume: Path, settings: Path
    ) -> None:
        for script in config.get(hook) or []:
            run_hook(
                hook,
                script["Content"],
                instance=doc["NotebookInstanceName"],
                instance_arn=doc["NotebookInstanceArn"],
                config_arn=config["NotebookInstanceLifecycleConfigArn"],
                volume=volume,
                scripts=settings / "lifecycle",
                environment=self._environment(),
                region=self.region,
            )

    def _environment(self) -> dict[str, str]:
        # What the instance's execution role gives a notebook on AWS: boto3 and the SageMaker SDK in
        # its kernels (and its lifecycle scripts) reach this service without any setting, and no
        # profile or session token of the user's own AWS account comes along.
        inherited = {key: value for key, value in os.environ.items() if key not in USER_AWS_SETTINGS}
        return {**inherited, **client_environment(self.service.config)}

    # -- the service starting and stopping -------------------------------------------------------

    def restore(self) -> None:
        """After a (re)start of the service: bring back what was in service, finish what was under way."""
        for doc in self.store.list(NOTEBOOK_INSTANCE):
            name, status = doc["NotebookInstanceName"], doc[STATUS]
            record = self.store.get_record(NOTEBOOK_INSTANCE, name) or {}
            if status in ("InService", "Pending", "Updating"):
                # An instance in service kept running; only its server went with the service, so
                # OnStart does not run again. A Create or Start that was under way is carried out.
                resume = status == "InService" or bool(record.get("Resume"))
                if status == "InService":  # the service was killed: its time in service ended then
                    self._leave_in_service(name, "Pending")
                else:
                    self.transition(name, (status,), "Pending")
                self.service.runs.background(
                    f"restore-notebook-instance-{name}",
                    lambda n=name, r=resume: self._bring_up(n, run_on_start=not r),
                )
            elif status == "Stopping":
                self.transition(name, ("Stopping",), "Stopped")
            elif status == "Deleting":
                self.delete(name)

    def shutdown(self) -> None:
        """Stop every server; instances in service are brought back at the next start."""
        with self._guard:
            names = list(self._servers)
        for name in names:
            _, server = self._leave_in_service(name, "Pending")
            if server is not None:
                self.store.update_record(NOTEBOOK_INSTANCE, name, lambda r: r.update(Resume=True))
                server.stop()


def _repositories(doc: dict[str, Any]) -> list[str]:
    default = doc.get("DefaultCodeRepository")
    return ([default] if default else []) + list(doc.get("AdditionalCodeRepositories") or [])
