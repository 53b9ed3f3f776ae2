"""Generate the Mini-Projects (exercises) from the Solutions notebooks, so the two never drift.

In a Solutions notebook, a cell tagged ``solution`` carries its exercise version in the cell
metadata field ``exercise`` (the stub the learner starts from: a ``# TODO`` with guidance, and
the names later cells need). Model answers to Question cells are markdown cells starting
``**Answer:**``, tagged the same way, whose stub is ``**Answer:** TODO: ...``; an answer cell
without the tag is an error, since it would hand the answer to the learner. The generator
copies the notebook, swaps every such cell for its stub, drops the parameters papermill injected
when the solution was run (so the exercise keeps its own defaults, e.g. ``mode = None``), and
clears all outputs. ``python -m helpers.exercises`` writes ``Mini-Projects/``; ``--check`` fails
if what is there differs from what would be generated.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "Solutions"
EXERCISES = ROOT / "Mini-Projects"
SOLUTION_TAG = "solution"
ANSWER_PREFIX = "**Answer:**"  # a markdown cell with the model answer to the Question cell above it
INJECTED_TAG = "injected-parameters"  # papermill's cell with the values of one particular run


class ExerciseError(ValueError):
    pass


def is_solution(cell) -> bool:
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def exercise_notebook(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The exercise version of a solution notebook."""
    exercise = copy.deepcopy(solution)
    exercise.cells = [c for c in exercise.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    for index, cell in enumerate(exercise.cells):
        if is_solution(cell):
            stub = cell.metadata.get("exercise")
            if not stub or "TODO" not in stub:
                raise ExerciseError(
                    f"{name}, cell {index}: a 'solution' cell needs an 'exercise' stub with a TODO"
                )
            cell.source = stub
            del cell.metadata["exercise"]
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != SOLUTION_TAG]
            if not cell.metadata["tags"]:
                del cell.metadata["tags"]
        elif cell.cell_type == "markdown" and cell.source.lstrip().startswith(ANSWER_PREFIX):
            raise ExerciseError(
                f"{name}, cell {index}: an answer cell must be tagged '{SOLUTION_TAG}' with an "
                f"'exercise' stub ('{ANSWER_PREFIX} TODO: ...'), or the exercise would show the answer"
            )
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    exercise.metadata.pop("papermill", None)
    return exercise


def first_todo_index(notebook: nbformat.NotebookNode) -> int:
    """Index of the first cell with a TODO: an exercise runs cleanly up to there."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and "TODO" in cell.source:
            return index
    return len(notebook.cells)


def render(solution_path: Path) -> str:
    solution = nbformat.read(solution_path, as_version=4)
    if not any(is_solution(c) for c in solution.cells):
        raise ExerciseError(f"{solution_path.name} has no cell tagged '{SOLUTION_TAG}'")
    return nbformat.writes(exercise_notebook(solution, solution_path.name)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.exercises", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report exercises that are out of date")
    args = parser.parse_args(argv)
    stale = []
    for solution_path in sorted(SOLUTIONS.glob("*.ipynb")):
        target = EXERCISES / solution_path.name
        text = render(solution_path)
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target)
        if not args.check:
            target.parent.mkdir(exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    if args.check and stale:
        names = ", ".join(p.name for p in stale)
        print(
            f"Mini-Projects out of date: {names}. Run `make exercises` and commit the result.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
