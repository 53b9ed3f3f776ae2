"""Metrics scraped from a job's log with regular expressions, as SageMaker does."""

from __future__ import annotations

import math
import re
import time
from typing import Any


def final_metrics(lines: list[str], definitions: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The last value each metric definition matched in the log (``FinalMetricDataList``)."""
    results = []
    for definition in definitions:
        history = metric_history(lines, definition["Regex"])
        if history:
            results.append(
                {"MetricName": definition["Name"], "Value": history[-1], "Timestamp": time.time()}
            )
    return results


def metric_history(lines: list[str], regex: str) -> list[float]:
    pattern = re.compile(regex)
    values = []
    for line in lines:
        match = pattern.search(line)
        if match:
            try:
                value = float(match.group(1))
            except (ValueError, IndexError):
                continue
            if not math.isnan(value):
                values.append(value)
    return values
