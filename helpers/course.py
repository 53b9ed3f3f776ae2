"""Run the course headlessly: every Tutorial and Solutions notebook, in local mode.

``python -m helpers.course`` executes the notebooks with papermill into ``build/`` (executed
``.ipynb`` and HTML), several at once against one local service, longest first, and prints one
line per notebook as it ends: status, wall time, its key result, for the IMDB lessons which data
set it used, and what it would have cost on AWS (the line ``helpers.print_lesson_cost`` prints);
then the total cost, the total wall time and the pass count, and finally whether anything was left
running in the service (a loud warning and a non-zero exit if so). ``--in-place`` stores the outputs
back into the notebooks themselves (what gets committed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from helpers.local.core.pricing import dollars

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("Tutorial", "Solutions")
# A notebook states its headline result on a line of its own, e.g. "Test MSE: 13.27".
RESULT_LINE = re.compile(r"^(Test [\w -]+|Accuracy[\w -]*|Best [\w -]+|Failed requests): .+$", re.MULTILINE)
# What helpers.datasets.imdb.load_imdb prints about the reviews it uses (see its load.py).
IMDB_LINE = re.compile(r"^IMDB: .+$", re.MULTILINE)
# A name made of a literal prefix and a timestamp to the second, e.g.
# "boston-xgboost-" + time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime()).
TIMESTAMPED_NAME = re.compile(r"""f?["']([^"'\n]+)["']\s*\+\s*time\.strftime\(\s*["']([^"']+)["']""")
# Kernel options: its own log (start-up warnings about its local TCP transport, the interrupt that
# papermill's shutdown sends) is noise here, as a notebook's errors are in its outputs; and a
# headless run has no use for the command history IPython would write to one shared SQLite file.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL", "--HistoryManager.enabled=False"]
# ``import jsonschema`` (done by ``import sagemaker``) builds some 35 Earley parsers for its optional
# IRI format checks when rfc3987_syntax is installed: seconds of CPU per kernel for a check no
# lesson uses. Without the module jsonschema skips those two formats, as it does by design.
SKIP_IRI_PARSERS = "__import__('sys').modules.setdefault('rfc3987_syntax', None)"
TIMINGS_FILE = "course-timings.json"
# What helpers.print_lesson_cost prints last (see helpers/costs.py).
COST_LINE = re.compile(r"^This lesson would have cost about \$(\d+(?:\.\d+)?) on AWS", re.MULTILINE)


@dataclass
class Outcome:
    notebook: Path
    ok: bool
    seconds: float
    result: str
    data_set: str = ""  # IMDB lessons: which reviews load_imdb used
    error: str = ""
    cost: float | None = None  # USD on AWS, from the lesson's "This lesson would have cost" line


def notebooks(root: Path = ROOT, pattern: str | None = None) -> list[Path]:
    found = [p for folder in FOLDERS for p in sorted((root / folder).glob("*.ipynb"))]
    return [p for p in found if pattern is None or pattern.lower() in p.name.lower()]


def all_results(executed) -> str:
    """Every headline line the notebook printed, one per line."""
    return "\n".join(
        m.group(0)
        for cell in executed.cells
        for o in cell.get("outputs", [])
        for m in RESULT_LINE.finditer(_text(o))
    )


def key_result(executed) -> str:
    lines = all_results(executed).splitlines()
    return "; ".join(lines[-3:]) if lines else "-"


def data_set_used(executed) -> str:
    """Which IMDB reviews the notebook used, from the line load_imdb printed; "" if it loaded none."""
    lines = [
        m.group(0)
        for cell in executed.cells
        for o in cell.get("outputs", [])
        for m in IMDB_LINE.finditer(_text(o))
    ]
    if not lines:
        return ""
    line = lines[-1]
    if "using the full" in line:
        return "full review set"
    if "WARNING" in line:  # the download failed and load_imdb fell back on its own
        return "bundled fallback corpus (the full set could not be had)"
    return "bundled fallback corpus"


def lesson_cost(executed) -> float | None:
    """The would-be AWS cost the notebook printed last (``helpers.print_lesson_cost``); None if none."""
    amounts = [
        float(m.group(1))
        for cell in executed.cells
        for o in cell.get("outputs", [])
        for m in COST_LINE.finditer(_text(o))
    ]
    return amounts[-1] if amounts else None


def _text(output) -> str:
    text = output.get("text") or output.get("data", {}).get("text/plain", "")
    return text if isinstance(text, str) else "".join(text)


def run_notebook(path: Path, output: Path, parameters: dict | None = None) -> Outcome:
    import nbformat
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    ok, error = True, ""
    try:
        papermill.execute_notebook(
            str(path),
            str(output),
            parameters=parameters or {},
            cwd=str(path.parent),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            # Written once at the end (also after a failure), not twice per cell.
            request_save_on_cell_execute=False,
            extra_arguments=[*KERNEL_ARGUMENTS, f"--IPKernelApp.exec_lines={SKIP_IRI_PARSERS}"],
        )
    except Exception as exc:  # papermill keeps the partial notebook: report and go on
        ok = False
        message = str(exc).strip()
        error = f"{type(exc).__name__}: {message.splitlines()[-1][:300] if message else ''}"
    seconds = time.time() - started
    if not output.exists():
        return Outcome(path, ok, seconds, "-", error=error)
    coalesce_streams(output)
    executed = nbformat.read(output, as_version=4)
    return Outcome(
        path, ok, seconds, key_result(executed), data_set_used(executed), error, lesson_cost(executed)
    )


def coalesce_streams(path: Path) -> None:
    """Merge consecutive stream outputs of a cell (the SDK prints its progress dots one by one)."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        merged = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (
                previous
                and output.output_type == previous.output_type == "stream"
                and output.name == previous.name
            ):
                previous.text += output.text
            else:
                merged.append(output)
        if cell.cell_type == "code":
            cell.outputs = merged
    nbformat.write(notebook, path)


def strip_run_metadata(path: Path) -> None:
    """Drop papermill's bookkeeping from a notebook stored in place: it is not course material."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.pop("papermill", None)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)


def export_html(notebook: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    notebook.with_suffix(".html").write_text(body, encoding="utf-8")


def timestamped_names(path: Path) -> set[tuple[str, str]]:
    """(prefix, strftime format) of every resource name the notebook makes from a timestamp."""
    import nbformat

    cells = nbformat.read(path, as_version=4).cells
    return {m.groups() for c in cells if c.cell_type == "code" for m in TIMESTAMPED_NAME.finditer(c.source)}


def name_clashes(paths: list[Path]) -> dict[Path, set[Path]]:
    """For each notebook, the others that could create a resource of the same name at the same time.

    Two notebooks that both name a training job "boston-xgboost-" + the current second would
    collide if they reached that cell in the same second; such notebooks never run at once.
    """
    names = {p: timestamped_names(p) for p in paths}
    return {p: {q for q in paths if q != p and names[p] & names[q]} for p in paths}


def estimated_seconds(path: Path, timings: dict[str, float]) -> float:
    """The notebook's wall time in the last run, else a guess from the SageMaker work it does."""
    if (known := timings.get(_key(path))) is not None:
        return known
    import nbformat

    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    jobs = len(re.findall(r"\.fit\(|create_training_job\(|\.transform\(|create_transform_job\(", code))
    tuned = sum(int(a or b) for a, b in re.findall(r"max_jobs=(\d+)|MaxNumberOfTrainingJobs\W+(\d+)", code))
    endpoints = len(re.findall(r"\.deploy\(|create_endpoint\(|update_endpoint\(", code))
    return 10.0 + 3.0 * (jobs + tuned) + 5.0 * endpoints


def next_runnable(pending: list[Path], running: set[Path], clashes: dict[Path, set[Path]]) -> Path | None:
    """The first pending notebook (they are longest first) that clashes with none running."""
    return next((p for p in pending if not clashes.get(p, set()) & running), None)


def default_jobs() -> int:
    """Notebooks at once: one more than the cores, as every notebook also waits on its jobs."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores + 1


def _key(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def imdb_downloaders(paths: list[Path]) -> set[Path]:
    """The notebooks that would download the IMDB archive (IMDB_SOURCE unset or a URL)."""
    source = os.environ.get("IMDB_SOURCE") or ""
    if source and not source.startswith(("http://", "https://")):
        return set()
    return {p for p in paths if "load_imdb(" in p.read_text(encoding="utf-8")}


def _download_imdb() -> None:
    """Fetch (and extract into the cache) the reviews once, before the IMDB lessons start: side by
    side, each would download the same archive into the same partial file."""
    from .datasets import imdb

    try:
        imdb.load_imdb(progress=False)
    except Exception as exc:  # the lessons meet (and report) the same error themselves
        print(f"IMDB: {type(exc).__name__}: {exc}", flush=True)


def _execute(path: Path, target: Path, in_place: bool) -> Outcome:
    """One notebook, in a worker process: run it, then store it in place or export its HTML."""
    outcome = run_notebook(path, target)
    if target.exists() and in_place:
        strip_run_metadata(target)
    elif target.exists():
        export_html(target)
    return outcome


def run_course(paths: list[Path], build_dir: Path, jobs: int, in_place: bool = False) -> list[Outcome]:
    """Run ``paths`` ``jobs`` at a time, longest first, printing a line as each one ends."""
    timings_file = build_dir / TIMINGS_FILE
    try:
        timings = json.loads(timings_file.read_text())
    except (OSError, ValueError):
        timings = {}
    pending = sorted(paths, key=lambda p: -estimated_seconds(p, timings))
    clashes = name_clashes(paths)
    outcomes: list[Outcome] = []
    running: dict[Future, Path] = {}
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        downloaders = imdb_downloaders(paths)
        download = pool.submit(_download_imdb) if downloaders else None
        while pending or running:
            if download and download.done():
                download = None
            runnable = [p for p in pending if not (download and p in downloaders)]
            while len(running) < jobs - bool(download) and (
                path := next_runnable(runnable, set(running.values()), clashes)
            ):
                runnable.remove(path)
                pending.remove(path)
                target = path if in_place else build_dir / path.parent.name / path.name
                running[pool.submit(_execute, path, target, in_place)] = path
            done, _ = wait([*running, *([download] if download else [])], return_when=FIRST_COMPLETED)
            for future in done - {download}:
                outcome = future.result()
                del running[future]
                outcomes.append(outcome)
                print(format_outcome(outcome), flush=True)
    timings.update({_key(o.notebook): round(o.seconds, 1) for o in outcomes if o.ok})
    build_dir.mkdir(parents=True, exist_ok=True)
    timings_file.write_text(json.dumps(timings, indent=1, sort_keys=True) + "\n")
    return outcomes


def format_outcome(outcome: Outcome) -> str:
    status = "ok  " if outcome.ok else "FAIL"
    line = f"{status} {outcome.seconds:6.1f} s  {_key(outcome.notebook)}: {outcome.result}"
    if outcome.data_set:
        line += f"  [IMDB data: {outcome.data_set}]"
    line += f"  cost: {dollars(outcome.cost)}" if outcome.cost is not None else "  cost: —"
    return line + (f"\n     {outcome.error}" if outcome.error else "")


def cost_summary(outcomes: list[Outcome]) -> str:
    costed = [o.cost for o in outcomes if o.cost is not None]
    return (
        f"Would-be AWS cost: about {dollars(sum(costed))} on-demand "
        f"({len(costed)} of {len(outcomes)} notebooks printed their cost)"
    )


def left_running_lines(report: dict) -> list[str]:
    """``nothing left running``, or a loud warning naming each resource still billed on AWS."""
    running = [row for row in report["usage"] if row["running"]]
    if not running and not report["starting"]:
        return ["nothing left running"]
    lines = ["", "!" * 78, "WARNING: still running after the course; on AWS these would go on costing:"]
    for row in running:
        name = row["name"] + (f" ({row['variant']})" if row.get("variant") else "")
        hourly = f"${row['hourly']:.3f}/h" if row["hourly"] is not None else row["noPrice"]
        lines.append(f"  {row['kind']} {name}: {row['instanceType']} x {row['instanceCount']}, {hourly}")
    for item in report["starting"]:
        lines.append(f"  {item['kind']} {item['name']}: {item['status']}")
    lines += ["Delete them (the lessons' clean-up cells), or run their clean-up now.", "!" * 78]
    return lines


def report_left_running(config) -> bool:
    """Print what the service still runs; True if anything is."""
    from helpers.local import control

    try:
        lines = left_running_lines(control.usage(config))
    except OSError as exc:
        lines = [f"WARNING: could not ask the service what is still running: {exc}"]
    for line in lines:
        print(line)
    return lines != ["nothing left running"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.course", description=__doc__.splitlines()[0])
    parser.add_argument("--in-place", action="store_true", help="store outputs in the notebooks themselves")
    parser.add_argument("--only", help="run only notebooks whose name contains this text")
    parser.add_argument("--build-dir", default=str(ROOT / "build"))
    parser.add_argument(
        "--jobs",
        type=int,
        help=f"notebooks run at once (default: {default_jobs()}, one more than the cores; "
        "1 with --in-place, whose stored outputs include timings such as 'Training seconds: 1')",
    )
    args = parser.parse_args(argv)
    jobs = args.jobs or (1 if args.in_place else default_jobs())

    from helpers.local import control
    from helpers.local.core.config import load_config

    sys.modules.setdefault("rfc3987_syntax", None)  # nbformat's jsonschema here too: see SKIP_IRI_PARSERS
    # Chosen through the environment rather than an injected parameter cell, so notebooks stored
    # in place keep `mode = None` and still pick AWS on a notebook instance.
    os.environ["SAGEMAKER_COURSE_MODE"] = "local"
    started = time.time()
    config = load_config()
    already_running = control.health(config) is not None
    control.start_current(config)  # once, before any kernel: no notebook waits for it
    paths = notebooks(pattern=args.only)
    print(f"Running {len(paths)} notebooks, {jobs} at a time, against the local service at {config.url}")
    left_running = False
    try:
        outcomes = run_course(paths, Path(args.build_dir), jobs, args.in_place)
        passed = sum(o.ok for o in outcomes)
        if not args.in_place and outcomes:
            print(f"Executed notebooks and HTML are in {args.build_dir}/")
        print(cost_summary(outcomes))
        print(f"{passed} of {len(outcomes)} notebooks passed in {time.time() - started:.1f} s")
        left_running = report_left_running(config)
    finally:
        if not already_running:
            control.stop(config)
    return 0 if outcomes and passed == len(outcomes) and not left_running else 1


if __name__ == "__main__":
    sys.exit(main())
