"""What a notebook's first lines cost: ``import helpers`` and ``helpers.connect()``, service already up.

Every sample is a fresh interpreter (``python -c ...``), so nothing is cached in-process; the
median of ``-n`` samples is printed. ``--compare OTHER_TREE`` runs the same commands against
another checkout of the course (e.g. an older commit unpacked with ``git archive``), interleaved
with this one so both see the same machine load. One service, started from this tree, answers both.

    .venv/bin/python bench/bench_connect.py -n 7 --compare /tmp/course-before
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _service import ROOT, running_service

from helpers.local.core.config import ServiceConfig

COMMANDS = {
    "interpreter start (`python -c pass`)": ["-c", "pass"],
    "`python -m helpers.local env`": ["-m", "helpers.local", "env"],
    "`import helpers.local.control`": ["-c", "import helpers.local.control"],
    "`import helpers`": ["-c", "import helpers"],
    "`import sagemaker` (the SDK alone)": ["-c", "import sagemaker"],
    "`import helpers; helpers.connect()`": ["-c", "import helpers; helpers.connect()"],
}
# jsonschema (which the SDK imports) builds ~40 Earley parsers at import when the optional
# rfc3987_syntax is installed (Jupyter installs it); this row shows the SDK's cost without them.
WITHOUT_RFC3987 = (
    "`helpers.connect()` without rfc3987_syntax",
    ["-c", "import sys; sys.modules['rfc3987_syntax'] = None; import helpers; helpers.connect()"],
)


def _environment(tree: Path, config: ServiceConfig) -> dict[str, str]:
    # As on a learner's machine: compiled modules are cached after the first run.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        PYTHONPATH=str(tree),
        SAGEMAKER_LOCAL_PORT=str(config.port),
        SAGEMAKER_LOCAL_STATE_DIR=str(config.state_dir),
        SAGEMAKER_SUPPRESS_V2_WARNING="1",
    )
    return env


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _sample(tree: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh process; CPU time is steadier on a busy machine."""
    cpu, started = _cpu_of_children(), time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=tree, env=env, check=True, capture_output=True)
    return time.perf_counter() - started, _cpu_of_children() - cpu


def _cell(runs: list[tuple[float, float]] | None) -> str:
    if not runs:
        return "—"
    wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    return f"{wall:.2f} s / {cpu:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="samples per command and tree (median printed)")
    parser.add_argument("--compare", type=Path, help="another checkout to measure in the same run")
    args = parser.parse_args()
    trees = {"this tree": ROOT}
    if args.compare:
        trees = {"compared": args.compare.resolve(), **trees}
    commands = dict(COMMANDS)
    with running_service() as (config, _):
        for command in commands.values():  # warm-up: writes each tree's bytecode cache
            for tree in trees.values():
                _sample(tree, command, _environment(tree, config))
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _round in range(args.n):
            for label, command in commands.items():
                for name, tree in trees.items():
                    env = _environment(tree, config)
                    samples.setdefault((label, name), []).append(_sample(tree, command, env))
            label, command = WITHOUT_RFC3987
            env = _environment(ROOT, config)
            samples.setdefault((label, "this tree"), []).append(_sample(ROOT, command, env))
    load = os.getloadavg()[0]
    print(f"median of {args.n} fresh processes, wall / CPU, load average {load:.1f}, {os.cpu_count()} CPUs")
    print("| command | " + " | ".join(trees) + " |")
    print("| --- |" + " --- |" * len(trees))
    for label in [*commands, WITHOUT_RFC3987[0]]:
        cells = [_cell(samples.get((label, name))) for name in trees]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
