"""A narrow view of ``/opt/ml`` for Python code inside a local processing container.

On SageMaker a processing script reads and writes ``/opt/ml/processing/...`` because that is where
the platform mounts its inputs and outputs; the public examples hard-code those paths
(``pd.read_csv("/opt/ml/processing/input/train.csv")``). Here the container is a process on the
host, its ``/opt/ml`` is the job's folder, and the host's real ``/opt`` is never touched. So inside
the container, and only there, the Python file APIs that take a path (``open``, ``io.open`` and the
``os`` functions that ``pathlib``, ``shutil``, ``glob``, pandas and numpy go through) see a path
that starts with ``/opt/ml`` as the same path inside the job's folder.

What does not go through these functions does not see the view: C extensions that open files
themselves, and programs other than Python. A shell entry point's own text is mapped before it runs
(see :mod:`.processing`), and a ``python`` it starts installs the view through ``sitecustomize``.
"""

from __future__ import annotations

import builtins
import io
import os
from pathlib import Path
from typing import Any

from helpers.local.images.toolkit.container import DEFAULT_ML_ROOT

# Set for every process of the container: the folder that stands in for /opt/ml.
VIEW_ENV = "SAGEMAKER_LOCAL_OPT_ML_VIEW"
SITE_DIR = Path(__file__).with_name("opt_ml_site")  # holds the sitecustomize of child interpreters
_PREFIX = DEFAULT_ML_ROOT + "/"
# os functions whose first argument is a path (the others are passed through as they are).
_ONE_PATH = (
    "open", "stat", "lstat", "listdir", "scandir", "mkdir", "rmdir", "remove", "unlink", "chdir",
    "access", "chmod", "utime", "truncate", "readlink", "chown", "statvfs",
)  # fmt: skip
_TWO_PATHS = ("rename", "replace", "link", "symlink")
_installed: list[str] = []


def mapped(path: Any, root: str) -> Any:
    """``path`` inside ``root`` when it names ``/opt/ml`` or something under it; otherwise unchanged."""
    if isinstance(path, os.PathLike):
        raw = os.fspath(path)
        if isinstance(raw, str) and (raw == DEFAULT_ML_ROOT or raw.startswith(_PREFIX)):
            return root + raw[len(DEFAULT_ML_ROOT) :]
        return path
    if isinstance(path, str) and (path == DEFAULT_ML_ROOT or path.startswith(_PREFIX)):
        return root + path[len(DEFAULT_ML_ROOT) :]
    return path


def _one(function, root: str):
    def view(path: Any, *args: Any, **kwargs: Any) -> Any:
        local = mapped(path, root)
        try:
            return function(local, *args, **kwargs)
        except OSError as exc:
            if local is not path and exc.filename == local:
                exc.filename = path  # the error names the path the script used, as in the container
            raise

    view.__wrapped__ = function  # type: ignore[attr-defined]
    return view


def _two(function, root: str):
    def view(source: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
        return function(mapped(source, root), mapped(target, root), *args, **kwargs)

    view.__wrapped__ = function  # type: ignore[attr-defined]
    return view


def install(root: Path) -> None:
    """Give this process (and the Python processes it starts) the view of ``/opt/ml`` as ``root``."""
    real_root = str(root)
    if _installed:
        return
    _installed.append(real_root)
    builtins.open = io.open = _one(io.open, real_root)  # type: ignore[assignment]
    for name in _ONE_PATH:
        if hasattr(os, name):
            setattr(os, name, _one(getattr(os, name), real_root))
    for name in _TWO_PATHS:
        setattr(os, name, _two(getattr(os, name), real_root))
    os.environ[VIEW_ENV] = real_root
    project = str(Path(__file__).resolve().parents[4])  # so that sitecustomize finds this module
    paths = [str(SITE_DIR), project, os.environ.get("PYTHONPATH", "")]
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)


def install_from_environment() -> None:
    """What a child interpreter's ``sitecustomize`` calls: the view its container set up, if any."""
    root = os.environ.get(VIEW_ENV)
    if root:
        install(Path(root))
