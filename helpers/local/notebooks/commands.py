"""One command of a notebook instance's setup (git clone, a lifecycle script) as a tracked child.

Like every process the service starts, it is in the process ledger, leads its own process group
(a timeout stops what it started too) and has its output read line by line.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from helpers.local.containers.processes import PROCESSES, terminate


@dataclass
class Outcome:
    code: int | None  # None: stopped at the time limit
    lines: list[str] = field(default_factory=list)  # the last lines of its output


def run_command(
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    on_line: Callable[[str], None] | None = None,
    keep: int = 20,
) -> Outcome:
    proc = PROCESSES.spawn(args, env, cwd)
    outcome = Outcome(code=None)

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            outcome.lines = [*outcome.lines[-(keep - 1) :], line.rstrip("\n")]
            if on_line is not None:
                on_line(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        outcome.code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        terminate(proc, 5)
    PROCESSES.discard(proc)
    reader.join(5)
    return outcome
