"""What an endpoint would be billed on AWS, and when it sits idle.

An endpoint is billed for every instance of every production variant while it is InService: one
usage interval per variant, instance type and count. ``EndpointMeter.reconcile`` is called each
time the endpoint's status is set: InService opens the intervals that match what now serves and
closes the ones that no longer do (an update or a rescale starts a new interval), Failed closes
them all, and so does ``deleted``. Intervals stay open across a restart of the service: on AWS the
endpoint would have gone on running.

An endpoint InService that has had no InvokeEndpoint for ``idle_threshold_seconds()`` is *idle*:
the service log gets one warning per idle spell (``warn_idle``, called from the endpoint monitor).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from helpers.local.core.pricing import INFERENCE, PriceNotFound, idle_endpoint_message, price_table
from helpers.local.store.usage import UsageLedger

log = logging.getLogger("helpers.local.hosting")
KIND = "Endpoint"
IDLE_VARIABLE = "SAGEMAKER_LOCAL_IDLE_ENDPOINT_MINUTES"
DEFAULT_IDLE_MINUTES = 30.0


def idle_threshold_seconds() -> float:
    """``$SAGEMAKER_LOCAL_IDLE_ENDPOINT_MINUTES`` (default 30) in seconds."""
    text = os.environ.get(IDLE_VARIABLE, "").strip()
    try:
        minutes = float(text) if text else DEFAULT_IDLE_MINUTES
    except ValueError:
        minutes = DEFAULT_IDLE_MINUTES
    return max(0.0, minutes) * 60.0


def serving_instances(config: dict[str, Any], doc: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """``{variant: (instance type, count)}`` of the variants that run on instances."""
    counts = {v["VariantName"]: v.get("CurrentInstanceCount") for v in doc.get("ProductionVariants") or []}
    serving = {}
    for spec in config.get("ProductionVariants") or []:
        if "InstanceType" not in spec:
            continue  # serverless: billed per request, not per instance-hour
        name = spec["VariantName"]
        count = counts.get(name)
        serving[name] = (
            spec["InstanceType"],
            int(spec.get("InitialInstanceCount", 1) if count is None else count),
        )
    return serving


class EndpointMeter:
    def __init__(self, ledger: UsageLedger, region: str):
        self.ledger = ledger
        self.region = region
        self._warned: set[str] = set()  # endpoints whose current idle spell was logged

    def reconcile(self, doc: dict[str, Any], config: dict[str, Any] | None) -> None:
        """Make the endpoint's open intervals match its status and what it serves now."""
        arn, name, status = doc["EndpointArn"], doc["EndpointName"], doc["EndpointStatus"]
        if status == "Failed":
            self.ledger.close_intervals(arn)
            return
        if status != "InService" or config is None:
            return  # Creating, Updating: what served before goes on serving (and billing)
        wanted = serving_instances(config, doc)
        now = time.time()
        open_by_variant = {}
        for interval in self.ledger.open_intervals(arn):
            if wanted.get(interval.variant or "") == (interval.instance_type, interval.instance_count):
                open_by_variant[interval.variant] = interval
            else:
                self.ledger.close_intervals(arn, now, variant=interval.variant)
        for variant, (instance_type, count) in wanted.items():
            if variant not in open_by_variant:
                self.ledger.open_interval(arn, name, KIND, INFERENCE, instance_type, count, now, variant)

    def deleted(self, arn: str) -> None:
        self.ledger.close_intervals(arn)

    def idle_seconds(self, arn: str, last_invoked: float | None, now: float | None = None) -> float | None:
        """Seconds since the endpoint last served (or went InService); None if it is not billed now."""
        intervals = self.ledger.open_intervals(arn)
        if not intervals:
            return None
        since = max([i.started for i in intervals] + [last_invoked or 0.0])
        return max(0.0, (now or time.time()) - since)

    def warn_idle(self, endpoint: str, arn: str, last_invoked: float | None) -> None:
        """Log one warning when the endpoint has been idle past the threshold (once per idle spell)."""
        idle = self.idle_seconds(arn, last_invoked)
        if idle is None or idle < idle_threshold_seconds():
            self._warned.discard(endpoint)
            return
        if endpoint in self._warned:
            return
        self._warned.add(endpoint)
        log.warning("%s", idle_endpoint_message(endpoint, idle, self.hourly(arn), self.region))

    def hourly(self, arn: str) -> float | None:
        """USD per hour the endpoint would cost on AWS now; None if a price is missing."""
        total = 0.0
        for interval in self.ledger.open_intervals(arn):
            try:
                total += price_table().hourly(interval.instance_type, self.region, INFERENCE) * (
                    interval.instance_count
                )
            except PriceNotFound:
                return None
        return total
