"""Every course notebook, executed headlessly against the local service, then its stored outputs.

The first test runs a notebook with papermill (as ``make course`` does) and checks its headline
result; the second replays the committed notebook with nbval and compares each cell's output
with what is stored (ARNs, job names, timings and the like are sanitised, see nbval_sanitize.cfg).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers.course import all_results, lesson_cost, notebooks, run_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = notebooks(ROOT)
# What each notebook must print, and the range a correct run lands in.
EXPECTED = {
    "Getting Started - Notebook Instances": [
        (r"OnCreate ran (\d+) time", 1, 1),
        (r"OnStart ran (\d+) times", 2, 2),
    ],
    "Boston Housing - XGBoost (Batch Transform)": [(r"Test MSE: ([\d.]+)", 5.0, 25.0)],
    "Boston Housing - XGBoost (Deploy)": [(r"Test MSE: ([\d.]+)", 5.0, 25.0)],
    "Boston Housing - XGBoost (Hyperparameter Tuning)": [
        (r"Best validation RMSE: ([\d.]+)", 2.0, 5.0),
        (r"Test MSE: ([\d.]+)", 5.0, 25.0),
    ],
    "IMDB Sentiment Analysis - XGBoost - Web App": [(r"Test accuracy: ([\d.]+)", 0.8, 1.0)],
    "Boston Housing - Script Mode with scikit-learn": [(r"Test MSE: ([\d.]+)", 5.0, 25.0)],
    "Boston Housing - Updating an Endpoint": [
        (r"Test MSE XGB-Model: ([\d.]+)", 5.0, 25.0),
        (r"Test MSE Linear-Model: ([\d.]+)", 10.0, 40.0),
        (r"Failed requests: (\d+)", 0, 0),
    ],
    # The IMDB mini-projects run on the bundled corpus in tests (IMDB_SOURCE=fallback, see conftest.py).
    "IMDB Sentiment Analysis - XGBoost (Batch Transform)": [(r"Test accuracy: ([\d.]+)", 0.6, 1.0)],
    "IMDB Sentiment Analysis - XGBoost (Hyperparameter Tuning)": [
        (r"Best validation RMSE: ([\d.]+)", 0.0, 0.5),
        (r"Test accuracy: ([\d.]+)", 0.6, 1.0),
    ],
    "IMDB Sentiment Analysis - PyTorch (Project)": [(r"Test accuracy: ([\d.]+)", 0.6, 1.0)],
    "IMDB Sentiment Analysis - XGBoost (Updating a Model)": [
        (r"Test accuracy on the original data: ([\d.]+)", 0.8, 1.0),
        (r"Test accuracy of the original model on new data: ([\d.]+)", 0.6, 0.85),
        (r"Test accuracy of the original model on new data by batch transform: ([\d.]+)", 0.6, 0.85),
        (r"Test accuracy of the retrained model on new data: ([\d.]+)", 0.78, 1.0),
        (r"Test accuracy of the retrained model on the original data: ([\d.]+)", 0.8, 1.0),
        (r"Failed requests: (\d+)", 0, 0),
    ],
}


def _expected(path: Path):
    for prefix, expectation in EXPECTED.items():
        if path.stem.startswith(prefix):
            return expectation
    return None


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[f"{p.parent.name}/{p.stem}" for p in NOTEBOOKS])
def test_stored_notebook_decides_its_mode_itself(notebook: Path):
    """A stored notebook must not carry a run's injected parameters: on AWS it would run locally."""
    cells = nbformat.read(notebook, as_version=4).cells
    assert not [c for c in cells if "injected-parameters" in c.metadata.get("tags", [])]
    parameters = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1 and re.search(r"^mode = None\b", parameters[0].source, re.MULTILINE)
    assert any("helpers.connect(mode)" in c.source for c in cells if c.cell_type == "code")


# The AWS documentation and the SDK's, which a lesson links next to the calls it explains.
DOCUMENTATION_LINK = re.compile(r"https://(?:docs\.aws\.amazon\.com|sagemaker\.readthedocs\.io)/[^\s)\]>]+")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[f"{p.parent.name}/{p.stem}" for p in NOTEBOOKS])
def test_lesson_links_the_documentation_it_teaches(notebook: Path):
    prose = "\n".join(
        c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "markdown"
    )
    links = set(DOCUMENTATION_LINK.findall(prose))
    assert len(links) >= 3, f"{notebook.name} links {sorted(links)}: at least three documentation pages"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[f"{p.parent.name}/{p.stem}" for p in NOTEBOOKS])
def test_notebook_runs_headless(notebook: Path, service, tmp_path):
    outcome = run_notebook(notebook, tmp_path / notebook.name, {"mode": "local"})
    assert outcome.ok, f"{notebook.name} failed; executed copy in {tmp_path}"
    executed = nbformat.read(tmp_path / notebook.name, as_version=4)
    printed = all_results(executed)
    for pattern, low, high in _expected(notebook) or []:
        match = re.search(pattern, printed)
        assert match, f"{notebook.name} did not print {pattern!r}; its results: {printed!r}"
        assert low <= float(match.group(1)) <= high, match.group(0)
    # Its clean-up ends with what the lesson would have cost on AWS: instance time was used and priced.
    cost = lesson_cost(executed)
    assert cost is not None and cost > 0, f"{notebook.name} printed no would-be AWS cost"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[f"{p.parent.name}/{p.stem}" for p in NOTEBOOKS])
def test_stored_outputs_reproduce(notebook: Path, service):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval",
            "--nbval-sanitize-with",
            str(ROOT / "tests" / "nbval_sanitize.cfg"),
            "--nbval-cell-timeout",
            "600",
            str(notebook),
        ],  # fmt: skip
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
