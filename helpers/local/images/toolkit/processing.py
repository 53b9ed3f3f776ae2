"""A processing container: the job's ``ContainerEntrypoint`` + ``ContainerArguments`` in its folder.

As on SageMaker (developer guide, "How Amazon SageMaker Processing Runs Your Processing Container
Image" and "How Amazon SageMaker Processing Configures Input and Output"), the platform has put the
inputs under ``/opt/ml/processing/...`` and written ``/opt/ml/config/processingjobconfig.json`` and
``resourceconfig.json`` before the command starts, uploads what the command leaves in the outputs'
folders after it exits 0, and keeps the first KB of ``/opt/ml/output/message`` as the ExitMessage.

The command's ``/opt/ml`` paths are mapped into the job's folder (:mod:`.entrypoint`), and the
code it runs gets the narrow ``/opt/ml`` view of :mod:`.path_view`. ``python script.py args`` (the
SDK's ScriptProcessor and SKLearnProcessor) runs in this process with :mod:`runpy`, so the image's
warm imports are reused; any other command (FrameworkProcessor's ``/bin/bash runproc.sh``) runs as a
child process, a shell script from a copy of its text with the container paths mapped.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from helpers.local.images.toolkit import path_view
from helpers.local.images.toolkit.entrypoint import local_command, run_command, to_local
from helpers.local.images.toolkit.script_mode import run_python

CONFIG_FILE = Path("config") / "processingjobconfig.json"
_SHELLS = ("sh", "bash", "dash")
MAPPED_SCRIPTS = Path("config") / "local-scripts"  # mapped copies of shell entry points


def _python_script(command: list[str]) -> tuple[Path, list[str]] | None:
    """``(script, args)`` when the command is ``python <script.py> ...`` with no interpreter options."""
    if len(command) >= 2 and command[0] == sys.executable and command[1].endswith(".py"):
        return Path(command[1]), command[2:]
    return None


def _map_shell_script(command: list[str], root: Path) -> list[str]:
    """A shell entry point's text names container paths too: run a copy with them mapped."""
    if len(command) < 2 or Path(command[0]).name not in _SHELLS:
        return command
    script = Path(command[1])
    if not script.is_file():
        return command
    copy = root / MAPPED_SCRIPTS / script.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(to_local(script.read_text(errors="replace"), root))
    return [command[0], str(copy), *command[2:]]


def run_processing(root: Path) -> int:
    """Run the job's command; returns its exit code."""
    config = json.loads((root / CONFIG_FILE).read_text())
    app = config.get("AppSpecification", {})
    command = list(app.get("ContainerEntrypoint") or []) + list(app.get("ContainerArguments") or [])
    path_view.install(root)
    local = local_command(command, root)
    print(f"Running the processing command: {' '.join(command)}", flush=True)
    script = _python_script(local)
    if script is None:
        code, _ = run_command(_map_shell_script(local, root), root)
        return code
    path, args = script
    if not path.is_file():
        print(
            f"python3: can't open file {command[1]!r}: [Errno 2] No such file or directory", file=sys.stderr
        )
        return 2  # what the interpreter exits with
    code, _ = run_python(path, args, cwd=Path(os.getcwd()))
    return code
