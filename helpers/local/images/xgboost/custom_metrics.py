"""Evaluation metrics the built-in container computes in Python, beyond xgboost's own.

They see the transformed predictions (probabilities for ``binary:logistic``, one column per class for
``multi:softprob``) and turn them into labels the way the container does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _labels(preds: np.ndarray, objective: str) -> np.ndarray:
    if preds.ndim == 2:
        return preds.argmax(axis=1).astype(np.float32)
    if objective in ("multi:softmax", "binary:hinge"):
        return np.rint(preds)
    if objective == "binary:logitraw":
        return (preds > 0.0).astype(np.float32)
    return (preds > 0.5).astype(np.float32)


def _confusion(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class true positives, predicted counts and actual counts."""
    classes = np.union1d(y, p)
    tp = np.array([np.sum((p == c) & (y == c)) for c in classes], dtype=float)
    predicted = np.array([np.sum(p == c) for c in classes], dtype=float)
    actual = np.array([np.sum(y == c) for c in classes], dtype=float)
    return tp, predicted, actual


def _ratio(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def _f1(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    return _ratio(2 * precision * recall, precision + recall)


def _binary_counts(y: np.ndarray, p: np.ndarray) -> tuple[float, float, float]:
    tp = float(np.sum((p == 1) & (y == 1)))
    return tp, float(np.sum(p == 1)), float(np.sum(y == 1))


def accuracy(y, p):
    return float(np.mean(y == p))


def balanced_accuracy(y, p):
    tp, _, actual = _confusion(y, p)
    present = actual > 0
    return float(np.mean(tp[present] / actual[present]))


def precision(y, p):
    tp, predicted, _ = _binary_counts(y, p)
    return float(_ratio(tp, predicted))


def recall(y, p):
    tp, _, actual = _binary_counts(y, p)
    return float(_ratio(tp, actual))


def f1(y, p):
    return float(_f1(np.asarray(precision(y, p)), np.asarray(recall(y, p))))


def precision_macro(y, p):
    tp, predicted, _ = _confusion(y, p)
    return float(np.mean(_ratio(tp, predicted)))


def recall_macro(y, p):
    tp, _, actual = _confusion(y, p)
    return float(np.mean(_ratio(tp, actual)))


def f1_macro(y, p):
    tp, predicted, actual = _confusion(y, p)
    return float(np.mean(_f1(_ratio(tp, predicted), _ratio(tp, actual))))


def micro(y, p):
    # With one label per row, micro precision, recall and f1 all equal accuracy.
    return accuracy(y, p)


CLASSIFICATION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": accuracy,
    "balanced_accuracy": balanced_accuracy,
    "f1": f1,
    "f1_binary": f1,
    "f1_macro": f1_macro,
    "precision": precision,
    "precision_macro": precision_macro,
    "precision_micro": micro,
    "recall": recall,
    "recall_macro": recall_macro,
    "recall_micro": micro,
}


def mse(y, preds):
    return float(np.mean((y - preds) ** 2))


def r2(y, preds):
    total = float(np.sum((y - np.mean(y)) ** 2))
    return 1.0 - float(np.sum((y - preds) ** 2)) / total if total > 0 else 0.0


REGRESSION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {"mse": mse, "r2": r2}

NAMES = set(CLASSIFICATION) | set(REGRESSION)


def custom_metric(names: list[str], objective: str) -> Callable:
    """An ``xgboost.train(custom_metric=...)`` function reporting ``names`` in that order."""

    def evaluate(preds: np.ndarray, data) -> list[tuple[str, float]]:
        y = data.get_label()
        labels = _labels(preds, objective)
        results = []
        for name in names:
            if name in CLASSIFICATION:
                results.append((name, CLASSIFICATION[name](y, labels)))
            else:
                results.append((name, REGRESSION[name](y, preds)))
        return results

    return evaluate
