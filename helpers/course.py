"""Run the course headlessly: every Tutorial and Solutions notebook, in local mode.

``python -m helpers.course`` executes each notebook with papermill into ``build/`` (executed
``.ipynb`` and HTML) and prints one line per notebook: status, wall time and its key result.
``--in-place`` stores the outputs back into the notebooks themselves (what gets committed).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("Tutorial", "Solutions")
# A notebook states its headline result on a line of its own, e.g. "Test MSE: 13.27".
RESULT_LINE = re.compile(r"^(Test [\w -]+|Accuracy[\w -]*|Best [\w -]+|Failed requests): .+$", re.MULTILINE)


@dataclass
class Outcome:
    notebook: Path
    ok: bool
    seconds: float
    result: str


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


def _text(output) -> str:
    text = output.get("text") or output.get("data", {}).get("text/plain", "")
    return text if isinstance(text, str) else "".join(text)


def run_notebook(path: Path, output: Path, parameters: dict | None = None) -> Outcome:
    import nbformat
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    ok = True
    try:
        papermill.execute_notebook(
            str(path),
            str(output),
            parameters=parameters or {},
            cwd=str(path.parent),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            # The kernel's own start-up warnings (e.g. about its local TCP transport) are noise here.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except Exception as exc:  # papermill keeps the partial notebook: report and go on
        ok = False
        print(
            f"    {type(exc).__name__}: {str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else ''}"
        )
    seconds = time.time() - started
    if output.exists():
        coalesce_streams(output)
    result = key_result(nbformat.read(output, as_version=4)) if output.exists() else "-"
    return Outcome(path, ok, seconds, result)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.course", description=__doc__.splitlines()[0])
    parser.add_argument("--in-place", action="store_true", help="store outputs in the notebooks themselves")
    parser.add_argument("--only", help="run only notebooks whose name contains this text")
    parser.add_argument("--build-dir", default=str(ROOT / "build"))
    args = parser.parse_args(argv)

    from helpers.local import control
    from helpers.local.core.config import load_config

    # Chosen through the environment rather than an injected parameter cell, so notebooks stored
    # in place keep `mode = None` and still pick AWS on a notebook instance.
    os.environ["SAGEMAKER_COURSE_MODE"] = "local"
    config = load_config()
    already_running = control.health(config) is not None
    control.start_current(config)
    outcomes = []
    try:
        for path in notebooks(pattern=args.only):
            target = path if args.in_place else Path(args.build_dir) / path.parent.name / path.name
            print(f"▶ {path.parent.name}/{path.name}", flush=True)
            outcome = run_notebook(path, target)
            if args.in_place and target.exists():
                strip_run_metadata(target)
            if not args.in_place and target.exists():
                export_html(target)
            outcomes.append(outcome)
            status = "ok  " if outcome.ok else "FAIL"
            print(f"  {status} {outcome.seconds:6.1f} s  {outcome.result}", flush=True)
    finally:
        if not already_running:
            control.stop(config)
    failed = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if not args.in_place and outcomes:
        print(f"Executed notebooks and HTML are in {args.build_dir}/")
    return 1 if failed or not outcomes else 0


if __name__ == "__main__":
    sys.exit(main())
