"""A container's own command (``ContainerEntrypoint`` + ``ContainerArguments``), run in its folder.

On SageMaker the platform runs the command a job gives instead of the image's default one, inside a
container whose ``/opt/ml`` is the job's. Here a container is a process of the project's
environment and its ``/opt/ml`` is the job's folder, so the container path is mapped to that folder
wherever the platform hands it over: in the command, and in files the service stages for the
container that name it (:func:`to_local`). ``python``/``python3`` is the project's interpreter, and a
Python script runs in this (warm) process as script mode runs a training script.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from helpers.local.images.toolkit.container import DEFAULT_ML_ROOT

# "/opt/ml" as a whole path component: /opt/ml, /opt/ml/..., not /opt/mlflow.
_CONTAINER_ROOT = re.compile(r"(?<![\w.-])" + re.escape(DEFAULT_ML_ROOT) + r"(?![\w.-])")
_PYTHONS = ("python", "python3", f"python3.{sys.version_info.minor}")
_STDERR_LINES_KEPT = 40


def to_local(text: str, root: Path) -> str:
    """``text`` with every container path ``/opt/ml[/...]`` pointing into ``root`` instead."""
    return _CONTAINER_ROOT.sub(lambda _: str(root), text)


def local_command(command: list[str], root: Path) -> list[str]:
    """The command with its container paths mapped and ``python`` meaning the project's interpreter."""
    mapped = [to_local(arg, root) for arg in command]
    if mapped and Path(mapped[0]).name in _PYTHONS:
        mapped[0] = sys.executable
    return mapped


def command_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (this process's environment) with the project's interpreter first on PATH (``python3``)."""
    env = dict(os.environ if base is None else base)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "/usr/bin:/bin")])
    # The project's environment is every container's: pip may check what is installed, never change it.
    env.update(PIP_NO_INDEX="1", PIP_DRY_RUN="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_command(command: list[str], root: Path, cwd: Path | None = None) -> tuple[int, list[str]]:
    """Run the mapped command as a child process, its output passed on; (exit code, last stderr lines)."""
    sys.stdout.flush()
    proc = subprocess.Popen(
        local_command(command, root),
        cwd=cwd or root,
        env=command_environment(),
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    assert proc.stderr is not None
    lines: list[str] = []
    for line in proc.stderr:
        sys.stderr.write(line)
        lines = (lines + [line.rstrip("\n")])[-_STDERR_LINES_KEPT:]
    return proc.wait(), lines
