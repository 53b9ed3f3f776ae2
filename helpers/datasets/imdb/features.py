"""Bag-of-words features, the train/validation split and SageMaker-style CSV files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from helpers.datasets.imdb.preprocess import review_to_words

VOCABULARY_SIZE = 5000
VALIDATION_SHARE = 0.4  # 10,000 of the 25,000 training reviews, as in the course


def identity(x: Any) -> Any:
    """Pass-through for CountVectorizer: the reviews are already word lists.

    A module-level function rather than a lambda, so the vectorizer can be pickled.
    """
    return x


def make_vectorizer(
    vocabulary: Mapping[str, int] | None = None, max_features: int = VOCABULARY_SIZE
) -> CountVectorizer:
    """A CountVectorizer over preprocessed word lists, optionally with a fixed vocabulary."""
    return CountVectorizer(
        max_features=None if vocabulary is not None else max_features,
        vocabulary=vocabulary,
        preprocessor=identity,
        tokenizer=identity,
        token_pattern=None,
        lowercase=False,
        dtype=np.int32,
    )


class BagOfWords(NamedTuple):
    train: np.ndarray | sp.csr_matrix
    test: np.ndarray | sp.csr_matrix | None
    vocabulary: dict[str, int]  # word -> column; plain ints so it can be saved as JSON


def bag_of_words(
    words_train: Sequence[list[str]],
    words_test: Sequence[list[str]] | None = None,
    *,
    vocabulary_size: int = VOCABULARY_SIZE,
    dense: bool = True,
) -> BagOfWords:
    """Fit the vocabulary on the training reviews only and count words in both sets.

    ``dense=True`` returns int32 arrays as the course does (``.toarray()``);
    ``dense=False`` returns sparse CSR matrices, which use far less memory.
    """
    vectorizer = make_vectorizer(max_features=vocabulary_size)
    train = vectorizer.fit_transform(words_train)
    test = vectorizer.transform(words_test) if words_test is not None else None
    vocabulary = {word: int(column) for word, column in vectorizer.vocabulary_.items()}
    if dense:
        train = train.toarray()
        test = test.toarray() if test is not None else None
    return BagOfWords(train, test, vocabulary)


def encode_words(words: Sequence[str], vocabulary: Mapping[str, int]) -> np.ndarray:
    """Count one review's words over a vocabulary (words outside it are ignored)."""
    columns = [vocabulary[w] for w in words if w in vocabulary]
    return np.bincount(columns, minlength=len(vocabulary)).astype(np.int32)


def encode_review(review: str, vocabulary: Mapping[str, int]) -> np.ndarray:
    """Raw review text -> bag-of-words vector, the way a web-app handler needs it."""
    return encode_words(review_to_words(review), vocabulary)


class Split(NamedTuple):
    train_X: Any
    train_y: np.ndarray
    val_X: Any
    val_y: np.ndarray


def split_train_validation(
    features: Any,
    labels: Sequence[int] | np.ndarray,
    *,
    validation_share: float = VALIDATION_SHARE,
    seed: int | None = 0,
) -> Split:
    """Split the training set into train and validation parts (15k / 10k of 25k).

    Works on arrays, sparse matrices and lists. ``seed=None`` keeps the current order
    (validation first), for data that was shuffled already.
    """
    labels = np.asarray(labels)
    n = len(labels)
    n_val = int(round(n * validation_share))
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    val_idx, train_idx = order[:n_val], order[n_val:]
    return Split(_take(features, train_idx), labels[train_idx], _take(features, val_idx), labels[val_idx])


def _take(rows: Any, index: np.ndarray) -> Any:
    if isinstance(rows, list):
        return [rows[i] for i in index]
    return rows[index]


def write_csv(
    path: str | Path,
    features: np.ndarray | sp.spmatrix,
    labels: Sequence[int] | np.ndarray | None = None,
) -> Path:
    """Write rows as SageMaker's built-in algorithms read CSV: label first, no header.

    Without ``labels`` (batch transform input) only the features are written.
    Integer count rows are formatted with numpy rather than pandas, which keeps writing
    25,000 x 5,000 values to a few seconds.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = features.shape[0]
    if labels is not None:
        labels = np.asarray(labels).reshape(-1, 1)
        if len(labels) != n:
            raise ValueError(f"{len(labels)} labels for {n} rows")
    with path.open("wb") as out:
        for start in range(0, n, 2048):
            block = features[start : start + 2048]
            block = block.toarray() if sp.issparse(block) else np.asarray(block)
            if labels is not None:
                part = labels[start : start + 2048]
                block = np.hstack([part, block])  # numpy promotes to the wider dtype
            out.write(_csv_bytes(block))
    return path


def _csv_bytes(block: np.ndarray) -> bytes:
    if block.ndim != 2 or block.shape[1] == 0:
        raise ValueError("expected a 2-D block of rows")
    if not np.issubdtype(block.dtype, np.integer):
        return "".join(",".join(map(repr, row)) + "\n" for row in block.tolist()).encode()

    # Rows of single digits (almost every bag-of-words row) become bytes directly:
    # digit, comma, digit, comma, ..., newline.
    single = ((block >= 0) & (block <= 9)).all(axis=1)
    chars = np.full((block.shape[0], 2 * block.shape[1]), ord(","), dtype=np.uint8)
    chars[:, 0::2] = np.where(single[:, None], block, 0) + ord("0")
    chars[:, -1] = ord("\n")
    if single.all():
        return chars.tobytes()
    rows = [
        chars[i].tobytes() if single[i] else (",".join(map(str, block[i].tolist())) + "\n").encode()
        for i in range(block.shape[0])
    ]
    return b"".join(rows)
