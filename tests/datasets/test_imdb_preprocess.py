"""Preprocessing reviews into words, as the course does it, in parallel and cached."""

from __future__ import annotations

import os

import bs4
import pytest

from helpers.datasets import imdb
from helpers.datasets.imdb import preprocess
from tests.datasets.reference import course_review_to_words


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    return tmp_path / "imdb"


TRICKY = [
    "This movie was<br /><br />GREAT! I loved the acting &amp; the music.",
    "<i>Brilliant</i> film, <b>truly</b> the best of 1999.",
    "I <3 this film, and 10 > 9 < 8 is how I'd rate it.",
    "Café society, naïve heroes, İstanbul nights and a Kelvin sign \u212a.",
    "&lt;not a tag&gt; and an &unknown; entity",
    "Unclosed <a href='x'>link and a stray < bracket",
    "",
    "   ...!!!   ",
]


def test_html_is_stripped_stop_words_removed_and_words_stemmed():
    words = imdb.review_to_words("This movie was <br /><br />GREAT! I loved the acting &amp; the music.")

    assert words == ["movi", "great", "love", "act", "music"]


def test_line_breaks_join_words_as_beautifulsoup_does():
    # get_text() drops the tag without adding a space: the course's data has this quirk.
    assert imdb.review_to_words("wonderful<br />film") == ["wonderfulfilm"]
    assert imdb.strip_html("a<br /><br />b") == "ab"


@pytest.mark.parametrize("review", TRICKY)
def test_matches_the_course_implementation_on_awkward_input(review):
    assert imdb.review_to_words(review) == course_review_to_words(review)


def test_matches_the_course_implementation_on_the_fallback_corpus():
    reviews = [r.text for r in imdb.read_reviews(imdb.FALLBACK_ARCHIVE)][::7]

    assert [imdb.review_to_words(r) for r in reviews] == [course_review_to_words(r) for r in reviews]


def test_stop_words_are_nltks_english_list():
    assert len(imdb.ENGLISH_STOP_WORDS) == 179
    assert {"the", "not", "wouldn't", "ourselves"} <= imdb.ENGLISH_STOP_WORDS


def test_preprocessing_is_cached_on_disk(cache, monkeypatch, capsys):
    texts = ["A great film.", "A terrible film."]
    first = imdb.preprocess_reviews(texts, progress=False)
    assert len(list(cache.glob("words-*.pkl"))) == 1

    def no_work(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(preprocess, "_preprocess_all", no_work)
    again = imdb.preprocess_reviews(texts, progress=True)

    assert again == first == [["great", "film"], ["terribl", "film"]]
    assert "from cache" in capsys.readouterr().out


def test_different_texts_get_a_different_cache_entry(cache):
    imdb.preprocess_reviews(["A great film."], progress=False)
    imdb.preprocess_reviews(["A great film!"], progress=False)

    assert len(list(cache.glob("words-*.pkl"))) == 2


def test_the_cache_key_covers_beautifulsoup_and_the_stop_words(monkeypatch):
    texts = ["A <i>great</i> film."]
    keys = {preprocess.texts_key(texts)}

    monkeypatch.setattr(bs4, "__version__", "0.0.0")
    keys.add(preprocess.texts_key(texts))
    monkeypatch.setattr(preprocess, "ENGLISH_STOP_WORDS", imdb.ENGLISH_STOP_WORDS - {"the"})
    keys.add(preprocess.texts_key(texts))

    assert len(keys) == 3


def test_parallel_chunks_give_the_same_words_in_the_same_order(monkeypatch, capsys, tmp_path):
    texts = [r.text for r in imdb.read_reviews(imdb.FALLBACK_ARCHIVE)][:300]
    monkeypatch.setattr(preprocess, "_MIN_PARALLEL", 0)
    monkeypatch.setattr(preprocess, "_CHUNK", 40)
    # Each process that preprocesses a chunk leaves a file named after its PID: a pool that
    # silently fell back to this process would give the right words, but only our PID.
    chunk_to_words = preprocess._chunk_to_words

    def recording(reviews):
        (tmp_path / f"pid-{os.getpid()}").touch()
        return chunk_to_words(reviews)

    monkeypatch.setattr(preprocess, "_chunk_to_words", recording)

    parallel = imdb.preprocess_reviews(texts, workers=2, use_cache=False, progress=True)

    assert parallel == [imdb.review_to_words(t) for t in texts]
    pids = {int(f.name.removeprefix("pid-")) for f in tmp_path.glob("pid-*")}
    assert pids and os.getpid() not in pids
    assert "Preprocessing reviews" in capsys.readouterr().err
