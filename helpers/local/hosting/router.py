"""InvokeEndpoint: pick a variant by weight (or TargetVariant), an instance round-robin, forward.

Runs on the gateway's event loop. The routing table maps an endpoint name to its live ``Fleet``;
replacing that entry is the atomic switch of a blue/green update. Requests count themselves in
and out of their fleet so the old fleet is stopped only once it has drained.
"""

from __future__ import annotations

import asyncio
import random
import time

from helpers.local.containers.model_client import ModelSession, ModelTimeout, ModelUnreachable
from helpers.local.hosting.fleet import Fleet, Variant
from helpers.local.hosting.runtime_errors import (
    EndpointNotFound,
    ModelError,
    ServiceUnavailable,
    VariantNotFound,
)

REPLACEMENT_WAIT_SECONDS = 30


class Router:
    def __init__(self, region: str):
        self.region = region
        self.fleets: dict[str, Fleet] = {}
        self.models = ModelSession()
        self.last_invoked: dict[str, float] = {}  # endpoint -> time of its last InvokeEndpoint

    def activate(self, endpoint: str, fleet: Fleet) -> Fleet | None:
        """Route the endpoint to ``fleet`` from now on; returns the fleet it replaced."""
        previous = self.fleets.get(endpoint)
        self.fleets[endpoint] = fleet
        return previous

    def deactivate(self, endpoint: str) -> Fleet | None:
        return self.fleets.pop(endpoint, None)

    async def invoke(
        self, endpoint: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        """The model's answer as status, body and response headers; a RuntimeApiError otherwise.

        ``headers`` are the request's, with lower-case names.
        """
        fleet = self.fleets.get(endpoint)
        if fleet is None:
            raise EndpointNotFound(endpoint)
        self.last_invoked[endpoint] = time.time()  # an endpoint that serves is not idle
        target = headers.get("x-amzn-sagemaker-target-variant")
        if target:
            variant = fleet.variants.get(target)
            if variant is None:
                raise VariantNotFound(endpoint, target, list(fleet.variants))
        else:
            variants = [v for v in fleet.variants.values() if v.weight > 0] or list(fleet.variants.values())
            variant = (
                variants[0]
                if len(variants) == 1
                else random.choices(variants, [v.weight for v in variants])[0]
            )
        fleet.in_flight += 1
        try:
            return await self._forward(endpoint, variant, headers, body)
        finally:
            fleet.in_flight -= 1

    async def _forward(
        self, endpoint: str, variant: Variant, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        deadline = time.monotonic() + REPLACEMENT_WAIT_SECONDS
        while True:
            instance = variant.pick_instance()
            if instance is None:
                # Every instance died: the monitor is starting replacements; wait for one.
                if time.monotonic() > deadline:
                    raise ServiceUnavailable(
                        f"No healthy instance of variant {variant.name} on endpoint {endpoint}; "
                        "try again in a moment."
                    )
                await asyncio.sleep(0.02)
                continue
            try:
                answer = await self.models.invoke(instance.server.address, body, headers)
            except ModelUnreachable:
                # That instance just died: skip it until the monitor replaces it.
                instance.unreachable = True
                continue
            except ModelTimeout:
                raise ModelError(
                    endpoint,
                    self.region,
                    0,
                    "Your invocation timed out while waiting for a response from container primary "
                    f"(the limit is {self.models.timeout:g} s).",
                ) from None
            if answer.failed:
                raise ModelError(endpoint, self.region, answer.status, answer.message)
            out = {
                "content-type": answer.content_type or "application/json",
                "x-amzn-invoked-production-variant": variant.name,
            }
            if answer.custom_attributes:
                out["x-amzn-sagemaker-custom-attributes"] = answer.custom_attributes
            return answer.status, answer.body, out

    async def close(self) -> None:
        await self.models.close()
