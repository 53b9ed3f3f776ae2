"""Which process a pid is: the start time in ``/proc/<pid>/stat`` tells a reused pid apart.

Both the service (its record of container processes) and its controller (the pid file of the
service itself) signal a process only if it is still the one they started.
"""

from __future__ import annotations

from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    """Fields 3 and on of ``/proc/<pid>/stat`` (the command name before them may hold spaces)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def process_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot, or None if there is no such process."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None  # field 22 overall


def _running(pid: int, start_time: int) -> bool:
    """Whether ``pid`` is still the process that started at ``start_time`` and has not exited."""
    fields = _stat(pid)
    return fields is not None and int(fields[19]) == start_time and fields[0] not in ("Z", "X")


def is_same_process(pid: int, start_time: int | None) -> bool:
    """Whether ``pid`` is still the live process that started at ``start_time``."""
    return start_time is not None and _running(pid, start_time)
