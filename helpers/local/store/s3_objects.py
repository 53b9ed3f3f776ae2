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

import contextlib
import copy
import datetime as dt
import hashlib
import io
import json
import os
import threading
import uuid
from pathlib import Path
from typing import Any

from moto.s3.models import FakeBucket, FakeKey, S3Backend
from moto.s3.utils import _VersionedKeyStore
from moto.utilities.utils import LowercaseDict

from helpers.local.core.sqlite_file import open_database

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
    """Stands in for moto's per-object buffer: reads the body file on demand, holds nothing in memory.

    Before its file is removed (overwrite, delete) the body is pinned: an open descriptor keeps the
    bytes readable for requests that already hold this version, until the last of them lets it go.
    Live bodies hold no descriptor, so a bucket of many objects holds no open files.
    """

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self._position = 0
        self._fd: int | None = None
        self._fd_lock = threading.Lock()

    def pin(self) -> None:
        """Keep the bytes readable through an open descriptor; call before the file is unlinked."""
        with self._fd_lock:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDONLY)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            with self._fd_lock:
                offset += os.fstat(self._fd).st_size if self._fd is not None else self.path.stat().st_size
        elif whence == io.SEEK_CUR:
            offset += self._position
        self._position = offset
        return offset

    def tell(self) -> int:
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        # A missing file raises (FileNotFoundError): a body must never pass as empty.
        with self._fd_lock:
            if self._fd is not None:
                data = _read_at(self._fd, self._position, size)
            else:
                fd = os.open(self.path, os.O_RDONLY)
                try:
                    data = _read_at(fd, self._position, size)
                finally:
                    os.close(fd)
        self._position += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        with self._fd_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
        super().close()


def _read_at(fd: int, position: int, size: int | None) -> bytes:
    """Up to ``size`` bytes (all when negative) of ``fd`` from ``position``.

    Reads at an offset, so a file descriptor shared between threads needs no seek.
    """
    remaining = os.fstat(fd).st_size - position if size is None or size < 0 else size
    chunks = []
    while remaining > 0 and (chunk := os.pread(fd, min(remaining, _CHUNK * 64), position)):
        chunks.append(chunk)
        position += len(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class StoredKey(FakeKey):
    """A FakeKey whose body is a file in the state folder and whose metadata changes are saved."""

    _store: ObjectStore
    body_name: str

    def set_metadata(self, metadata: Any, replace: bool = False) -> None:
        super().set_metadata(metadata, replace)
        # PutObject, CopyObject and multipart completion set metadata after the key is stored.
        self._store.save_metadata(self)

    def dispose(self, garbage: bool = False) -> None:
        # The key store removes the body file; the reader closes when no request holds this version,
        # and multipart parts (which CopyObject shares between keys) go with their last holder.
        self.disposed = True

    def __deepcopy__(self, memo: dict[int, Any]) -> StoredKey:
        # ListObjectVersions deep-copies every version: share the read-only body (and its lock, so
        # reads of the shared position stay serial) instead of reading it into memory.
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        for name, value in self.__dict__.items():
            shared = name in ("_value_buffer", "lock", "_store", "multipart")
            clone.__dict__[name] = value if shared else copy.deepcopy(value, memo)
        return clone


class ObjectStore:
    """SQLite rows for buckets and objects, one file per object body under ``<root>/objects``."""

    def __init__(self, root: Path):
        self.objects_dir = root / "objects"
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        self._db = open_database(root / "s3.sqlite", SCHEMA)
        # Held while a key store swaps an object's versions and records the change, so memory and
        # SQLite always agree on which version is current, and in the same order.
        self.lock = threading.RLock()

    def body_path(self, name: str) -> Path:
        return self.objects_dir / name

    # Buckets

    def save_bucket(self, bucket: FakeBucket) -> None:
        with self.lock:
            self._db.execute(
                "INSERT OR REPLACE INTO buckets VALUES (?, ?, ?)",
                (bucket.name, bucket.region_name, bucket.creation_date.isoformat()),
            )

    def delete_bucket(self, name: str) -> None:
        with self.lock:
            self._db.execute("DELETE FROM buckets WHERE name = ?", (name,))

    # Objects

    def save_object(self, bucket: str, key: StoredKey) -> None:
        """Record ``key`` (already adopted) as the current version of its object."""
        with self.lock:
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
        with self.lock:
            self._db.execute(
                "UPDATE objects SET metadata = ? WHERE bucket = ? AND key = ? AND body = ?",
                (json.dumps(dict(key.metadata)), key.bucket_name, key.name, key.body_name),
            )

    def delete_object(self, bucket: str, key: str) -> None:
        with self.lock:
            self._db.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))

    def discard_body(self, key: Any) -> None:
        """Remove the file of a version that left its key store (after the rows say so)."""
        if isinstance(key, StoredKey):
            with contextlib.suppress(FileNotFoundError):
                key._value_buffer.pin()  # requests already holding this version still read it
            self.body_path(key.body_name).unlink(missing_ok=True)
        elif hasattr(key, "dispose"):
            key.dispose()

    def adopt(self, key: FakeKey) -> None:
        """Move a new key's body from moto's buffer to a file of ours and read it from there.

        Called before the key is visible to other requests: nobody else can dispose its buffer.
        """
        name = uuid.uuid4().hex
        path = self.body_path(name)
        digest = hashlib.md5(usedforsecurity=False) if key._etag is None else None
        try:
            with key.lock, path.open("wb") as out:
                buffer = key._value_buffer
                buffer.seek(0)
                while chunk := buffer.read(_CHUNK):
                    out.write(chunk)
                    if digest is not None:
                        digest.update(chunk)
                buffer.close()
                key._value_buffer = StoredBody(path)
        except BaseException:
            path.unlink(missing_ok=True)  # the request fails; leave no body without a row
            raise
        if digest is not None:
            key._etag = digest.hexdigest()
        key.__class__ = StoredKey
        key._store = self
        key.body_name = name

    # Start-up

    def restore(self, backend: S3Backend) -> None:
        """Put the stored buckets and objects back into ``backend`` without reading any body."""
        with self.lock:
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
        with self.lock:
            self._db.close()


class PersistentKeyStore(_VersionedKeyStore):
    """A bucket's objects; each change to an object's current version is saved before returning."""

    def __init__(self, store: ObjectStore, bucket: str):
        super().__init__()
        self._store = store
        self._bucket = bucket

    def setlist(self, key: Any, list_: Any) -> Any:
        versions = list(list_) if isinstance(list_, (list, tuple)) else [list_]
        self._adopt_new(versions)
        with self._store.lock:
            before = self.getlist(key, [])
            dict.__setitem__(self, key, versions)
            self._save_current(key)
            for version in before:
                if version not in versions:
                    self._store.discard_body(version)

    def __setitem__(self, key: str, value: Any) -> Any:
        self._adopt_new([value])
        with self._store.lock:
            super().__setitem__(key, value)
            self._save_current(key)

    def pop(self, key: str) -> None:  # type: ignore[override]
        with self._store.lock:
            versions = self.getlist(key, [])
            dict.pop(self, key)  # KeyError when absent: moto answers a delete of a missing key from it
            self._store.delete_object(self._bucket, key)
            for version in versions:
                self._store.discard_body(version)

    def _adopt_new(self, versions: list[Any]) -> None:
        # Outside the lock: copying a body takes long and the new keys are still private.
        for version in versions:
            if isinstance(version, FakeKey) and not isinstance(version, StoredKey):
                self._store.adopt(version)

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
