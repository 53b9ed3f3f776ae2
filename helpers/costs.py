"""``print_lesson_cost(session)``: what this lesson's work would have cost on AWS, on-demand.

Locally the service keeps a cost ledger (``helpers/local/store/usage.py``): every training,
processing and transform job and every endpoint, with the lesson that created it (the
``AWS_SDK_UA_APP_ID`` that ``helpers.connect()`` gives this process, sent in each request's
User-Agent). This module asks the service for this lesson's part of it, in a request signed with
the state folder's credentials.

On AWS it computes the same from AWS's own Describe answers for the jobs this session created since
``connect()`` and the endpoints still present, with the same price table
(``helpers/local/core/sagemaker_prices.csv``), and says what it cannot see.
"""

from __future__ import annotations

import time
from typing import Any

from helpers.local.core.pricing import (
    INFERENCE,
    KIND_LABELS,
    PROCESSING,
    TRAINING,
    TRANSFORM,
    PriceNotFound,
    dollars,
    price_table,
    total_line,
)


def print_lesson_cost(session: Any) -> float:
    """Print this lesson's resources and their would-be AWS cost; returns the total in USD.

    The last line is always ``This lesson would have cost about $X on AWS (on-demand, REGION,
    prices of DATE).``
    """
    from helpers.connection import LocalServiceSession

    if isinstance(session, LocalServiceSession):
        try:
            rows, region, notes = _local_rows(session)
        except OSError as exc:  # the service is gone: say so rather than print a made-up total
            print(f"(The local service could not be asked for this lesson's cost: {exc})")
            return 0.0
    else:
        rows, region, notes = _aws_rows(session)
    total = sum(row["cost"] for row in rows if row["cost"] is not None)
    for line in bill_lines(rows):
        print(line)
    for note in notes:
        print(note)
    print(total_line(total, region, price_table().copied))
    return total


def bill_lines(rows: list[dict[str, Any]]) -> list[str]:
    """A small table: name, kind, instance type × count, hourly price, billable time, would-be cost."""
    if not rows:
        return ["No billable resources in this lesson yet."]
    table = [("Resource", "Kind", "Instances", "Price", "Billable time", "Would-be cost")]
    for row in rows:
        name = row["name"] + (f" ({row['variant']})" if row.get("variant") else "")
        cost = dollars(row["cost"]) if row["cost"] is not None else row["noPrice"]
        state = " (running)" if row.get("running") else ""
        table.append(
            (
                name,
                KIND_LABELS.get(row["kind"], row["kind"]),
                f"{row['instanceType']} x {row['instanceCount']}",
                f"${row['hourly']:.3f}/h" if row.get("hourly") is not None else "-",
                f"{row['seconds']:.0f} s{state}",
                cost,
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    ]


def lesson_id(session: Any) -> str | None:
    """The app id this session's clients send in their User-Agent (set by ``helpers.connect()``)."""
    config = getattr(getattr(session.sagemaker_client, "meta", None), "config", None)
    return getattr(config, "user_agent_appid", None)


# -- locally: the service's ledger ---------------------------------------------------------------


def _local_rows(session: Any) -> tuple[list[dict[str, Any]], str, list[str]]:
    from helpers.local import control
    from helpers.local.core.config import load_config

    config = load_config()
    lesson = lesson_id(session)
    if not lesson:
        return [], config.region, ["(This session has no lesson id: create it with helpers.connect().)"]
    report = control.usage(config, lesson=lesson)
    return report["usage"], report["region"], []


# -- on AWS: Describe answers --------------------------------------------------------------------


def _aws_rows(session: Any) -> tuple[list[dict[str, Any]], str, list[str]]:
    from helpers.connection import connected_at

    sm = session.sagemaker_client
    region = session.boto_region_name
    since = connected_at()
    now = time.time()
    rows: list[dict[str, Any]] = []
    notes = [
        "(On AWS this counts the jobs created since connect() and the endpoints still present; "
        "endpoints already deleted, notebook instances and storage are not counted.)"
    ]
    jobs = (
        ("TrainingJob", "list_training_jobs", "TrainingJobSummaries", "describe_training_job"),
        ("ProcessingJob", "list_processing_jobs", "ProcessingJobSummaries", "describe_processing_job"),
        ("TransformJob", "list_transform_jobs", "TransformJobSummaries", "describe_transform_job"),
    )
    for kind, list_call, member, describe_call in jobs:
        for page in sm.get_paginator(list_call).paginate(CreationTimeAfter=since):
            for summary in page[member]:
                name = summary[f"{kind}Name"]
                doc = getattr(sm, describe_call)(**{f"{kind}Name": name})
                rows.extend(_job_rows(kind, doc, region, now))
    for page in sm.get_paginator("list_endpoints").paginate(CreationTimeAfter=since):
        for summary in page["Endpoints"]:
            rows.extend(_endpoint_rows(sm, summary["EndpointName"], region, now))
    return rows, region, notes


def _seconds(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


def _job_rows(kind: str, doc: dict[str, Any], region: str, now: float) -> list[dict[str, Any]]:
    if kind == "TrainingJob":
        resources, component = doc["ResourceConfig"], TRAINING
        start, end = doc.get("TrainingStartTime"), doc.get("TrainingEndTime")
    elif kind == "ProcessingJob":
        resources, component = doc["ProcessingResources"]["ClusterConfig"], PROCESSING
        start, end = doc.get("ProcessingStartTime"), doc.get("ProcessingEndTime")
    else:
        resources, component = doc["TransformResources"], TRANSFORM
        start, end = doc.get("TransformStartTime"), doc.get("TransformEndTime")
    if start is None:
        seconds = 0.0
    elif kind == "TrainingJob" and "BillableTimeInSeconds" in doc:
        seconds = float(doc["BillableTimeInSeconds"])
    else:
        seconds = max(0.0, (_seconds(end) if end else now) - _seconds(start))
    groups = resources.get("InstanceGroups") or [resources]
    name = doc[f"{kind}Name"]
    return [
        _priced(name, kind, component, group["InstanceType"], int(group["InstanceCount"]), seconds, region)
        | {"running": end is None}
        for group in groups
    ]


def _endpoint_rows(sm: Any, endpoint: str, region: str, now: float) -> list[dict[str, Any]]:
    doc = sm.describe_endpoint(EndpointName=endpoint)
    config = sm.describe_endpoint_config(EndpointConfigName=doc["EndpointConfigName"])
    counts = {v["VariantName"]: v.get("CurrentInstanceCount") for v in doc.get("ProductionVariants") or []}
    seconds = max(0.0, now - _seconds(doc["CreationTime"]))
    rows = []
    for spec in config["ProductionVariants"]:
        if "InstanceType" not in spec:
            continue
        count = counts.get(spec["VariantName"]) or spec.get("InitialInstanceCount", 1)
        row = _priced(endpoint, "Endpoint", INFERENCE, spec["InstanceType"], int(count), seconds, region)
        rows.append(row | {"variant": spec["VariantName"], "running": True})
    return rows


def _priced(
    name: str, kind: str, component: str, instance_type: str, count: int, seconds: float, region: str
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "instanceType": instance_type,
        "instanceCount": count,
        "seconds": seconds,
    }
    try:
        row["cost"] = price_table().cost(instance_type, region, component, seconds * count)
    except PriceNotFound as missing:
        row.update(cost=None, noPrice=str(missing))
    return row
