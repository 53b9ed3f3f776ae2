"""S3 buckets and objects written through to the state folder, so they outlive a restart or a crash.

moto keeps buckets in ``S3Backend.buckets`` and each bucket's objects in a ``_VersionedKeyStore``.
Every way an object is made or removed (PutObject, multipart completion, CopyObject,
DeleteObject(s), the service's own writes) ends in that key store's ``setlist``, ``__setitem__``
or ``pop``, and every bucket change in the bucket dict. Both are replaced here by subclasses that
write each change before the request is answered: metadata to SQLite, the body to a file whose
name the service makes (keys may hold ``..`` or ``//``, so they never become paths).

An object's body then lives only in its file: moto's in-memory buffer is swapped for a reader of
that file. Restored objects get the same reader, so start-up reads metadata, never bodies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

from moto.s3.models import FakeBucket, FakeKey, S3Backend
from moto.s3.utils import _VersionedKeyStore
from moto.utilities.utils import LowercaseDict

SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    metadata TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
);
"""
_CHUNK = 1 << 20


class StoredBody(io.RawIOBase):
    """Stands in for moto's per-object buffer: reads the body file on demand, holds nothing."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            offset += self.path.stat().st_size
        elif whence == io.SEEK_CUR:
            offset += self._position
        self._position = offset
        return offset

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        try:
            with self.path.open("rb") as body:
                body.seek(self._position)
                data = body.read() if size is None or size < 0 else body.read(size)
        except FileNotFoundError:  # removed by a concurrent overwrite or delete
            data = b""
        self._position += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)


class StoredKey(FakeKey):
    """A FakeKey whose body is a file in the state folder and whose metadata changes are saved."""

    _store: ObjectStore
    body_name: str

    def set_metadata(self, metadata: Any, replace: bool = False) -> None:
        super().set_metadata(metadata, replace)
        # PutObject, CopyObject and multipart completion set metadata after the key is stored.
        self._store.save_metadata(self)


class ObjectStore:
    """SQLite rows for buckets and objects, one file per object body under ``<root>/objects``."""

    def __init__(self, root: Path):
        self.objects_dir = root / "objects"
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(root / "s3.sqlite"), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()

    def body_path(self, name: str) -> Path:
        return self.objects_dir / name

    # Buckets

    def save_bucket(self, bucket: FakeBucket) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO buckets VALUES (?, ?, ?)",
                (bucket.name, bucket.region_name, bucket.creation_date.isoformat()),
            )

    def delete_bucket(self, name: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM buckets WHERE name = ?", (name,))

    # Objects

    def save_object(self, bucket: str, key: FakeKey) -> None:
        """Make ``key`` the stored current version of its object (writes its body once)."""
        if not isinstance(key, StoredKey):
            self._adopt(key)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    bucket,
                    key.name,
                    key.body_name,
                    key.size,
                    key.etag.strip('"'),
                    key.last_modified.isoformat(),
                    key.storage_class or "STANDARD",
                    json.dumps(dict(key.metadata)),
                ),
            )

    def save_metadata(self, key: StoredKey) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE objects SET metadata = ? WHERE bucket = ? AND key = ? AND body = ?",
                (json.dumps(dict(key.metadata)), key.bucket_name, key.name, key.body_name),
            )

    def delete_object(self, bucket: str, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))

    def discard_body(self, key: Any) -> None:
        """Remove the file of a version that left its key store (after the rows say so)."""
        if isinstance(key, StoredKey):
            self.body_path(key.body_name).unlink(missing_ok=True)

    def _adopt(self, key: FakeKey) -> None:
        """Move a new key's body from moto's buffer to a file of ours and read it from there."""
        name = uuid.uuid4().hex
        digest = hashlib.md5(usedforsecurity=False) if key._etag is None else None
        with key.lock, self.body_path(name).open("wb") as out:
            buffer = key._value_buffer
            buffer.seek(0)
            while chunk := buffer.read(_CHUNK):
                out.write(chunk)
                if digest is not None:
                    digest.update(chunk)
            buffer.close()
            key._value_buffer = StoredBody(self.body_path(name))
        if digest is not None:
            key._etag = digest.hexdigest()
        key.__class__ = StoredKey
        key._store = self
        key.body_name = name

    # Start-up

    def restore(self, backend: S3Backend) -> None:
        """Put the stored buckets and objects back into ``backend`` without reading any body."""
        with self._lock:
            buckets = self._db.execute("SELECT name, region, created FROM buckets").fetchall()
            objects = self._db.execute(
                "SELECT bucket, key, body, size, etag, last_modified, storage_class, metadata FROM objects"
            ).fetchall()
        restored = PersistentBuckets(self)
        for name, region, created in buckets:
            bucket = FakeBucket(name=name, account_id=backend.account_id, region_name=region)
            bucket.creation_date = dt.datetime.fromisoformat(created)
            bucket.keys = PersistentKeyStore(self, name)
            dict.__setitem__(restored, name, bucket)
        for bucket_name, *row in objects:
            bucket = restored.get(bucket_name)
            if bucket is not None:
                key = self._restored_key(backend, bucket_name, *row)
                dict.__setitem__(bucket.keys, key.name, [key])
        backend.buckets = restored
        self._remove_unreferenced_bodies({row[2] for row in objects})

    def _restored_key(
        self,
        backend: S3Backend,
        bucket: str,
        key_name: str,
        body: str,
        size: int,
        etag: str,
        last_modified: str,
        storage_class: str,
        metadata: str,
    ) -> StoredKey:
        key = StoredKey(
            name=key_name,
            value=b"",
            account_id=backend.account_id,
            region_name=backend.region_name,
            storage=storage_class,
            etag=etag,
            version_id="null",
            bucket_name=bucket,
        )
        key._value_buffer.close()
        key._value_buffer = StoredBody(self.body_path(body))
        key.contentsize = size
        key.last_modified = dt.datetime.fromisoformat(last_modified)
        key._metadata = LowercaseDict()
        key._metadata.update(json.loads(metadata))
        key._store = self
        key.body_name = body
        return key

    def _remove_unreferenced_bodies(self, referenced: set[str]) -> None:
        # Left by a crash between writing a body and recording it, or before a replaced body went.
        for entry in os.scandir(self.objects_dir):
            if entry.name not in referenced:
                os.unlink(entry.path)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PersistentKeyStore(_VersionedKeyStore):
    """A bucket's objects; each change to an object's current version is saved before returning."""

    def __init__(self, store: ObjectStore, bucket: str):
        super().__init__()
        self._store = store
        self._bucket = bucket

    def setlist(self, key: Any, list_: Any) -> Any:
        before = list(self.getlist(key, []))
        super().setlist(key, list_)
        self._save_current(key)
        kept = self.getlist(key, [])
        for version in before:
            if version not in kept:
                self._store.discard_body(version)

    def __setitem__(self, key: str, value: Any) -> Any:
        super().__setitem__(key, value)
        self._save_current(key)

    def pop(self, key: str) -> None:  # type: ignore[override]
        versions = list(self.getlist(key, []))
        super().pop(key)
        self._store.delete_object(self._bucket, key)
        for version in versions:
            self._store.discard_body(version)

    def _save_current(self, key: str) -> None:
        current = self.get(key)
        if isinstance(current, FakeKey):
            self._store.save_object(self._bucket, current)
        else:  # a delete marker (versioned bucket) hides the object
            self._store.delete_object(self._bucket, key)


class PersistentBuckets(dict):
    """``S3Backend.buckets``: CreateBucket and DeleteBucket saved, new buckets get a saving key store."""

    def __init__(self, store: ObjectStore):
        super().__init__()
        self._store = store

    def __setitem__(self, name: str, bucket: FakeBucket) -> None:
        if not isinstance(bucket.keys, PersistentKeyStore):
            bucket.keys = PersistentKeyStore(self._store, name)
        super().__setitem__(name, bucket)
        self._store.save_bucket(bucket)

    def pop(self, name: str, *default: Any) -> Any:
        bucket = super().pop(name, *default)
        self._store.delete_bucket(name)
        return bucket


def persist_s3(backend: S3Backend, root: Path) -> ObjectStore:
    """Restore ``backend``'s buckets and objects from ``root`` and save every later change there."""
    store = ObjectStore(root)
    store.restore(backend)
    return store
