"""Turn raw reviews into the course's word lists, fast and cached.

The steps are the course's ``review_to_words``: strip HTML with BeautifulSoup, lowercase,
replace every non-alphanumeric character with a space, split, drop NLTK's English stop
words, Porter-stem what is left. The output is the same word for word; three things make
it fast:

* BeautifulSoup is only called when a review has markup other than ``<br />`` (about 6% of
  IMDB reviews). Removing ``<br />`` directly gives the text ``get_text()`` would.
* Each distinct word is stemmed once per process (a memo), instead of once per occurrence.
* Reviews are split into chunks that run on all cores, and the result is cached on disk
  under a hash of the texts, so a second run only reads a pickle.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import os
import sys
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import bs4
import nltk
from bs4 import BeautifulSoup
from nltk.stem.porter import PorterStemmer
from tqdm import tqdm

from helpers.datasets.imdb.cache import cache_dir, read_pickle, write_pickle
from helpers.datasets.imdb.stopwords import ENGLISH_STOP_WORDS

# Part of the cache key: change it whenever the steps above change.
PREPROCESS_VERSION = "1"

# Below this many reviews, starting worker processes costs more than it saves.
_MIN_PARALLEL = 2_000
_CHUNK = 1_000

# Byte table for lowercase ASCII text: keep a-z and 0-9, everything else becomes a space.
_KEEP = bytes(c if (48 <= c <= 57 or 97 <= c <= 122) else 32 for c in range(256))

_stemmer = PorterStemmer()
# word -> stem, with stop words mapped to "" so one filter() drops them.
_stems: dict[str, str] = dict.fromkeys(ENGLISH_STOP_WORDS, "")


def strip_html(review: str) -> str:
    """Return the review's text as ``BeautifulSoup(review, "html.parser").get_text()`` does."""
    text = review.replace("<br />", "")
    if "<" in text or "&" in text:  # other tags or entities: let the real parser decide
        return BeautifulSoup(review, "html.parser").get_text()
    return text


def _tokens(review: str) -> list[str]:
    # lower() first, as the course does; non-ASCII characters become "?" and then spaces,
    # which is what re.sub(r"[^a-zA-Z0-9]", " ", ...) does to them.
    text = strip_html(review).lower().encode("ascii", "replace")
    return text.translate(_KEEP).decode("ascii").split()


def review_to_words(review: str) -> list[str]:
    """Preprocess one review into a list of stemmed, stop-word-free words."""
    words = _tokens(review)
    try:
        return list(filter(None, map(_stems.__getitem__, words)))
    except KeyError:  # words not seen before: stem those (once), then map again
        for word in set(words).difference(_stems):
            _stems[word] = _stemmer.stem(word)
        return list(filter(None, map(_stems.__getitem__, words)))


def _chunk_to_words(reviews: Sequence[str]) -> list[list[str]]:
    return [review_to_words(review) for review in reviews]


def _chunk_in_worker(reviews: Sequence[str]) -> tuple[list[list[str]], dict[str, str]]:
    """Words for a chunk, plus the stems this worker learned doing it.

    The parent adds those stems to its own memo, so workers forked for the next call
    (the test set after the training set) start with them and skip most stemming.
    """
    known = len(_stems)
    words = _chunk_to_words(reviews)
    return words, dict(itertools.islice(_stems.items(), known, None))


def texts_key(texts: Sequence[str]) -> str:
    """A short hash of the texts and of everything that decides their preprocessed form."""
    digest = hashlib.blake2b(digest_size=16)
    # BeautifulSoup decides the text of reviews with markup, the stop words which words
    # are dropped: a change to either must not reuse words cached before it.
    stop_words = hashlib.blake2b("\n".join(sorted(ENGLISH_STOP_WORDS)).encode(), digest_size=8).hexdigest()
    versions = f"v{PREPROCESS_VERSION}|nltk{nltk.__version__}|bs4{bs4.__version__}|stop{stop_words}"
    digest.update(f"{versions}|{len(texts)}|".encode())
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def preprocess_reviews(
    texts: Sequence[str],
    *,
    use_cache: bool = True,
    workers: int | None = None,
    progress: bool = True,
    cache_folder: Path | None = None,
) -> list[list[str]]:
    """Preprocess many reviews, in parallel, reading and writing an on-disk cache.

    ``workers`` defaults to the number of cores; 1 runs in this process.
    The cache file is ``<cache folder>/words-<hash of texts>.pkl``.
    """
    texts = list(texts)
    path = (cache_folder or cache_dir()) / f"words-{texts_key(texts)}.pkl"
    if use_cache:
        cached = read_pickle(path)
        if isinstance(cached, list) and len(cached) == len(texts):
            if progress:
                print(f"Read {len(cached):,} preprocessed reviews from cache {path.name}")
            return cached

    words = _preprocess_all(texts, workers or os.cpu_count() or 1, progress)
    if use_cache:
        write_pickle(path, words)
    return words


def _preprocess_all(texts: list[str], workers: int, progress: bool) -> list[list[str]]:
    bar = tqdm(total=len(texts), desc="Preprocessing reviews", unit="review", disable=not progress)
    chunks = [texts[start : start + _CHUNK] for start in range(0, len(texts), _CHUNK)]
    with bar:
        if workers > 1 and len(texts) >= _MIN_PARALLEL:
            try:
                return _in_workers(chunks, workers, bar)
            except (OSError, BrokenProcessPool):  # no processes allowed here: do it in-process
                bar.reset()
        words = []
        for chunk in chunks:
            words.extend(_chunk_to_words(chunk))
            bar.update(len(chunk))
        return words


def _in_workers(chunks: list[list[str]], workers: int, bar: tqdm) -> list[list[str]]:
    # On Linux, fork: workers start with everything already imported, where a spawned
    # worker would spend seconds importing nltk, bs4 and the rest of the package again.
    context = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None
    words = []
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads (a Jupyter kernel has
        # some); the workers only run pure-Python text code, which is safe.
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            # map() keeps chunk order, so the output lines up with the input.
            for chunk_words, new_stems in pool.map(_chunk_in_worker, chunks):
                words.extend(chunk_words)
                _stems.update(new_stems)
                bar.update(len(chunk_words))
    return words
