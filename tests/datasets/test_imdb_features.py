"""Bag of words, encoding a single review, the validation split and the CSV files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from helpers.datasets import imdb

WORDS_TRAIN = [["great", "film", "great"], ["bad", "film"], ["great", "act"], ["bad", "bad", "plot"]]
WORDS_TEST = [["great", "plot", "unseen"], ["bad"]]


def test_the_vocabulary_comes_from_the_training_reviews_only():
    train, test, vocabulary = imdb.bag_of_words(WORDS_TRAIN, WORDS_TEST)

    assert set(vocabulary) == {"great", "film", "bad", "act", "plot"}
    assert all(type(column) is int for column in vocabulary.values())
    assert isinstance(train, np.ndarray) and train.shape == (4, 5)
    assert train[0, vocabulary["great"]] == 2
    assert test[0].sum() == 2  # "unseen" is not counted


def test_the_vocabulary_is_capped_at_the_most_frequent_words():
    _, _, vocabulary = imdb.bag_of_words(WORDS_TRAIN, vocabulary_size=2)

    assert set(vocabulary) == {"great", "bad"}


def test_sparse_output_matches_dense():
    dense = imdb.bag_of_words(WORDS_TRAIN, WORDS_TEST)
    sparse = imdb.bag_of_words(WORDS_TRAIN, WORDS_TEST, dense=False)

    assert sp.issparse(sparse.train)
    assert (sparse.test.toarray() == dense.test).all()


def test_a_new_review_is_encoded_like_the_vectorizer_would():
    _, _, vocabulary = imdb.bag_of_words(WORDS_TRAIN)
    review = "A great, great film. The plot? Great!"

    vector = imdb.encode_review(review, vocabulary)
    expected = imdb.make_vectorizer(vocabulary).transform([imdb.review_to_words(review)]).toarray()[0]

    assert vector.shape == (len(vocabulary),)
    assert (vector == expected).all()
    assert vector[vocabulary["great"]] == 3


def test_the_vectorizer_can_be_pickled():
    vectorizer = imdb.make_vectorizer()
    vectorizer.fit(WORDS_TRAIN)

    restored = pickle.loads(pickle.dumps(vectorizer))

    assert (restored.transform(WORDS_TEST).toarray() == vectorizer.transform(WORDS_TEST).toarray()).all()


@pytest.mark.parametrize(("n", "n_val"), [(25_000, 10_000), (600, 240), (25, 10)])
def test_validation_is_ten_of_every_twenty_five(n, n_val):
    split = imdb.split_train_validation(np.arange(n).reshape(-1, 1), np.arange(n) % 2)

    assert len(split.val_y) == n_val and len(split.train_y) == n - n_val
    assert sorted(np.concatenate([split.train_X[:, 0], split.val_X[:, 0]])) == list(range(n))
    assert (split.train_X[:, 0] % 2 == split.train_y).all()


def test_the_split_is_seeded_and_works_on_lists_and_sparse_rows():
    labels = np.arange(50) % 2
    a = imdb.split_train_validation(list(range(50)), labels, seed=3)
    b = imdb.split_train_validation(sp.csr_matrix(np.arange(50).reshape(-1, 1)), labels, seed=3)
    c = imdb.split_train_validation(list(range(50)), labels, seed=4)

    assert a.val_X == b.val_X.toarray()[:, 0].tolist()
    assert a.val_X != c.val_X
    assert imdb.split_train_validation(list(range(50)), labels, seed=None).val_X == list(range(20))


def test_csv_has_the_label_first_and_no_header(tmp_path):
    features = np.array([[0, 3, 1], [12, 0, 0], [0, 0, 0]], dtype=np.int32)

    path = imdb.write_csv(tmp_path / "train.csv", features, np.array([1, 0, 1]))

    assert path.read_text() == "1,0,3,1\n0,12,0,0\n1,0,0,0\n"


def test_test_csv_has_features_only_and_sparse_is_the_same(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.poisson(0.3, size=(5000, 40)).astype(np.int32)
    features[17, 3] = 250  # a row that needs the general formatter

    imdb.write_csv(tmp_path / "dense.csv", features)
    imdb.write_csv(tmp_path / "sparse.csv", sp.csr_matrix(features))

    assert (tmp_path / "dense.csv").read_bytes() == (tmp_path / "sparse.csv").read_bytes()
    assert (np.loadtxt(tmp_path / "dense.csv", delimiter=",", dtype=np.int32) == features).all()


def test_float_rows_are_written_exactly(tmp_path):
    imdb.write_csv(tmp_path / "f.csv", np.array([[0.1, 2.5]]), np.array([1.25]))

    assert (tmp_path / "f.csv").read_text() == "1.25,0.1,2.5\n"
