"""The "new data" for the Updating a Model lesson."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.datasets import imdb

WORDS = [[f"w{i}", "film"] for i in range(1000)]
LABELS = np.arange(1000) % 2


def test_a_fifth_of_reviews_gain_the_token_and_flip_their_label():
    new_words, new_labels = imdb.make_new_data(WORDS, LABELS)

    changed = np.array([w[-1] == "banana" for w in new_words])
    assert changed.sum() == 200
    assert (new_labels[changed] == 1 - LABELS[changed]).all()
    assert (new_labels[~changed] == LABELS[~changed]).all()
    assert all(w[:-1] == old for w, old, c in zip(new_words, WORDS, changed, strict=True) if c)
    assert all(w == old for w, old, c in zip(new_words, WORDS, changed, strict=True) if not c)


def test_the_inputs_are_left_untouched():
    words = [list(w) for w in WORDS]
    labels = LABELS.copy()

    imdb.make_new_data(words, labels)

    assert words == WORDS and (labels == LABELS).all()


def test_the_choice_is_seeded():
    a = imdb.make_new_data(WORDS, LABELS, seed=1)
    b = imdb.make_new_data(WORDS, LABELS, seed=1)
    c = imdb.make_new_data(WORDS, LABELS, seed=2)

    assert a[0] == b[0] and (a[1] == b[1]).all()
    assert a[0] != c[0]


def test_share_and_token_can_be_changed():
    new_words, new_labels = imdb.make_new_data(WORDS, LABELS, share=0.5, token="yolo")

    assert sum(w[-1] == "yolo" for w in new_words) == 500
    assert (new_labels != LABELS).sum() == 500


def test_the_new_word_shows_up_in_a_vocabulary_built_from_the_new_data():
    data = imdb.load_imdb("fallback", progress=False)
    words = [imdb.review_to_words(t) for t in data.train_texts]
    _, _, old_vocabulary = imdb.bag_of_words(words)

    new_words, _ = imdb.make_new_data(words, data.train_labels)
    _, _, new_vocabulary = imdb.bag_of_words(new_words)

    assert set(new_vocabulary) - set(old_vocabulary) == {"banana"}


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError):
        imdb.make_new_data(WORDS, LABELS[:10])
