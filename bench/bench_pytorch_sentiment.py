"""The PyTorch sentiment project on a data set of your choice: accuracy, training time, invoke latency.

Runs the code cells of ``Solutions/IMDB Sentiment Analysis - PyTorch (Project).ipynb`` in one
IPython shell (magics included) in a scratch folder, against a throw-away local service, up to its
clean-up step; then times single-review requests to its endpoint and runs the clean-up.

    .venv/bin/python bench/bench_pytorch_sentiment.py /path/to/aclImdb_v1.tar.gz   # full data
    .venv/bin/python bench/bench_pytorch_sentiment.py fallback                   # bundled corpus

Goals on the full data: test accuracy >= 0.85 on the 25,000 test reviews, training <= 20 min on
two cores. Extra notebook parameters: ``--epochs``, ``--batch-size``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import nbformat
from _service import ROOT, percentiles, running_service

from helpers.local.core.config import client_environment

NOTEBOOK = ROOT / "Solutions" / "IMDB Sentiment Analysis - PyTorch (Project).ipynb"
CLEAN_UP = "## Step 12"


def code_cells(notebook: Path) -> tuple[list[str], list[str]]:
    """The notebook's code cells before its clean-up step, and those of the clean-up."""
    before, after, cleaning = [], [], False
    for cell in nbformat.read(notebook, as_version=4).cells:
        cleaning = cleaning or (cell.cell_type == "markdown" and cell.source.startswith(CLEAN_UP))
        if cell.cell_type == "code":
            (after if cleaning else before).append(cell.source)
    return before, after


def run(shell, source: str) -> float:
    started = time.perf_counter()
    result = shell.run_cell(source, silent=False)
    result.raise_error()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("imdb_source", help="path of aclImdb_v1.tar.gz (or a labelled copy), or 'fallback'")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("-n", type=int, default=50, help="single-review requests to time")
    args = parser.parse_args()
    source = args.imdb_source if args.imdb_source == "fallback" else os.path.abspath(args.imdb_source)

    from IPython.core.interactiveshell import InteractiveShell

    before, after = code_cells(NOTEBOOK)
    with running_service() as (config, _), tempfile.TemporaryDirectory() as folder:
        os.environ.update(client_environment(config))
        os.environ.update(
            SAGEMAKER_LOCAL_PORT=str(config.port),
            SAGEMAKER_LOCAL_STATE_DIR=str(config.state_dir),
            SAGEMAKER_COURSE_MODE="local",
        )
        home = os.getcwd()
        os.chdir(folder)  # the notebook writes its train/, serve/ and data/ folders here
        shell = InteractiveShell.instance()
        parameters = (
            f"mode = 'local'\nimdb_source = {source!r}\n"
            f"epochs = {args.epochs!r}\nbatch_size = {args.batch_size!r}\n"
        )
        timings = {}
        for index, cell in enumerate(before):
            timings[index] = run(shell, cell)
            if index == 0:  # the parameters cell: this run's values after the defaults
                run(shell, parameters)
        namespace = shell.user_ns
        training = next(t for i, t in timings.items() if "estimator.fit(" in before[i])
        scoring = next(t for i, t in timings.items() if "predict_reviews(data.test_texts)" in before[i])

        review = namespace["my_review"]
        predictor = namespace["predictor"]
        samples = []
        for _ in range(args.n):
            started = time.perf_counter()
            predictor.predict(review)
            samples.append(time.perf_counter() - started)
        for cell in after:
            run(shell, cell)
        os.chdir(home)  # before the folder goes: IPython looks at the working directory at exit

    data = namespace["data"]
    print()
    print(f"data: {data.kind} ({len(data.train_texts):,} train / {len(data.test_texts):,} test reviews)")
    print(f"epochs {namespace['epochs']}, batch size {namespace['batch_size']}")
    print(f"test accuracy: {namespace['accuracy']:.4f} on {len(data.test_texts):,} reviews")
    print(f"training (estimator.fit, wall): {training:.1f} s")
    print(f"scoring the test set through the endpoint (chunks of 100): {scoring:.1f} s")
    print(f"invoke latency, one review ({args.n} requests): {percentiles(samples)}")


if __name__ == "__main__":
    main()
