"""A record, in the state folder, of every container process the service started.

After the service is killed (``kill -9``, a crash, a closed terminal) its containers keep running:
model servers stay up on their ports and training jobs keep the CPU busy. Each one is recorded here
with its pid and its start time (field 22 of ``/proc/<pid>/stat``); the next start stops those
that are still the same process. The start time tells a reused pid apart, so a process that
merely got an old pid is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from pathlib import Path

from helpers.local.core.processes import is_same_process, process_start_time

log = logging.getLogger("helpers.local")
GRACE_SECONDS = 3.0


class ChildLedger:
    """One small JSON file per live child, so a killed service leaves a readable, complete record."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.owner = {"pid": os.getpid(), "startTime": process_start_time(os.getpid())}

    def _entry(self, pid: int) -> Path:
        return self.folder / f"{pid}.json"

    def record(self, pid: int, command: list[str]) -> None:
        entry = {"pid": pid, "startTime": process_start_time(pid), "command": command, "service": self.owner}
        temporary = self.folder / f".{pid}.tmp"
        temporary.write_text(json.dumps(entry))
        os.replace(temporary, self._entry(pid))  # never a half-written entry

    def forget(self, pid: int) -> None:
        self._entry(pid).unlink(missing_ok=True)

    def stop_leftovers(self, grace: float = GRACE_SECONDS) -> list[int]:
        """Stop every recorded process a service that is gone left running; returns their pids.

        Entries of a service that still runs on this state folder are kept: its children are its own.
        """
        leftovers: list[tuple[int, int]] = []
        for path in self.folder.iterdir():
            try:
                entry = json.loads(path.read_text())
            except (OSError, ValueError):
                path.unlink(missing_ok=True)  # a temporary file or an entry cut short by a crash
                continue
            owner = entry.get("service") or {}
            if owner != self.owner and is_same_process(owner.get("pid", 0), owner.get("startTime")):
                continue
            if is_same_process(entry["pid"], entry.get("startTime")):
                leftovers.append((entry["pid"], entry["startTime"]))
            path.unlink(missing_ok=True)
        if leftovers:
            _stop_groups(leftovers, grace)
            log.warning(
                "Stopped %d container process(es) left running by a service that was killed", len(leftovers)
            )
        return [pid for pid, _ in leftovers]


def _stop_groups(processes: list[tuple[int, int]], grace: float) -> None:
    # Every container leads its own process group (start_new_session), so the group id is its pid.
    for pid, _ in processes:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(is_same_process(pid, started) for pid, started in processes):
        time.sleep(0.02)
    for pid, started in processes:
        if is_same_process(pid, started):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
