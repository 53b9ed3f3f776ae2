"""Where the IMDB data and its derived files are kept between runs."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

DEFAULT_ROOT = Path("~/.cache/sagemaker-course")


def cache_dir() -> Path:
    """Return (and create) the IMDB cache folder.

    ``$COURSE_DATA_DIR/imdb`` when ``COURSE_DATA_DIR`` is set, else
    ``~/.cache/sagemaker-course/imdb``. Read on every call so tests and notebooks can
    redirect it by setting the variable.
    """
    root = Path(os.environ.get("COURSE_DATA_DIR") or DEFAULT_ROOT).expanduser()
    path = root / "imdb"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_pickle(path: Path, obj: Any) -> None:
    """Write atomically, so an interrupted run never leaves a half-written cache file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_pickle(path: Path) -> Any | None:
    """Return the cached object, or None when it is missing or unreadable."""
    try:
        with path.open("rb") as f:
            return pickle.load(f)
    except (OSError, EOFError, ImportError, AttributeError, ValueError, pickle.UnpicklingError):
        return None
