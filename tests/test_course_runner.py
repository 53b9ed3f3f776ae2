"""The course runner (``python -m helpers.course``) on small notebooks of its own, run for real."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from helpers.course import cost_summary, format_outcome, name_clashes, next_runnable, notebooks, run_course
from tests.datasets.test_imdb_download import ARCHIVE

ROOT = Path(__file__).resolve().parents[1]
TIMESTAMPED = 'name = "demo-job-" + time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())'


def write_notebook(path: Path, *sources: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(f"import sys, time\nsys.path.insert(0, {str(ROOT)!r})")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def interval(log: Path) -> tuple[float, float]:
    start, end = json.loads(log.read_text())
    return start, end


def test_the_low_level_lessons_that_name_jobs_alike_never_run_together():
    by_name = {p.name: p for p in notebooks(ROOT)}
    batch = by_name["Boston Housing - XGBoost (Batch Transform) - Low Level.ipynb"]
    deploy = by_name["Boston Housing - XGBoost (Deploy) - Low Level.ipynb"]
    tuning_hl = by_name["Boston Housing - XGBoost (Hyperparameter Tuning) - High Level.ipynb"]
    tuning_ll = by_name["Boston Housing - XGBoost (Hyperparameter Tuning) - Low Level.ipynb"]
    clashes = name_clashes(list(by_name.values()))
    assert clashes[batch] == {deploy} and clashes[tuning_hl] == {tuning_ll}
    assert next_runnable([deploy, tuning_ll], {batch}, clashes) == tuning_ll
    assert next_runnable([deploy], {batch, tuning_hl}, clashes) is None


@pytest.fixture
def course(tmp_path) -> tuple[list[Path], Path]:
    """Three lessons: two that name a job from the same timestamp, one that fails."""
    reviews = tmp_path / "aclImdb"
    for split in ("train", "test"):
        for label, rating in (("pos", 9), ("neg", 2)):
            (reviews / split / label).mkdir(parents=True)
            (reviews / split / label / f"0_{rating}.txt").write_text(f"A {label} review.")
    stamp = 'open("{}", "w").write(__import__("json").dumps([start, time.time()]))'
    full = write_notebook(
        tmp_path / "Tutorial" / "Full.ipynb",
        "start = time.time()\n" + TIMESTAMPED,
        f"from helpers.datasets import imdb\ndata = imdb.load_imdb({str(reviews)!r})\n"
        "print('Test accuracy: 0.9')",
        "time.sleep(2)\n" + stamp.format(tmp_path / "full.json"),
        "print('This lesson would have cost about $0.0213 on AWS'\n"
        "      ' (on-demand, us-east-1, prices of 2026-08-11).')",
    )
    fallback = write_notebook(
        tmp_path / "Tutorial" / "Fallback.ipynb",
        "start = time.time()\n" + TIMESTAMPED,
        "from helpers.datasets import imdb\ndata = imdb.load_imdb('fallback')\nprint('Test MSE: 12.5')",
        "time.sleep(2)\n" + stamp.format(tmp_path / "fallback.json"),
    )
    failing = write_notebook(tmp_path / "Solutions" / "Failing.ipynb", "raise ValueError('no such endpoint')")
    return [full, fallback, failing], tmp_path / "build"


def test_runs_lessons_side_by_side_and_reports_each(course, capsys):
    paths, build = course
    full, fallback, failing = paths
    outcomes = {o.notebook: o for o in run_course(paths, build, jobs=3)}

    assert [outcomes[p].ok for p in paths] == [True, True, False]
    assert outcomes[full].result == "Test accuracy: 0.9" and outcomes[full].data_set == "full review set"
    assert outcomes[fallback].data_set == "bundled fallback corpus"
    assert outcomes[failing].data_set == ""
    assert format_outcome(outcomes[failing]).splitlines()[1].strip().endswith("ValueError: no such endpoint")
    printed = capsys.readouterr().out.splitlines()
    assert any(line.startswith("FAIL") and "Solutions/Failing.ipynb" in line for line in printed)
    assert any(
        "Tutorial/Full.ipynb: Test accuracy: 0.9  [IMDB data: full review set]  cost: $0.0213" in line
        for line in printed
    )
    # A lesson that does not print its cost yet says so.
    assert format_outcome(outcomes[fallback]).endswith("cost: —")
    assert cost_summary(list(outcomes.values())) == (
        "Would-be AWS cost: about $0.0213 on-demand (1 of 3 notebooks printed their cost)"
    )
    assert (build / "Tutorial" / "Full.html").exists() and (build / "Solutions" / "Failing.ipynb").exists()
    # The two lessons that name a job from the current second ran one after the other.
    first, second = sorted([interval(build.parent / "full.json"), interval(build.parent / "fallback.json")])
    assert first[1] <= second[0]
    # This run's wall times order the next one.
    assert set(json.loads((build / "course-timings.json").read_text())) == {
        "Tutorial/Full.ipynb",
        "Tutorial/Fallback.ipynb",
    }


@pytest.fixture
def slow_archive_server(monkeypatch, tmp_path) -> Iterator[list[str]]:
    """IMDB_SOURCE: a URL that takes seconds to answer with a small review archive; yields its requests."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            requests.append(self.path)
            time.sleep(5)  # long enough for lessons started together to ask at the same time
            self.send_response(200)
            self.send_header("Content-Length", str(len(ARCHIVE)))
            self.end_headers()
            self.wfile.write(ARCHIVE)

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    monkeypatch.setenv("IMDB_SOURCE", f"http://127.0.0.1:{httpd.server_port}/aclImdb_v1.tar.gz")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    yield requests
    httpd.shutdown()
    httpd.server_close()


def test_the_imdb_archive_is_downloaded_once_for_lessons_run_side_by_side(slow_archive_server, tmp_path):
    load = "from helpers.datasets import imdb\ndata = imdb.load_imdb()"
    paths = [write_notebook(tmp_path / "Solutions" / f"IMDB {n}.ipynb", load) for n in (1, 2)]
    outcomes = run_course(paths, tmp_path / "build", jobs=2)
    assert [(o.ok, o.data_set) for o in outcomes] == [(True, "full review set")] * 2
    assert slow_archive_server == ["/aclImdb_v1.tar.gz"]
