"""The course's plain ``review_to_words``: the reference our fast preprocessing must match.

Used by the tests and by ``bench/bench_imdb.py``.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from nltk.stem.porter import PorterStemmer

from helpers.datasets.imdb import ENGLISH_STOP_WORDS

_stemmer = PorterStemmer()


def course_review_to_words(review: str) -> list[str]:
    """The course's version, step for step (with the stop words as a set, for speed)."""
    text = BeautifulSoup(review, "html.parser").get_text()
    text = re.sub(r"[^a-zA-Z0-9]", " ", text.lower())
    words = [w for w in text.split() if w not in ENGLISH_STOP_WORDS]
    return [_stemmer.stem(w) for w in words]
