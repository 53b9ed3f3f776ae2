"""Benchmark the IMDB pipeline on the 50,000 labelled reviews.

Times each step the notebooks run, in a fresh cache folder so the first pass is cold:
reading the archive, preprocessing (cold, then from the cache), the bag of words, writing
the SageMaker CSV files, and training XGBoost in-process with the course's settings
(15k train / 10k validation, 500 rounds, early stopping 10), then scores the 25k test
reviews. It also runs the course's plain single-process preprocessing on a sample, to
check our words are identical (exit status 1 if any differ) and to estimate what the plain
version costs for 50k.
Each step prints wall-clock seconds and CPU seconds (this process and its workers); the
CPU figure tells whether a slow step was slow or just waiting for a busy machine.

    python bench/bench_imdb.py ARCHIVE [--workers N] [--sample N]

ARCHIVE is the path of an archive laid out like ``aclImdb_v1.tar.gz`` (the official download,
as kept in the course's IMDB cache folder, or a labelled rebuild of it).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import xgboost as xgb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.datasets import imdb  # noqa: E402
from tests.datasets.reference import course_review_to_words  # noqa: E402

PARAMS = {
    "max_depth": 5,
    "eta": 0.2,
    "gamma": 4,
    "min_child_weight": 6,
    "subsample": 0.8,
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "tree_method": "hist",
    "seed": 0,
}

timings: dict[str, float] = {}


def cpu_seconds() -> float:
    """CPU time of this process and its finished children: less sensitive to a busy machine."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextmanager
def timed(name: str):
    start, cpu = time.perf_counter(), cpu_seconds()
    yield
    timings[name] = time.perf_counter() - start
    print(f"  {name:<48} {timings[name]:8.2f} s   (cpu {cpu_seconds() - cpu:6.2f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Optional only so that `make bench`, which runs every script bare, reports a skip, not a usage error.
    parser.add_argument("archive", nargs="?", help="aclImdb_v1.tar.gz-style archive of the labelled reviews")
    parser.add_argument("--workers", type=int, default=None, help="preprocessing processes (default: cores)")
    parser.add_argument("--sample", type=int, default=2000, help="reviews for the plain-version check")
    args = parser.parse_args()
    if args.archive is None:
        print("IMDB pipeline benchmark skipped: give the archive, python bench/bench_imdb.py ARCHIVE")
        return

    work = Path(tempfile.mkdtemp(prefix="bench-imdb-"))
    os.environ["COURSE_DATA_DIR"] = str(work)  # a fresh cache: the first pass is cold
    load = os.getloadavg()[0]
    print(f"IMDB pipeline benchmark: {os.cpu_count()} cores (load {load:.1f}), xgboost {xgb.__version__}")
    try:
        mismatches = run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # ~0.6 GB of cache and CSV files
    if mismatches:
        sys.exit(f"FAILED: {mismatches} sampled reviews give different words than the course's version")


def run(args: argparse.Namespace, work: Path) -> int:
    """Run and print every step; return how many sampled reviews' words differ from the course's."""
    with timed("load archive (cold: read .tar.gz)"):
        data = imdb.load_imdb(args.archive, progress=False)
    with timed("load archive (cached extract)"):
        data = imdb.load_imdb(args.archive, progress=False)
    texts = data.train_texts + data.test_texts

    with timed(f"preprocess {len(texts):,} reviews (cold)"):
        words_train = imdb.preprocess_reviews(data.train_texts, workers=args.workers, progress=False)
        words_test = imdb.preprocess_reviews(data.test_texts, workers=args.workers, progress=False)
    with timed(f"preprocess {len(texts):,} reviews (cached)"):
        imdb.preprocess_reviews(data.train_texts, progress=False)
        imdb.preprocess_reviews(data.test_texts, progress=False)

    sample = random.Random(0).sample(range(len(texts)), args.sample)
    with timed(f"course's plain version on {args.sample:,} reviews"):
        plain = [course_review_to_words(texts[i]) for i in sample]
    ours = words_train + words_test
    mismatches = sum(plain[k] != ours[i] for k, i in enumerate(sample))
    timings["plain version, estimated for all"] = timings[
        f"course's plain version on {args.sample:,} reviews"
    ] * (len(texts) / args.sample)
    print(f"  {'plain version, estimated for all':<48} {timings['plain version, estimated for all']:8.2f} s")
    print(f"  words differing from the plain version: {mismatches} of {args.sample:,} reviews")

    with timed("bag of words (5,000 words, sparse)"):
        train_X, test_X, vocabulary = imdb.bag_of_words(words_train, words_test, dense=False)
    with timed("bag of words (5,000 words, dense as the course)"):
        imdb.bag_of_words(words_train, words_test)

    split = imdb.split_train_validation(train_X, data.train_labels)
    with timed("write train/validation/test CSV"):
        imdb.write_csv(work / "train.csv", split.train_X, split.train_y)
        imdb.write_csv(work / "validation.csv", split.val_X, split.val_y)
        imdb.write_csv(work / "test.csv", test_X)
    csv_mb = sum((work / f).stat().st_size for f in ("train.csv", "validation.csv", "test.csv")) / 1e6

    dtrain = xgb.DMatrix(split.train_X, split.train_y)
    dval = xgb.DMatrix(split.val_X, split.val_y)
    with timed(f"train XGBoost ({split.train_X.shape[0]:,} train / {split.val_X.shape[0]:,} val)"):
        booster = xgb.train(
            PARAMS,
            dtrain,
            num_boost_round=500,
            evals=[(dval, "validation")],
            early_stopping_rounds=10,
            verbose_eval=False,
        )
    probabilities = booster.predict(xgb.DMatrix(test_X), iteration_range=(0, booster.best_iteration + 1))
    accuracy = float(((probabilities > 0.5) == data.test_labels).mean())

    print(f"  CSV files: {csv_mb:,.0f} MB; vocabulary: {len(vocabulary):,} words")
    print(f"  best iteration: {booster.best_iteration}; rounds run: {booster.num_boosted_rounds()}")
    print(f"  test accuracy on {len(data.test_labels):,} reviews: {accuracy:.4f}")
    return mismatches


if __name__ == "__main__":
    main()
