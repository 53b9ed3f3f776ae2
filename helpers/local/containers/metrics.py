"""Metrics scraped from a job's log with regular expressions, as SageMaker does, one line at a time.

The regexes come from users (``MetricDefinitions``), so they run on RE2, whose matching time is
linear in the line: a backtracking pattern such as ``(a+)+$`` cannot stall the service. All of a
job's definitions form one ``re2.Set``, so a line is scanned once whatever the number of
definitions (XGBoost alone has 66), and only the definitions that match it extract a value.
"""

from __future__ import annotations

import math
import threading
import time
from array import array
from collections.abc import Callable, Iterable
from typing import Any

import re2

from helpers.local.core.errors import ValidationException

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # an invalid user regex is reported to the user, not on stderr


def compile_metric_regex(regex: str) -> re2._Regexp:
    return re2.compile(regex, _OPTIONS)


def check_metric_definitions(definitions: Iterable[dict[str, str]], where: str) -> None:
    """ValidationException naming the first definition whose Regex RE2 cannot compile."""
    for definition in definitions:
        try:
            compile_metric_regex(definition["Regex"])
        except re2.error as exc:
            detail = (
                exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
            )
            raise ValidationException(
                f"{where}: the Regex of metric '{definition['Name']}' ({definition['Regex']}) is not "
                f"supported: {detail}. Metric regexes use RE2 syntax, which has no backreferences or "
                "lookaround; capture the metric's value in the first group."
            ) from exc


class MetricScraper:
    """The metric definitions of one job, fed its log line by line.

    Keeps each definition's last value (for ``FinalMetricDataList``) and, for the metrics named in
    ``tracked``, every value in order (a tuning job's early stopping reads those while the job runs).
    Each line's values go to ``publish`` as ``(name, seconds since the epoch, value)``, as SageMaker
    puts a training job's metrics into CloudWatch while it runs.
    """

    def __init__(
        self,
        definitions: list[dict[str, str]],
        tracked: Iterable[str] = (),
        publish: Callable[[list[tuple[str, float, float]]], None] | None = None,
    ):
        self.definitions = definitions
        self._publish = publish
        self._patterns = [compile_metric_regex(d["Regex"]) for d in definitions]
        self._set = re2.Set.SearchSet(_OPTIONS)
        for definition in definitions:
            self._set.Add(definition["Regex"])
        self._set.Compile()
        self._last: list[float | None] = [None] * len(definitions)
        self._last_time: list[float] = [0.0] * len(definitions)
        # The last definition of a name wins, as the user's own come after the algorithm's.
        names = {d["Name"]: i for i, d in enumerate(definitions)}
        self._tracked = {names[name]: array("d") for name in tracked if name in names}
        self._by_name = names
        self._lock = threading.Lock()

    def feed(self, line: str) -> None:
        matched = self._set.Match(line) if self._patterns else None
        if not matched:
            return
        now = time.time()
        published = []
        for index in matched:
            value = _value(self._patterns[index].search(line))
            if value is None:
                continue
            published.append((self.definitions[index]["Name"], now, value))
            with self._lock:
                self._last[index] = value
                self._last_time[index] = now
                history = self._tracked.get(index)
                if history is not None:
                    history.append(value)
        if published and self._publish is not None:
            self._publish(published)

    def history(self, name: str, start: int = 0) -> list[float]:
        """The values of tracked metric ``name`` from position ``start`` on."""
        history = self._tracked.get(self._by_name.get(name, -1))
        if history is None:
            return []
        with self._lock:
            return list(history[start:])

    def final_metrics(self) -> list[dict[str, Any]]:
        """The last value each metric definition matched (``FinalMetricDataList``)."""
        with self._lock:
            return [
                {"MetricName": definition["Name"], "Value": value, "Timestamp": self._last_time[index]}
                for index, (definition, value) in enumerate(zip(self.definitions, self._last, strict=True))
                if value is not None
            ]


def _value(match) -> float | None:
    if match is None:
        return None
    try:
        value = float(match.group(1))
    except (ValueError, IndexError, TypeError):
        return None
    return None if math.isnan(value) else value
