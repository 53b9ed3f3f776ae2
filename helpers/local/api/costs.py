"""The would-be AWS bill of this state folder (or of one lesson), from the cost ledger and the price table.

Answers the service's internal ``GET /_local/usage`` (signed like any request): every usage
interval with its instance time and cost, what runs now with its hourly cost, and the total. A
row whose instance type has no price says so (``noPrice``) and counts nothing towards the total.
"""

from __future__ import annotations

import time
from typing import Any

from helpers.local.core.pricing import PriceNotFound, price_table
from helpers.local.hosting.billing import idle_threshold_seconds


def usage_report(service, lesson: str | None = None) -> dict[str, Any]:
    now = time.time()
    table = price_table()
    rows: list[dict[str, Any]] = []
    total = 0.0
    for interval in service.usage.intervals(lesson=lesson):
        row: dict[str, Any] = {
            "name": interval.name,
            "arn": interval.arn,
            "kind": interval.kind,
            "component": interval.component,
            "variant": interval.variant,
            "instanceType": interval.instance_type,
            "instanceCount": interval.instance_count,
            "started": interval.started,
            "ended": interval.ended,
            "running": interval.running,
            "seconds": interval.seconds(now),
            "parentArn": interval.parent_arn,
            "lesson": interval.lesson,
        }
        try:
            hourly = table.hourly(interval.instance_type, service.region, interval.component)
        except PriceNotFound as missing:
            row.update(hourly=None, cost=None, noPrice=str(missing))
        else:
            cost = hourly * interval.instance_seconds(now) / 3600.0
            row.update(hourly=hourly * interval.instance_count, cost=cost)
            total += cost
        if interval.running and interval.kind == "Endpoint":
            endpoint = interval.name
            idle = service.endpoints.meter.idle_seconds(
                interval.arn, service.router.last_invoked.get(endpoint), now
            )
            row["idleSeconds"] = idle
            row["idle"] = idle is not None and idle >= idle_threshold_seconds()
        rows.append(row)
    return {
        "region": service.region,
        "source": table.source,
        "pricesCopied": table.copied,
        "now": now,
        "lesson": lesson,
        "idleThresholdSeconds": idle_threshold_seconds(),
        "usage": rows,
        "starting": _starting(service) if lesson is None else [],
        "total": total,
    }


def _starting(service) -> list[dict[str, Any]]:
    """Work that runs but is not billed itself: endpoints and notebook instances starting, tuning jobs
    (billed through their training jobs)."""
    starting = []
    for doc in service.store.list("Endpoint"):
        if doc["EndpointStatus"] == "Creating":
            starting.append({"name": doc["EndpointName"], "kind": "Endpoint", "status": "Creating"})
    for doc in service.store.list("NotebookInstance"):
        if doc.get("NotebookInstanceStatus") == "Pending":  # billed once InService
            starting.append(
                {"name": doc["NotebookInstanceName"], "kind": "NotebookInstance", "status": "Pending"}
            )
    for doc in service.store.list("HyperParameterTuningJob"):
        if doc["HyperParameterTuningJobStatus"] in ("InProgress", "Stopping"):
            name = doc["HyperParameterTuningJobName"]
            starting.append({"name": name, "kind": "HyperParameterTuningJob", "status": "InProgress"})
    return starting
