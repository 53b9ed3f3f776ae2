"""The cost ledger: usage intervals of billable instances, in their own SQLite file.

An interval is one stretch of time during which a resource held ``instance_count`` instances of one
type, billed under one component of the price table: a job from start to end, an endpoint variant
from InService until it is rescaled, updated or deleted. ``open_interval`` starts one,
``close_intervals`` ends every open interval of a resource; both are single transactions, so the
ledger survives a restart and a crash of the service as the resources do, and outlives the
resources themselves (a deleted endpoint still cost what it cost).

Another kind of resource is metered with one call at each change of state, e.g. a notebook
instance: ``open_interval(arn, name, "NotebookInstance", NOTEBOOK, instance_type, 1)`` when it is
InService, ``close_intervals(arn)`` when it is Stopped or deleted.

Each resource also records the lesson (client session) that created it, so one notebook can ask
for its own bill while others use the same service. A training job a tuning job launched belongs
to the tuning job's lesson (``parent_arn``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.local.core.sqlite_file import open_database, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    arn TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    component TEXT NOT NULL,
    variant TEXT,
    instance_type TEXT NOT NULL,
    instance_count INTEGER NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    billable_seconds REAL,
    parent_arn TEXT,
    lesson TEXT
);
CREATE INDEX IF NOT EXISTS usage_arn ON usage (arn);
CREATE INDEX IF NOT EXISTS usage_lesson ON usage (lesson);
CREATE TABLE IF NOT EXISTS lessons (
    arn TEXT PRIMARY KEY,
    lesson TEXT NOT NULL
);
"""
COLUMNS = (
    "id, arn, name, kind, component, variant, instance_type, instance_count, started, ended, "
    "billable_seconds, parent_arn, lesson"
)


@dataclass(frozen=True)
class Interval:
    id: int
    arn: str
    name: str
    kind: str  # TrainingJob, Endpoint, NotebookInstance, ...
    component: str  # a component of the price table: training, inference, ...
    variant: str | None
    instance_type: str
    instance_count: int
    started: float
    ended: float | None  # None while it runs
    billable_seconds: float | None  # what AWS bills when it is not ended - started (training jobs)
    parent_arn: str | None
    lesson: str | None

    @property
    def running(self) -> bool:
        return self.ended is None

    def seconds(self, now: float | None = None) -> float:
        """Billable seconds of one instance, up to ``now`` while the interval is open."""
        if self.billable_seconds is not None:
            return self.billable_seconds
        end = self.ended if self.ended is not None else (now or time.time())
        return max(0.0, end - self.started)

    def instance_seconds(self, now: float | None = None) -> float:
        return self.seconds(now) * self.instance_count


class UsageLedger:
    def __init__(self, path: Path):
        self._db = open_database(path, SCHEMA)
        self._lock = threading.RLock()

    def open_interval(
        self,
        arn: str,
        name: str,
        kind: str,
        component: str,
        instance_type: str,
        instance_count: int,
        started: float | None = None,
        variant: str | None = None,
        parent_arn: str | None = None,
    ) -> int:
        """Start an interval; returns its id. The resource's lesson, if known yet, is stamped on it."""
        with transaction(self._db, self._lock) as db:
            lesson = _lesson_of(db, arn) or (_lesson_of(db, parent_arn) if parent_arn else None)
            cursor = db.execute(
                "INSERT INTO usage (arn, name, kind, component, variant, instance_type, instance_count, "
                "started, parent_arn, lesson) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    arn,
                    name,
                    kind,
                    component,
                    variant,
                    instance_type,
                    int(instance_count),
                    time.time() if started is None else started,
                    parent_arn,
                    lesson,
                ),
            )
            return int(cursor.lastrowid or 0)

    def close_intervals(
        self,
        arn: str,
        ended: float | None = None,
        started: float | None = None,
        billable_seconds: float | None = None,
        variant: str | None = None,
    ) -> int:
        """End the open intervals of ``arn`` (of one ``variant`` if given); returns how many.

        ``started`` corrects the start to the resource's own record of it (a job's Describe times);
        closing what is already closed changes nothing, so callers need not know whether it was open.
        """
        ended = time.time() if ended is None else ended
        where, args = "arn = ? AND ended IS NULL", [arn]
        if variant is not None:
            where += " AND variant = ?"
            args.append(variant)
        with transaction(self._db, self._lock) as db:
            cursor = db.execute(
                f"UPDATE usage SET ended = MAX(?, COALESCE(?, started)), "  # noqa: S608 (fixed text)
                f"started = COALESCE(?, started), billable_seconds = COALESCE(?, billable_seconds) "
                f"WHERE {where}",
                (ended, started, started, billable_seconds, *args),
            )
            return cursor.rowcount

    def attribute(self, arn: str, lesson: str) -> None:
        """Record that ``lesson`` created ``arn``: its intervals (and its children's) are that lesson's."""
        with transaction(self._db, self._lock) as db:
            db.execute("INSERT OR REPLACE INTO lessons VALUES (?, ?)", (arn, lesson))
            db.execute(
                "UPDATE usage SET lesson = ? WHERE lesson IS NULL AND (arn = ? OR parent_arn = ?)",
                (lesson, arn, arn),
            )

    def intervals(self, lesson: str | None = None, running: bool | None = None) -> list[Interval]:
        """Every interval (of one lesson, or only the running ones), oldest first."""
        clauses, args = [], []
        if lesson is not None:
            clauses.append("lesson = ?")
            args.append(lesson)
        if running is not None:
            clauses.append("ended IS NULL" if running else "ended IS NOT NULL")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {COLUMNS} FROM usage {where} ORDER BY started, id",  # noqa: S608 (fixed text)
                args,
            ).fetchall()
        return [Interval(*row) for row in rows]

    def open_intervals(self, arn: str) -> list[Interval]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {COLUMNS} FROM usage WHERE arn = ? AND ended IS NULL ORDER BY id",  # noqa: S608
                (arn,),
            ).fetchall()
        return [Interval(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _lesson_of(db: Any, arn: str) -> str | None:
    row = db.execute("SELECT lesson FROM lessons WHERE arn = ?", (arn,)).fetchone()
    return row[0] if row else None
