"""The processes behind an endpoint: per production variant, ``InitialInstanceCount`` model servers.

A ``Fleet`` is one deployment of one endpoint config. UpdateEndpoint builds a new fleet next to
the old one and the router switches between them atomically, so no request meets a half-built
deployment. A monitor replaces any model server that dies while its fleet is serving.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.local.containers.images import image_module
from helpers.local.containers.logs import LogSink
from helpers.local.containers.model_data import unpack_model, unpack_source
from helpers.local.containers.runner import ModelServer, ModelServerError
from helpers.local.core.paths import child, remove_tree
from helpers.local.images.toolkit.framework_version import IMAGE_URI_ENV


class FleetError(Exception):
    """The fleet could not become healthy; the message becomes the endpoint's FailureReason."""


@dataclass
class Instance:
    server: ModelServer
    instance_id: str
    unreachable: bool = False  # set by the router when a connection fails; the monitor replaces it

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def alive(self) -> bool:
        return self.server.container.running


@dataclass
class Variant:
    name: str
    model_name: str
    image: str
    module: str
    model_data_url: str | None
    ml_root: Path
    environment: dict[str, str]
    weight: float
    desired_count: int = 1
    instances: list[Instance] = field(default_factory=list)
    _turn: itertools.count = field(default_factory=itertools.count)

    def serving(self) -> list[Instance]:
        return [i for i in self.instances if not i.unreachable]

    def pick_instance(self) -> Instance | None:
        # Round-robin over the instances currently serving (the list is replaced, never mutated).
        serving = self.serving()
        return serving[next(self._turn) % len(serving)] if serving else None


class Fleet:
    def __init__(
        self,
        endpoint: str,
        config: dict[str, Any],
        models: dict[str, dict[str, Any]],
        root: Path,
        region: str,
    ):
        self.endpoint = endpoint
        self.config_name = config["EndpointConfigName"]
        self.region = region
        self.deployment = uuid.uuid4().hex[:8]
        self.endpoint_root = root
        self.root = root / self.deployment
        self.in_flight = 0  # changed only on the router's event loop
        self.variants: dict[str, Variant] = {}
        for spec in config["ProductionVariants"]:
            model = models[spec["ModelName"]]
            container = model.get("PrimaryContainer") or model["Containers"][0]
            self.variants[spec["VariantName"]] = Variant(
                name=spec["VariantName"],
                model_name=spec["ModelName"],
                image=container["Image"],
                module=image_module(container["Image"]),
                model_data_url=container.get("ModelDataUrl"),
                ml_root=child(self.root, spec["VariantName"]),
                environment=dict(container.get("Environment", {})),
                weight=float(spec.get("InitialVariantWeight", 1.0)),
                desired_count=int(spec.get("InitialInstanceCount", 1)),
            )
        self._lock = threading.Lock()

    def start(self, counts: dict[str, int] | None = None, model_dirs: dict[str, Path] | None = None) -> None:
        """Unpack each variant's model and start all its instances in parallel; raise FleetError."""
        try:
            for name, variant in self.variants.items():
                variant.desired_count = (counts or {}).get(name, variant.desired_count)
                if model_dirs and name in model_dirs and model_dirs[name].exists():
                    variant.ml_root = model_dirs[name].parent
                else:
                    unpack_model(variant.model_data_url, variant.ml_root / "model")
                variant.environment = unpack_source(variant.environment, variant.ml_root)
            total = sum(v.desired_count for v in self.variants.values())
            with ThreadPoolExecutor(max_workers=max(1, total)) as pool:
                started = [
                    pool.submit(self._start_instance, v)
                    for v in self.variants.values()
                    for _ in range(v.desired_count)
                ]
                for future in started:
                    future.result()
        except Exception as exc:
            self.stop()
            self.remove_files()  # a fleet that never served leaves nothing behind
            message = exc.args[0] if exc.args else repr(exc)
            raise FleetError(f"{message}") from exc

    def _start_instance(self, variant: Variant) -> Instance:
        instance_id = f"i-{uuid.uuid4().hex[:17]}"
        sink = LogSink(
            self.region, f"/aws/sagemaker/Endpoints/{self.endpoint}", f"{variant.name}/{instance_id}"
        )
        environment = {**variant.environment, IMAGE_URI_ENV: variant.image}
        server = ModelServer(variant.module, variant.ml_root, sink.write, environment)
        try:
            server.wait_until_healthy()
        except ModelServerError as exc:
            server.stop()
            raise FleetError(
                f"The model server for variant {variant.name} failed its health check: {exc}"
            ) from exc
        instance = Instance(server, instance_id)
        with self._lock:
            variant.instances = [*variant.instances, instance]  # copy-on-write: the router reads lock-free
        return instance

    def scale(self, variant_name: str, count: int) -> None:
        variant = self.variants[variant_name]
        variant.desired_count = count
        while len(variant.instances) < count:
            self._start_instance(variant)
        while len(variant.instances) > count:
            with self._lock:
                gone, variant.instances = variant.instances[-1], variant.instances[:-1]
            gone.server.stop()

    def replace_dead_instances(self) -> int:
        """Replace every server that died or stopped answering; returns how many were started."""
        replaced = 0
        for variant in self.variants.values():
            for instance in list(variant.instances):
                if instance.alive and not instance.unreachable:
                    continue
                with self._lock:
                    variant.instances = [i for i in variant.instances if i is not instance]
                instance.server.stop()  # reaps the process
            while len(variant.instances) < variant.desired_count:
                try:
                    self._start_instance(variant)
                except FleetError:
                    break  # tried again on the next round
                replaced += 1
        return replaced

    def model_dirs(self) -> dict[str, str]:
        return {name: str(v.ml_root / "model") for name, v in self.variants.items()}

    def stop(self) -> None:
        for variant in self.variants.values():
            for instance in variant.instances:
                instance.server.stop()
            variant.instances = []

    def remove_files(self) -> None:
        # A fleet restored after a restart serves from the folder of the deployment it replaced.
        for root in {self.root, *(v.ml_root.parent for v in self.variants.values())}:
            remove_tree(root, self.endpoint_root)
