"""Log groups, streams and events in a SQLite file under the state folder.

Events are rows keyed by (stream, timestamp, seq): ``seq`` is one counter for the whole store, so
(timestamp, seq) orders events within a stream and across the streams of a group, and a page
token is just the position of the last event a page returned. Reads page through SQL: a stream
with a million events costs disk, not memory.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from helpers.local.aws.logs.errors import ResourceAlreadyExistsException, group_not_found, stream_not_found
from helpers.local.core.sqlite_file import open_database, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS log_groups (
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (region, name)
);
CREATE TABLE IF NOT EXISTS log_streams (
    id INTEGER PRIMARY KEY,
    region TEXT NOT NULL,
    group_name TEXT NOT NULL,
    name TEXT NOT NULL,
    created INTEGER NOT NULL,
    first_event INTEGER,
    last_event INTEGER,
    last_ingestion INTEGER,
    stored_bytes INTEGER NOT NULL DEFAULT 0,
    UNIQUE (region, group_name, name)
);
CREATE TABLE IF NOT EXISTS log_events (
    stream INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    ingestion INTEGER NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (stream, timestamp, seq)
) WITHOUT ROWID;
"""

# Where a read starts: an event position (timestamp, seq); events strictly after (or before) it.
Position = tuple[int, int]
START: Position = (-1, 0)
END: Position = (2**62, 0)


@dataclass(frozen=True)
class LogGroup:
    name: str
    created: int
    stored_bytes: int


@dataclass(frozen=True)
class LogStream:
    id: int
    name: str
    created: int
    first_event: int | None
    last_event: int | None
    last_ingestion: int | None
    stored_bytes: int


@dataclass(frozen=True)
class LogEvent:
    stream: str
    timestamp: int
    seq: int
    ingestion: int
    message: str

    @property
    def position(self) -> Position:
        return (self.timestamp, self.seq)


class LogStore:
    def __init__(self, path: Path):
        self._db = open_database(path, SCHEMA)
        self._lock = threading.RLock()
        self._seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM log_events").fetchone()[0]

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db, self._lock)

    # Groups and streams

    def create_group(self, region: str, name: str, now: int) -> None:
        with self._transaction() as db:
            if not db.execute(
                "INSERT OR IGNORE INTO log_groups VALUES (?, ?, ?)", (region, name, now)
            ).rowcount:
                raise ResourceAlreadyExistsException("The specified log group already exists.")

    def create_stream(self, region: str, group: str, name: str, now: int) -> None:
        with self._transaction() as db:
            self._require_group(db, region, group)
            cursor = db.execute(
                "INSERT OR IGNORE INTO log_streams (region, group_name, name, created) VALUES (?, ?, ?, ?)",
                (region, group, name, now),
            )
            if not cursor.rowcount:
                raise ResourceAlreadyExistsException("The specified log stream already exists.")

    def ensure_stream(self, region: str, group: str, name: str, now: int) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO log_groups VALUES (?, ?, ?)", (region, group, now))
            db.execute(
                "INSERT OR IGNORE INTO log_streams (region, group_name, name, created) VALUES (?, ?, ?, ?)",
                (region, group, name, now),
            )

    def delete_group(self, region: str, name: str) -> None:
        with self._transaction() as db:
            self._require_group(db, region, name)
            db.execute(
                "DELETE FROM log_events WHERE stream IN "
                "(SELECT id FROM log_streams WHERE region = ? AND group_name = ?)",
                (region, name),
            )
            db.execute("DELETE FROM log_streams WHERE region = ? AND group_name = ?", (region, name))
            db.execute("DELETE FROM log_groups WHERE region = ? AND name = ?", (region, name))

    def delete_stream(self, region: str, group: str, name: str) -> None:
        with self._transaction() as db:
            stream_id = self._require_stream(db, region, group, name)
            db.execute("DELETE FROM log_events WHERE stream = ?", (stream_id,))
            db.execute("DELETE FROM log_streams WHERE id = ?", (stream_id,))

    def groups(self, region: str) -> list[LogGroup]:
        """Every group of the region by name (a handful: SageMaker writes to four)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT g.name, g.created, COALESCE(SUM(s.stored_bytes), 0) FROM log_groups g "
                "LEFT JOIN log_streams s ON s.region = g.region AND s.group_name = g.name "
                "WHERE g.region = ? GROUP BY g.name ORDER BY g.name",
                (region,),
            ).fetchall()
        return [LogGroup(*row) for row in rows]

    def streams(
        self,
        region: str,
        group: str,
        prefix: str,
        by_last_event: bool,
        descending: bool,
        offset: int,
        limit: int,
    ) -> list[LogStream]:
        columns = ["COALESCE(last_event, 0)", "name"] if by_last_event else ["name"]
        order = ", ".join(f"{column} {'DESC' if descending else 'ASC'}" for column in columns)
        with self._lock:
            self._require_group(self._db, region, group)
            rows = self._db.execute(
                "SELECT id, name, created, first_event, last_event, last_ingestion, stored_bytes "
                "FROM log_streams WHERE region = ? AND group_name = ? AND substr(name, 1, ?) = ? "
                f"ORDER BY {order} LIMIT ? OFFSET ?",
                (region, group, len(prefix), prefix, limit, offset),
            ).fetchall()
        return [LogStream(*row) for row in rows]

    def stream_id(self, region: str, group: str, name: str) -> int:
        with self._lock:
            return self._require_stream(self._db, region, group, name)

    def stream_names(self, region: str, group: str, prefix: str) -> list[str]:
        with self._lock:
            self._require_group(self._db, region, group)
            rows = self._db.execute(
                "SELECT name FROM log_streams WHERE region = ? AND group_name = ? AND substr(name, 1, ?) = ? "
                "ORDER BY name",
                (region, group, len(prefix), prefix),
            ).fetchall()
        return [name for (name,) in rows]

    # Events

    def put_events(
        self, region: str, group: str, stream: str, events: Iterable[tuple[int, str]], now: int
    ) -> None:
        """Append ``(timestamp, message)`` events to a stream in one transaction."""
        with self._transaction() as db:
            stream_id = self._require_stream(db, region, group, stream)
            rows = []
            for timestamp, message in events:
                self._seq += 1
                rows.append((stream_id, timestamp, self._seq, now, message))
            if not rows:
                return
            db.executemany("INSERT INTO log_events VALUES (?, ?, ?, ?, ?)", rows)
            stamps = [row[1] for row in rows]
            size = sum(len(row[4].encode()) for row in rows)
            db.execute(
                "UPDATE log_streams SET first_event = MIN(COALESCE(first_event, ?), ?), "
                "last_event = MAX(COALESCE(last_event, ?), ?), last_ingestion = ?, "
                "stored_bytes = stored_bytes + ? WHERE id = ?",
                (min(stamps), min(stamps), max(stamps), max(stamps), now, size, stream_id),
            )

    def read_stream(
        self, stream_id: int, name: str, start: int, end: int, position: Position, backward: bool, limit: int
    ) -> list[LogEvent]:
        """Up to ``limit`` events of one stream in [start, end), after ``position`` (before it if
        ``backward``: the ones closest to it), oldest first."""
        comparison, order = ("<", "DESC") if backward else (">", "ASC")
        with self._lock:
            rows = self._db.execute(
                "SELECT timestamp, seq, ingestion, message FROM log_events WHERE stream = ? "
                f"AND timestamp >= ? AND timestamp < ? AND (timestamp, seq) {comparison} (?, ?) "
                f"ORDER BY timestamp {order}, seq {order} LIMIT ?",
                (stream_id, start, end, *position, limit),
            ).fetchall()
        if backward:
            rows.reverse()
        return [LogEvent(name, *row) for row in rows]

    def read_group(
        self,
        region: str,
        group: str,
        streams: list[str],
        start: int,
        end: int,
        position: Position,
        limit: int,
    ) -> list[LogEvent]:
        """Up to ``limit`` events of the named streams of a group, interleaved by time, after ``position``."""
        marks = ", ".join("?" * len(streams))
        with self._lock:
            rows = self._db.execute(
                "SELECT s.name, e.timestamp, e.seq, e.ingestion, e.message FROM log_events e "
                "JOIN log_streams s ON s.id = e.stream "
                f"WHERE s.region = ? AND s.group_name = ? AND s.name IN ({marks}) "
                "AND e.timestamp >= ? AND e.timestamp < ? AND (e.timestamp, e.seq) > (?, ?) "
                "ORDER BY e.timestamp, e.seq LIMIT ?",
                (region, group, *streams, start, end, *position, limit),
            ).fetchall()
        return [LogEvent(*row) for row in rows]

    # Checks

    @staticmethod
    def _require_group(db: sqlite3.Connection, region: str, group: str) -> None:
        if (
            db.execute("SELECT 1 FROM log_groups WHERE region = ? AND name = ?", (region, group)).fetchone()
            is None
        ):
            raise group_not_found()

    def _require_stream(self, db: sqlite3.Connection, region: str, group: str, name: str) -> int:
        row = db.execute(
            "SELECT id FROM log_streams WHERE region = ? AND group_name = ? AND name = ?",
            (region, group, name),
        ).fetchone()
        if row is None:
            self._require_group(db, region, group)
            raise stream_not_found()
        return row[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
