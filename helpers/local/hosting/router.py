"""InvokeEndpoint: pick a variant by weight (or TargetVariant), an instance round-robin, forward.

Runs on the gateway's event loop. The routing table maps an endpoint name to its live ``Fleet``;
replacing that entry is the atomic switch of a blue/green update. Requests count themselves in
and out of their fleet so the old fleet is stopped only once it has drained.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import aiohttp

from helpers.local.core.config import ACCOUNT_ID
from helpers.local.hosting.fleet import Fleet

# InvokeEndpoint's payload limit; the gateway refuses a larger body before reading it whole.
MAX_PAYLOAD = 6 * 1024 * 1024
MODEL_TIMEOUT_SECONDS = 60
REPLACEMENT_WAIT_SECONDS = 30
_FORWARDED = ("content-type", "accept", "x-amzn-sagemaker-custom-attributes")


class Router:
    def __init__(self, region: str):
        self.region = region
        self.fleets: dict[str, Fleet] = {}
        self._session: aiohttp.ClientSession | None = None

    def activate(self, endpoint: str, fleet: Fleet) -> Fleet | None:
        """Route the endpoint to ``fleet`` from now on; returns the fleet it replaced."""
        previous = self.fleets.get(endpoint)
        self.fleets[endpoint] = fleet
        return previous

    def deactivate(self, endpoint: str) -> Fleet | None:
        return self.fleets.pop(endpoint, None)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30)
            timeout = aiohttp.ClientTimeout(total=MODEL_TIMEOUT_SECONDS)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False)
        return self._session

    async def invoke(
        self, endpoint: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        fleet = self.fleets.get(endpoint)
        if fleet is None:
            return _error(400, "ValidationError", f"Endpoint {endpoint} of account {ACCOUNT_ID} not found.")
        target = headers.get("x-amzn-sagemaker-target-variant")
        if target:
            variant = fleet.variants.get(target)
            if variant is None:
                names = ", ".join(fleet.variants)
                return _error(
                    400,
                    "ValidationError",
                    f"Target variant {target} does not exist on endpoint {endpoint}; its variants are: {names}.",
                )
        else:
            variants = [v for v in fleet.variants.values() if v.weight > 0] or list(fleet.variants.values())
            variant = (
                variants[0]
                if len(variants) == 1
                else random.choices(variants, [v.weight for v in variants])[0]
            )
        forward = {k: headers[k] for k in _FORWARDED if k in headers}
        fleet.in_flight += 1
        try:
            return await self._forward(endpoint, variant, forward, body)
        finally:
            fleet.in_flight -= 1

    async def _forward(
        self, endpoint: str, variant, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        deadline = time.monotonic() + REPLACEMENT_WAIT_SECONDS
        while True:
            instance = variant.pick_instance()
            if instance is None:
                # Every instance died: the monitor is starting replacements; wait for one.
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.02)
                continue
            try:
                async with self._client().post(
                    f"http://127.0.0.1:{instance.port}/invocations",
                    data=body,
                    headers={**headers, **instance.server.auth_header},
                ) as response:
                    payload = await response.read()
                    status = response.status
                    content_type = response.headers.get("Content-Type", "application/json")
                    attributes = response.headers.get("X-Amzn-SageMaker-Custom-Attributes")
            except (aiohttp.ClientConnectionError, ConnectionError):
                # That instance just died: skip it until the monitor replaces it.
                instance.unreachable = True
                continue
            except TimeoutError:
                return _model_error(
                    endpoint,
                    variant.name,
                    0,
                    f"The model did not answer within {MODEL_TIMEOUT_SECONDS} s.",
                    self.region,
                )
            if status >= 400:
                message = payload.decode(errors="replace").strip()
                return _model_error(endpoint, variant.name, status, message, self.region)
            out = {"content-type": content_type, "x-amzn-invoked-production-variant": variant.name}
            if attributes:
                out["x-amzn-sagemaker-custom-attributes"] = attributes
            return status, payload, out
        return _error(
            503,
            "ServiceUnavailable",
            f"No healthy instance of variant {variant.name} on endpoint {endpoint}; try again in a moment.",
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _error(status: int, code: str, message: str, **fields: Any) -> tuple[int, bytes, dict[str, str]]:
    body = json.dumps({"__type": code, "message": message, **fields}).encode()
    return status, body, {"content-type": "application/json", "x-amzn-errortype": code}


def _model_error(
    endpoint: str, variant: str, status: int, message: str, region: str
) -> tuple[int, bytes, dict[str, str]]:
    log_group = f"/aws/sagemaker/Endpoints/{endpoint}"
    return _error(
        424,
        "ModelError",
        f'Received {"server" if status >= 500 else "client"} error ({status}) from model with message "{message}". See '
        f"the log group {log_group} for more information.",
        OriginalStatusCode=status,
        OriginalMessage=message,
        LogStreamArn=f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{log_group}",
    )
