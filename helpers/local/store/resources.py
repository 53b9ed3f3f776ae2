"""SageMaker resources in a SQLite file, so they outlive a restart of the service.

Each resource is one row: its kind (``TrainingJob``, ``Model``, ...), name, ARN and the JSON
document its Describe call returns. What the service keeps for itself about a resource (how an
endpoint was deployed, which training jobs a tuning job launched) is its *record*, a second JSON
document in the ``records`` table under the same kind and name, so Describe documents hold only what
Describe shows. Updates go through ``update`` / ``update_record`` so concurrent job threads never
lose each other's writes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from helpers.local.core.sqlite_file import open_database, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    arn TEXT NOT NULL,
    created REAL NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE INDEX IF NOT EXISTS resources_arn ON resources (arn);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE TABLE IF NOT EXISTS tags (
    arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
"""

# A state folder from before the records table kept records among the resources: an endpoint's as
# a resource of a private kind, a tuning job's list of training jobs inside its Describe document.
OLD_DEPLOYMENT_KIND = "EndpointDeployment"
OLD_TRIALS_MEMBER = "TrainingJobs"


class Store:
    def __init__(self, path: Path):
        self._db = open_database(path, SCHEMA)
        self._lock = threading.RLock()
        self._move_old_records()

    def _move_old_records(self) -> None:
        """Move the records an older state folder keeps among its resources to the records table."""
        with self._transaction() as db:
            # (A deployment whose endpoint is gone is dropped: records live only with their resource.)
            db.execute(
                "INSERT OR REPLACE INTO records SELECT 'Endpoint', d.name, d.doc FROM resources d "
                "WHERE d.kind = ? AND EXISTS "
                "(SELECT 1 FROM resources e WHERE e.kind = 'Endpoint' AND e.name = d.name)",
                (OLD_DEPLOYMENT_KIND,),
            )
            db.execute("DELETE FROM resources WHERE kind = ?", (OLD_DEPLOYMENT_KIND,))
            # Only documents with the member as a key are read (not every tuning job at every start).
            tuning_jobs = db.execute(
                "SELECT name, doc FROM resources WHERE kind = 'HyperParameterTuningJob' AND doc LIKE ?",
                (f'%"{OLD_TRIALS_MEMBER}":%',),
            ).fetchall()
            for name, text in tuning_jobs:
                doc = json.loads(text)
                if OLD_TRIALS_MEMBER not in doc:
                    continue  # the text was inside a value, not a member of the document
                record = {"TrainingJobs": doc.pop(OLD_TRIALS_MEMBER)}
                db.execute(
                    "INSERT OR REPLACE INTO records VALUES ('HyperParameterTuningJob', ?, ?)",
                    (name, json.dumps(record)),
                )
                db.execute(
                    "UPDATE resources SET doc = ? WHERE kind = 'HyperParameterTuningJob' AND name = ?",
                    (json.dumps(doc), name),
                )

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db, self._lock)

    def insert(
        self, kind: str, name: str, arn: str, doc: dict[str, Any], tags: list[dict[str, str]] | None = None
    ) -> bool:
        """Add a resource and its tags in one transaction; False if one of that kind and name exists."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO resources VALUES (?, ?, ?, ?, ?)",
                (kind, name, arn, time.time(), json.dumps(doc)),
            )
            if cursor.rowcount != 1:
                return False
            if tags:
                db.executemany(
                    "INSERT OR REPLACE INTO tags VALUES (?, ?, ?)",
                    [(arn, tag["Key"], tag.get("Value", "")) for tag in tags],
                )
            return True

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT doc FROM resources WHERE kind = ? AND name = ?", (kind, name)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def update(self, kind: str, name: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any] | None:
        """Apply ``change`` to the stored document in place, atomically; returns the new document."""
        with self._transaction() as db:
            row = db.execute("SELECT doc FROM resources WHERE kind = ? AND name = ?", (kind, name)).fetchone()
            if row is None:
                return None
            doc = json.loads(row[0])
            change(doc)
            db.execute(
                "UPDATE resources SET doc = ? WHERE kind = ? AND name = ?",
                (json.dumps(doc), kind, name),
            )
            return doc

    def delete(self, kind: str, name: str) -> bool:
        with self._transaction() as db:
            row = db.execute("SELECT arn FROM resources WHERE kind = ? AND name = ?", (kind, name)).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM resources WHERE kind = ? AND name = ?", (kind, name))
            db.execute("DELETE FROM records WHERE kind = ? AND name = ?", (kind, name))
            db.execute("DELETE FROM tags WHERE arn = ?", (row[0],))
            return True

    def list(self, kind: str) -> list[dict[str, Any]]:
        """All documents of a kind, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM resources WHERE kind = ? ORDER BY created", (kind,)
            ).fetchall()
        return [json.loads(doc) for (doc,) in rows]

    # -- records: what the service keeps about a resource beside its Describe document ----------

    def get_record(self, kind: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT doc FROM records WHERE kind = ? AND name = ?", (kind, name)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put_record(self, kind: str, name: str, record: dict[str, Any]) -> bool:
        """Store (or replace) the record of resource ``kind``/``name``; False if there is no such resource.

        A record lives as long as its resource: ``delete`` removes both in one transaction.
        """

        def replace(current: dict[str, Any]) -> None:
            current.clear()
            current.update(record)

        return self.update_record(kind, name, replace) is not None

    def update_record(
        self, kind: str, name: str, change: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any] | None:
        """Apply ``change`` to the record (an empty one if there is none yet), atomically.

        Returns the new record, or None (and nothing stored) if the resource does not exist.
        """
        with self._transaction() as db:
            key = (kind, name)
            if db.execute("SELECT 1 FROM resources WHERE kind = ? AND name = ?", key).fetchone() is None:
                return None
            row = db.execute("SELECT doc FROM records WHERE kind = ? AND name = ?", key).fetchone()
            record = json.loads(row[0]) if row else {}
            change(record)
            db.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", (*key, json.dumps(record)))
            return record

    def delete_record(self, kind: str, name: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM records WHERE kind = ? AND name = ?", (kind, name))

    def exists_arn(self, arn: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM resources WHERE arn = ?", (arn,)).fetchone() is not None

    def tags(self, arn: str) -> list[dict[str, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM tags WHERE arn = ? ORDER BY key", (arn,)
            ).fetchall()
        return [{"Key": key, "Value": value} for key, value in rows]

    def add_tags(self, arn: str, tags: list[dict[str, str]]) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO tags VALUES (?, ?, ?)",
                [(arn, tag["Key"], tag.get("Value", "")) for tag in tags],
            )

    def delete_tags(self, arn: str, keys: list[str]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM tags WHERE arn = ? AND key = ?", [(arn, key) for key in keys])

    def close(self) -> None:
        with self._lock:
            self._db.close()
