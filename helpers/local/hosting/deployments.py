"""Endpoint lifecycles: create, blue/green update, rescale, delete, restore after a restart.

Each change runs on a background thread and ends in InService (or Failed / rolled back), the
way AWS reports it. The endpoint's record (kept beside its Describe document in the store) holds
what a restart needs: the config and models the endpoint was built from, and where their unpacked
artifacts are.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from helpers.local.core.errors import JobFailure
from helpers.local.core.paths import UnsafePath, child, remove_tree
from helpers.local.hosting.billing import EndpointMeter
from helpers.local.hosting.fleet import Fleet, FleetError
from helpers.local.hosting.router import Router

log = logging.getLogger("helpers.local.hosting")
ENDPOINT = "Endpoint"
DRAIN_TIMEOUT_SECONDS = 65  # a little over the model time limit
MONITOR_INTERVAL_SECONDS = 0.5
IDLE_CHECK_SECONDS = 5.0  # how often the monitor looks for idle endpoints


def variant_summaries(
    config: dict[str, Any], fleet: Fleet | None, weights: dict[str, float] | None = None
) -> list[dict[str, Any]]:
    """``ProductionVariants`` as DescribeEndpoint shows them."""
    now = time.time()
    summaries = []
    for spec in config["ProductionVariants"]:
        name = spec["VariantName"]
        variant = fleet.variants.get(name) if fleet else None
        weight = variant.weight if variant else float(spec.get("InitialVariantWeight", 1.0))
        count = variant.desired_count if variant else int(spec.get("InitialInstanceCount", 1))
        image = variant.image if variant else None
        summary: dict[str, Any] = {
            "VariantName": name,
            "CurrentWeight": weight,
            "DesiredWeight": (weights or {}).get(name, weight),
            "CurrentInstanceCount": count,
            "DesiredInstanceCount": count,
        }
        if image:
            summary["DeployedImages"] = [
                {"SpecifiedImage": image, "ResolvedImage": image, "ResolutionTime": now}
            ]
        summaries.append(summary)
    return summaries


class EndpointManager:
    def __init__(self, service, router: Router):
        self.service = service
        self.store = service.store
        self.router = router
        self.root: Path = service.config.work_dir / "endpoints"
        self.meter = EndpointMeter(service.usage, service.region)  # the endpoints' cost on AWS
        self._locks: dict[str, threading.Lock] = {}
        self._monitor = threading.Thread(target=self._watch, name="endpoint-monitor", daemon=True)
        self._monitor.start()

    def _lock(self, endpoint: str) -> threading.Lock:
        return self._locks.setdefault(endpoint, threading.Lock())

    def _set(self, endpoint: str, **fields: Any) -> None:
        def change(doc: dict[str, Any]) -> None:
            if doc["EndpointStatus"] == "Deleting":
                return  # DeleteEndpoint came in while this change ran; the endpoint is on its way out
            doc.update(fields)
            doc["LastModifiedTime"] = time.time()
            if fields.get("EndpointStatus") == "InService" and "FailureReason" not in fields:
                doc.pop("FailureReason", None)

        doc = self.store.update(ENDPOINT, endpoint, change)
        if doc is not None and "EndpointStatus" in fields:
            record = self.store.get_record(ENDPOINT, endpoint)
            self.meter.reconcile(doc, record["EndpointConfig"] if record else None)

    def _build(
        self,
        endpoint: str,
        config: dict[str, Any],
        models: dict[str, dict[str, Any]],
        counts: dict[str, int] | None = None,
        weights: dict[str, float] | None = None,
        model_dirs: dict[str, Path] | None = None,
    ) -> Fleet:
        try:
            fleet = Fleet(endpoint, config, models, child(self.root, endpoint), self.service.region)
        except (UnsafePath, JobFailure) as exc:
            raise FleetError(str(exc)) from exc
        for name, weight in (weights or {}).items():
            if name in fleet.variants:
                fleet.variants[name].weight = weight
        fleet.start(counts, model_dirs)
        return fleet

    def _wanted(self, endpoint: str, fleet: Fleet) -> bool:
        """False (and ``fleet`` stopped) when DeleteEndpoint came in while the fleet was starting."""
        doc = self.store.get(ENDPOINT, endpoint)
        if doc is not None and doc["EndpointStatus"] != "Deleting":
            return True
        fleet.stop()
        fleet.remove_files()
        return False

    def _remember(
        self, endpoint: str, config: dict[str, Any], models: dict[str, dict[str, Any]], fleet: Fleet
    ) -> None:
        record = {"EndpointConfig": config, "Models": models, "ModelDirs": fleet.model_dirs()}
        self.store.put_record(ENDPOINT, endpoint, record)

    # -- lifecycle operations, each on its own thread -------------------------------------------

    def create(self, endpoint: str, config: dict[str, Any], models: dict[str, dict[str, Any]]) -> None:
        def work() -> None:
            with self._lock(endpoint):
                try:
                    fleet = self._build(endpoint, config, models)
                except FleetError as exc:
                    self._set(endpoint, EndpointStatus="Failed", FailureReason=str(exc))
                    self._remove_files(endpoint)  # the endpoint never served: nothing to keep
                    return
                if not self._wanted(endpoint, fleet):
                    return
                self.router.activate(endpoint, fleet)
                self._remember(endpoint, config, models, fleet)
                self._set(
                    endpoint, EndpointStatus="InService", ProductionVariants=variant_summaries(config, fleet)
                )

        self.service.runs.background(f"create-endpoint-{endpoint}", work)

    def update(
        self, endpoint: str, config: dict[str, Any], models: dict[str, dict[str, Any]], retain: bool
    ) -> None:
        def work() -> None:
            with self._lock(endpoint):
                old = self.router.fleets.get(endpoint)
                counts, weights = {}, {}
                if retain and old is not None:
                    for name, variant in old.variants.items():
                        counts[name], weights[name] = variant.desired_count, variant.weight
                try:
                    fleet = self._build(endpoint, config, models, counts, weights)
                except FleetError as exc:
                    # Roll back: the old fleet never stopped serving.
                    self._set(
                        endpoint,
                        EndpointStatus="InService",
                        FailureReason=f"Update failed and was rolled back: {exc}",
                    )
                    return
                if not self._wanted(endpoint, fleet):
                    return
                previous = self.router.activate(endpoint, fleet)
                self._remember(endpoint, config, models, fleet)
                self._set(
                    endpoint,
                    EndpointStatus="InService",
                    EndpointConfigName=config["EndpointConfigName"],
                    ProductionVariants=variant_summaries(config, fleet),
                )
                if previous is not None:
                    self._drain_and_stop(previous)

        self.service.runs.background(f"update-endpoint-{endpoint}", work)

    def update_weights_and_capacities(self, endpoint: str, desired: list[dict[str, Any]]) -> None:
        def work() -> None:
            with self._lock(endpoint):
                fleet = self.router.fleets.get(endpoint)
                deployment = self.store.get_record(ENDPOINT, endpoint)
                if fleet is None or deployment is None:
                    self._set(
                        endpoint, EndpointStatus="Failed", FailureReason="The endpoint has no running fleet."
                    )
                    return
                try:
                    for change in desired:
                        variant = fleet.variants[change["VariantName"]]
                        if "DesiredInstanceCount" in change:
                            fleet.scale(variant.name, int(change["DesiredInstanceCount"]))
                        if "DesiredWeight" in change:
                            variant.weight = float(change["DesiredWeight"])
                except FleetError as exc:
                    self._set(endpoint, EndpointStatus="InService", FailureReason=f"Update failed: {exc}")
                    return
                self._set(
                    endpoint,
                    EndpointStatus="InService",
                    ProductionVariants=variant_summaries(deployment["EndpointConfig"], fleet),
                )

        self.service.runs.background(f"scale-endpoint-{endpoint}", work)

    def delete(self, endpoint: str) -> None:
        serving = self.router.deactivate(endpoint)  # new requests fail from now on

        def work() -> None:
            with self._lock(endpoint):
                # A create or update that was under way has finished by now and may have routed a
                # fleet of its own: that one goes too.
                finished = self.router.deactivate(endpoint)
                for fleet in {id(f): f for f in (serving, finished) if f is not None}.values():
                    self._drain_and_stop(fleet)
                self._forget(endpoint)
                self._remove_files(endpoint)

        self.service.runs.background(f"delete-endpoint-{endpoint}", work)

    def _forget(self, endpoint: str) -> None:
        """Delete the endpoint and its record; its billing ends."""
        doc = self.store.get(ENDPOINT, endpoint)
        if doc is not None:
            self.meter.deleted(doc["EndpointArn"])
        self.store.delete(ENDPOINT, endpoint)  # and its record

    def _remove_files(self, endpoint: str) -> None:
        remove_tree(child(self.root, endpoint), self.root)

    def _drain_and_stop(self, fleet: Fleet) -> None:
        deadline = time.time() + DRAIN_TIMEOUT_SECONDS
        while fleet.in_flight > 0 and time.time() < deadline:
            time.sleep(0.01)
        fleet.stop()
        fleet.remove_files()

    # -- restart and health ---------------------------------------------------------------------

    def restore(self) -> None:
        """Bring back every endpoint that was serving when the service last stopped."""
        for doc in self.store.list(ENDPOINT):
            endpoint, status = doc["EndpointName"], doc["EndpointStatus"]
            deployment = self.store.get_record(ENDPOINT, endpoint)
            if status == "Deleting":
                self._forget(endpoint)
                self._remove_files(endpoint)
            elif deployment is None:
                if status in ("Creating", "Updating"):
                    reason = (
                        "The local service stopped before the endpoint was ready;"
                        " delete it and create it again."
                    )
                    self._set(endpoint, EndpointStatus="Failed", FailureReason=reason)
            elif status != "Failed":
                self._set(endpoint, EndpointStatus="Updating" if status == "InService" else status)
                self._restore_one(endpoint, deployment)

    def _restore_one(self, endpoint: str, deployment: dict[str, Any]) -> None:
        def work() -> None:
            with self._lock(endpoint):
                dirs = {name: Path(path) for name, path in deployment["ModelDirs"].items()}
                try:
                    fleet = self._build(
                        endpoint, deployment["EndpointConfig"], deployment["Models"], model_dirs=dirs
                    )
                except FleetError as exc:
                    self._set(
                        endpoint,
                        EndpointStatus="Failed",
                        FailureReason=f"Could not restart after a service restart: {exc}",
                    )
                    return
                if not self._wanted(endpoint, fleet):
                    return
                self.router.activate(endpoint, fleet)
                self._set(
                    endpoint,
                    EndpointStatus="InService",
                    ProductionVariants=variant_summaries(deployment["EndpointConfig"], fleet),
                )

        self.service.runs.background(f"restore-endpoint-{endpoint}", work)

    def _watch(self) -> None:
        next_idle_check = time.monotonic() + IDLE_CHECK_SECONDS
        while not self.service.stopping.wait(MONITOR_INTERVAL_SECONDS):
            if time.monotonic() >= next_idle_check:
                next_idle_check = time.monotonic() + IDLE_CHECK_SECONDS
                self._warn_idle()
            for endpoint, fleet in list(self.router.fleets.items()):
                lock = self._lock(endpoint)
                if not lock.acquire(blocking=False):
                    continue  # a lifecycle change is under way; it owns the fleet
                try:
                    if self.router.fleets.get(endpoint) is fleet:
                        replaced = fleet.replace_dead_instances()
                        if replaced:
                            log.warning(
                                "endpoint %s: replaced %d model server(s) that stopped", endpoint, replaced
                            )
                finally:
                    lock.release()

    def _warn_idle(self) -> None:
        for doc in self.store.list(ENDPOINT):
            if doc["EndpointStatus"] == "InService":
                endpoint = doc["EndpointName"]
                self.meter.warn_idle(endpoint, doc["EndpointArn"], self.router.last_invoked.get(endpoint))

    def shutdown(self) -> None:
        for endpoint in list(self.router.fleets):
            fleet = self.router.fleets.pop(endpoint)
            fleet.stop()
