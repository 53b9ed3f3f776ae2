"""The Mini-Projects: generated from the Solutions, left for the learner, and runnable up to the first TODO.

The Solutions themselves run headless and replay their stored outputs in test_notebooks.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from helpers.course import run_notebook
from helpers.exercises import (
    EXERCISES,
    SOLUTIONS,
    ExerciseError,
    exercise_notebook,
    first_todo_index,
    is_solution,
    render,
)

SOLUTION_PATHS = sorted(SOLUTIONS.glob("*.ipynb"))
IDS = [p.stem for p in SOLUTION_PATHS]


def _exercise(solution: Path) -> nbformat.NotebookNode:
    return nbformat.read(EXERCISES / solution.name, as_version=4)


def _todo_cells(notebook: nbformat.NotebookNode) -> list:
    return [c for c in notebook.cells if c.cell_type == "code" and "TODO" in c.source]


def _code_lines(source: str) -> set[str]:
    stripped = (line.strip() for line in source.splitlines())
    return {line for line in stripped if line and not line.startswith("#")}


def _bound_names(source: str) -> set[str]:
    assignments = [node for node in ast.parse(source).body if isinstance(node, ast.Assign)]
    return {n.id for a in assignments for t in a.targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _python(source: str) -> str:
    """A cell as the Python IPython runs: ``%%writefile`` and other magics become function calls."""
    return TransformerManager().transform_cell(source)


def _used_names(sources: list[str]) -> set[str]:
    return {n.id for s in sources for n in ast.walk(ast.parse(_python(s))) if isinstance(n, ast.Name)}


def test_every_solution_has_its_exercise():
    assert SOLUTION_PATHS, "no notebooks in Solutions/"
    assert sorted(p.name for p in EXERCISES.glob("*.ipynb")) == [p.name for p in SOLUTION_PATHS]


@pytest.mark.parametrize("solution", SOLUTION_PATHS, ids=IDS)
def test_exercise_matches_its_solution(solution: Path):
    target = EXERCISES / solution.name
    assert target.read_text(encoding="utf-8") == render(solution), (
        f"Mini-Projects/{solution.name} differs from what Solutions/{solution.name} generates: "
        "run `make exercises` and commit the result"
    )


@pytest.mark.parametrize("solution", SOLUTION_PATHS, ids=IDS)
def test_todo_cells_leave_the_work_to_the_learner(solution: Path):
    exercise = _exercise(solution)
    todos = _todo_cells(exercise)
    assert todos, f"{solution.name}: the exercise has no TODO cell"
    assert not any(c.get("outputs") for c in exercise.cells if c.cell_type == "code"), "outputs left in"

    solved = nbformat.read(solution, as_version=4)
    answers = [c.source for c in solved.cells if is_solution(c) and c.cell_type == "code"]
    assert len(todos) == len(answers)
    # A Question's model answer (a markdown solution cell) becomes a prompt for the learner's own.
    prompts = [
        c for c in exercise.cells if c.cell_type == "markdown" and c.source.startswith("**Answer:** TODO")
    ]
    model_answers = [c for c in solved.cells if is_solution(c) and c.cell_type == "markdown"]
    assert len(prompts) == len(model_answers)
    exercise_code = [c.source for c in exercise.cells if c.cell_type == "code"]
    for todo, answer in zip(todos, answers, strict=True):
        # Only comments and placeholders (`name = None`): no line of the answer survives.
        for node in ast.parse(todo.source).body:
            placeholder = (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and node.value.value is None
            )
            assert placeholder, f"{solution.name}: code in a TODO cell:\n{ast.unparse(node)}"
        assert not _code_lines(todo.source) & _code_lines(answer), (
            f"{solution.name}: solution code in\n{todo.source}"
        )
        # Every name the answer defines and a later cell uses has a placeholder.
        later = exercise_code[exercise_code.index(todo.source) + 1 :]
        missing = (_bound_names(answer) & _used_names(later)) - _bound_names(todo.source)
        assert not missing, f"{solution.name}: the TODO cell should set {sorted(missing)} to None"


@pytest.mark.parametrize("solution", SOLUTION_PATHS, ids=IDS)
def test_exercise_runs_up_to_its_first_todo(solution: Path, service, tmp_path, monkeypatch):
    monkeypatch.setenv("IMDB_SOURCE", "fallback")
    exercise = _exercise(solution)
    first_todo = first_todo_index(exercise)
    assert first_todo < len(exercise.cells)
    exercise.cells = exercise.cells[:first_todo]
    source = tmp_path / solution.name
    nbformat.write(exercise, source)

    outcome = run_notebook(source, tmp_path / "executed" / solution.name, {"mode": "local"})
    assert outcome.ok, (
        f"{solution.name} fails before its first TODO; executed copy in {tmp_path / 'executed'}"
    )


def _answers(notebook: nbformat.NotebookNode) -> list:
    return [c for c in notebook.cells if c.cell_type == "markdown" and c.source.startswith("**Answer:**")]


@pytest.mark.parametrize("solution", SOLUTION_PATHS, ids=IDS)
def test_questions_keep_their_model_answers_out_of_the_exercise(solution: Path):
    solved = nbformat.read(solution, as_version=4)
    exercise = _exercise(solution)
    model_answers = _answers(solved)
    assert all(is_solution(c) for c in model_answers), f"{solution.name}: an answer cell is not tagged"
    prompts = _answers(exercise)
    assert len(prompts) == len(model_answers)
    assert all(c.source.startswith("**Answer:** TODO") for c in prompts), "a model answer in the exercise"
    # Not even a sentence of a model answer may survive elsewhere in the exercise.
    exercise_text = "\n".join(c.source for c in exercise.cells)
    for answer in model_answers:
        for sentence in answer.source.removeprefix("**Answer:**").split(". "):
            sentence = sentence.strip()
            if len(sentence) > 40:
                assert sentence not in exercise_text, f"{solution.name}: answer text in the exercise"
    # Each answer, and so each prompt, follows the Question it answers.
    for notebook in (solved, exercise):
        for index, cell in enumerate(notebook.cells):
            if cell in _answers(notebook):
                assert notebook.cells[index - 1].source.startswith("**Question"), (
                    f"{solution.name}, cell {index}: an answer without its Question above it"
                )


def test_a_model_answer_becomes_a_prompt_for_the_learner():
    question = nbformat.v4.new_markdown_cell("**Question 1.** Why fit the vocabulary on the training set?")
    model_answer = nbformat.v4.new_markdown_cell(
        "**Answer:** Fitting it on the test set leaks it into training."
    )
    model_answer.metadata.update(tags=["solution"], exercise="**Answer:** TODO: write your answer here.")
    exercise = exercise_notebook(nbformat.v4.new_notebook(cells=[question, model_answer]))

    assert [c.source for c in exercise.cells] == [
        question.source,
        "**Answer:** TODO: write your answer here.",
    ]
    assert "tags" not in exercise.cells[1].metadata and "exercise" not in exercise.cells[1].metadata


def test_an_untagged_model_answer_is_refused():
    question = nbformat.v4.new_markdown_cell("**Question 1.** Why keep the test set out of the search?")
    model_answer = nbformat.v4.new_markdown_cell("**Answer:** It would no longer measure unseen data.")
    solved = nbformat.v4.new_notebook(cells=[question, model_answer])

    with pytest.raises(ExerciseError, match="answer cell must be tagged"):
        exercise_notebook(solved, "Lesson.ipynb")
