"""Paths built from request data (S3 keys, channel, variant and resource names) stay in their folder.

S3 keys may legally hold ``..``, ``.`` and empty segments (``data//train.csv``); as local file
names those would climb out of a job's folder or land at ``/``. Empty segments collapse, as a file
system would; ``.`` and ``..`` segments are refused, naming the key. Every deletion checks that
it removes something inside the folder the service made for it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath


class UnsafePath(ValueError):
    """A name or key that would leave its folder; the message says which and what to do."""


def child(root: Path, *names: str) -> Path:
    """``root/<name>/...`` for names that must each be one plain path segment."""
    for name in names:
        if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
            raise UnsafePath(f"'{name}' is not a plain name: it cannot hold '/', or be '.' or '..'.")
    return root.joinpath(*names)


def relative_key_path(key: str, base: str) -> PurePosixPath:
    """Where the S3 object ``key`` goes under a channel's folder, given the prefix's folder ``base``."""
    segments = [segment for segment in key[len(base) :].split("/") if segment]
    if not segments or any(segment in (".", "..") or "\0" in segment for segment in segments):
        raise UnsafePath(
            f"the S3 object key '{key}' has a '.' or '..' segment, which cannot become a file name inside "
            "the job's folder: rename or delete that object."
        )
    return PurePosixPath(*segments)


def is_within(path: Path, root: Path) -> bool:
    real_root = os.path.realpath(root)
    return os.path.commonpath([os.path.realpath(path), real_root]) == real_root


def inside(root: Path, relative: PurePosixPath) -> Path:
    """``root / relative``, checked to resolve inside ``root`` (a symlink cannot lead out)."""
    path = root.joinpath(*relative.parts)
    if not is_within(path, root):
        raise UnsafePath(f"'{relative}' would leave the folder {root}.")
    return path


def remove_tree(path: Path, root: Path) -> None:
    """Delete ``path`` (a folder the service made) only if it lies strictly inside ``root``."""
    if os.path.realpath(path) == os.path.realpath(root) or not is_within(path, root):
        raise UnsafePath(f"refusing to delete {path}: it is not inside {root}.")
    shutil.rmtree(path, ignore_errors=True)
