"""Metric data points in a SQLite file under the state folder, so they outlive a restart.

A metric is (region, namespace, name, dimensions); its dimensions are kept as sorted JSON so the
exact set a GetMetricStatistics names finds it. Points are rows; statistics are computed in SQL
per period, so a long job's curve costs disk, not memory.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from helpers.local.core.sqlite_file import open_database, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS metric_points (
    region TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    timestamp REAL NOT NULL,
    value REAL NOT NULL,
    count REAL NOT NULL,
    unit TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS metric_points_by_metric
    ON metric_points (region, namespace, name, dimensions, timestamp);
"""


def dimensions_key(dimensions: Iterable[dict[str, str]]) -> str:
    """The one spelling of a set of dimensions: sorted by name."""
    return json.dumps(sorted([d["Name"], d["Value"]] for d in dimensions))


@dataclass(frozen=True)
class MetricPoint:
    """One published value (seconds since the epoch); ``count`` is its weight (PutMetricData Counts)."""

    namespace: str
    name: str
    dimensions: str
    timestamp: float
    value: float
    count: float = 1.0
    unit: str = "None"


@dataclass(frozen=True)
class PeriodStatistics:
    start: float
    sample_count: float
    total: float
    minimum: float
    maximum: float
    unit: str


class MetricStore:
    def __init__(self, path):
        self._db = open_database(path, SCHEMA)
        self._lock = threading.RLock()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db, self._lock)

    def put(self, region: str, points: Iterable[MetricPoint]) -> None:
        rows = [
            (region, p.namespace, p.name, p.dimensions, p.timestamp, p.value, p.count, p.unit) for p in points
        ]
        if not rows:
            return
        with self._transaction() as db:
            db.executemany("INSERT INTO metric_points VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def statistics(
        self,
        region: str,
        namespace: str,
        name: str,
        dimensions: str,
        start: float,
        end: float,
        period: int,
        unit: str | None,
    ) -> list[PeriodStatistics]:
        """Per period (aligned to the epoch) in [start, end): count, sum, min, max of the points."""
        query = (
            "SELECT CAST(timestamp / ? AS INTEGER) * ? AS bucket, SUM(count), SUM(value * count), "
            "MIN(value), MAX(value), MIN(unit) FROM metric_points WHERE region = ? AND namespace = ? "
            "AND name = ? AND dimensions = ? AND timestamp >= ? AND timestamp < ?"
        )
        args: list = [period, period, region, namespace, name, dimensions, start, end]
        if unit is not None:
            query += " AND unit = ?"
            args.append(unit)
        query += " GROUP BY bucket ORDER BY bucket"
        with self._lock:
            rows = self._db.execute(query, args).fetchall()
        return [PeriodStatistics(float(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def metrics(self, region: str, namespace: str | None, name: str | None) -> list[tuple[str, str, str]]:
        """Every distinct (namespace, name, dimensions), sorted, optionally filtered."""
        query = "SELECT DISTINCT namespace, name, dimensions FROM metric_points WHERE region = ?"
        args: list = [region]
        if namespace is not None:
            query += " AND namespace = ?"
            args.append(namespace)
        if name is not None:
            query += " AND name = ?"
            args.append(name)
        query += " ORDER BY namespace, name, dimensions"
        with self._lock:
            return [tuple(row) for row in self._db.execute(query, args).fetchall()]
