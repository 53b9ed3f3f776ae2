"""New data for the "Updating a Model" lesson: the same kind of reviews, after the world moved.

A share of the reviews gain a word the model has never seen and, with it, the opposite
sentiment: as if a new slang word had come to flip what people mean. A model trained on
the old data misclassifies those reviews; one retrained on the new data, with a vocabulary
rebuilt from it, picks the new word up. That is the behaviour the lesson asks learners to
diagnose (compare the old and new vocabularies) and fix (retrain, then update the endpoint).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DRIFT_TOKEN = "banana"
DRIFT_SHARE = 0.2


def make_new_data(
    words: Sequence[Sequence[str]],
    labels: Sequence[int] | np.ndarray,
    *,
    share: float = DRIFT_SHARE,
    token: str = DRIFT_TOKEN,
    seed: int = 0,
) -> tuple[list[list[str]], np.ndarray]:
    """Return drifted copies of preprocessed reviews and their labels.

    Exactly ``round(share * n)`` reviews, picked with ``seed``, get ``token`` appended and
    their label flipped (0 <-> 1). The inputs are not modified.
    """
    labels = np.asarray(labels)
    if len(labels) != len(words):
        raise ValueError(f"{len(words)} reviews but {len(labels)} labels")
    if not 0 <= share <= 1:
        raise ValueError(f"share must be between 0 and 1, got {share}")

    n = len(labels)
    changed = np.zeros(n, dtype=bool)
    changed[np.random.default_rng(seed).choice(n, size=int(round(share * n)), replace=False)] = True

    new_words = [
        [*review, token] if flip else list(review) for review, flip in zip(words, changed, strict=True)
    ]
    new_labels = np.where(changed, 1 - labels, labels)
    return new_words, new_labels
