"""The bundled synthetic corpus: layout, balance, HTML, reproducibility and learnability."""

from __future__ import annotations

import re
import tarfile

import numpy as np
import pytest
import xgboost as xgb

from helpers.datasets import imdb
from helpers.datasets.imdb.fallback import generate_reviews


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("IMDB_SOURCE", raising=False)


def test_the_archive_is_small_and_laid_out_like_aclimdb():
    assert imdb.FALLBACK_ARCHIVE.stat().st_size < 1_000_000
    with tarfile.open(imdb.FALLBACK_ARCHIVE) as archive:
        names = archive.getnames()

    assert len(names) >= 500
    pattern = re.compile(r"aclImdb/(train|test)/(pos|neg)/\d+_(\d+)\.txt")
    assert all(pattern.fullmatch(name) for name in names)
    for name in names:
        folder, rating = pattern.fullmatch(name).group(2, 3)
        assert int(rating) in ((7, 8, 9, 10) if folder == "pos" else (1, 2, 3, 4))


def test_each_folder_is_balanced():
    reviews = imdb.read_reviews(imdb.FALLBACK_ARCHIVE)
    counts = {(s, label): 0 for s in ("train", "test") for label in (0, 1)}
    for r in reviews:
        counts[r.split, r.label] += 1

    assert len(set(counts.values())) == 1


def test_reviews_vary_and_some_carry_html():
    texts = [r.text for r in imdb.read_reviews(imdb.FALLBACK_ARCHIVE)]

    assert len(set(texts)) == len(texts)
    assert 0.3 < sum("<br />" in t for t in texts) / len(texts) < 0.9
    assert 40 < np.mean([len(t.split()) for t in texts]) < 200


def test_the_shipped_archive_is_what_the_generator_writes():
    assert imdb.read_reviews(imdb.FALLBACK_ARCHIVE) == generate_reviews()


def test_load_fallback_is_shuffled_reproducibly(capsys):
    first = imdb.load_imdb("fallback", progress=False)
    second = imdb.load_imdb("fallback", progress=False)
    unshuffled = imdb.load_imdb("fallback", progress=False, seed=None)

    assert first.kind == "fallback"
    assert first.train_texts == second.train_texts
    assert first.train_texts != unshuffled.train_texts
    assert sorted(first.train_texts) == sorted(unshuffled.train_texts)
    assert first.train_labels.mean() == 0.5 and first.test_labels.mean() == 0.5
    assert "synthetic" in capsys.readouterr().out


def test_an_xgboost_bag_of_words_model_learns_it():
    data = imdb.load_imdb("fallback", progress=False)
    train_X, test_X, _ = imdb.bag_of_words(
        imdb.preprocess_reviews(data.train_texts, progress=False),
        imdb.preprocess_reviews(data.test_texts, progress=False),
    )
    split = imdb.split_train_validation(train_X, data.train_labels)
    params = {
        "max_depth": 5,
        "eta": 0.2,
        "gamma": 4,
        "min_child_weight": 6,
        "subsample": 0.8,
        "objective": "binary:logistic",
        "seed": 0,
        "nthread": 2,
    }
    booster = xgb.train(
        params,
        xgb.DMatrix(split.train_X, split.train_y),
        num_boost_round=500,
        evals=[(xgb.DMatrix(split.val_X, split.val_y), "validation")],
        early_stopping_rounds=10,
        verbose_eval=False,
    )
    predictions = booster.predict(xgb.DMatrix(test_X), iteration_range=(0, booster.best_iteration + 1))

    assert ((predictions > 0.5) == data.test_labels).mean() >= 0.8
