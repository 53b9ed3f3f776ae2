"""IMDB movie reviews for the sentiment-analysis lessons.

Typical use in a notebook::

    from helpers.datasets import imdb

    data = imdb.load_imdb()                      # or load_imdb("fallback") offline
    words_train = imdb.preprocess_reviews(data.train_texts)
    words_test = imdb.preprocess_reviews(data.test_texts)
    train_X, test_X, vocabulary = imdb.bag_of_words(words_train, words_test)
    split = imdb.split_train_validation(train_X, data.train_labels)
    imdb.write_csv("train.csv", split.train_X, split.train_y)
    imdb.write_csv("validation.csv", split.val_X, split.val_y)
    imdb.write_csv("test.csv", test_X)

Environment: ``IMDB_SOURCE`` (URL, archive path or ``fallback``) and ``COURSE_DATA_DIR``
(cache root; files go to ``$COURSE_DATA_DIR/imdb``).
"""

from helpers.datasets.imdb.cache import cache_dir
from helpers.datasets.imdb.corpus import Review, read_reviews
from helpers.datasets.imdb.download import (
    OFFICIAL_MD5,
    OFFICIAL_URL,
    ImdbChecksumError,
    ImdbDownloadError,
    ImdbHttpError,
    ImdbOfflineError,
    download,
)
from helpers.datasets.imdb.drift import make_new_data
from helpers.datasets.imdb.fallback import FALLBACK_ARCHIVE
from helpers.datasets.imdb.features import (
    BagOfWords,
    Split,
    bag_of_words,
    encode_review,
    encode_words,
    identity,
    make_vectorizer,
    split_train_validation,
    write_csv,
)
from helpers.datasets.imdb.load import ImdbData, load_imdb
from helpers.datasets.imdb.preprocess import preprocess_reviews, review_to_words, strip_html
from helpers.datasets.imdb.stopwords import ENGLISH_STOP_WORDS

__all__ = [
    "ENGLISH_STOP_WORDS",
    "FALLBACK_ARCHIVE",
    "OFFICIAL_MD5",
    "OFFICIAL_URL",
    "BagOfWords",
    "ImdbChecksumError",
    "ImdbData",
    "ImdbDownloadError",
    "ImdbHttpError",
    "ImdbOfflineError",
    "Review",
    "Split",
    "bag_of_words",
    "cache_dir",
    "download",
    "encode_review",
    "encode_words",
    "identity",
    "load_imdb",
    "make_new_data",
    "make_vectorizer",
    "preprocess_reviews",
    "read_reviews",
    "review_to_words",
    "split_train_validation",
    "strip_html",
    "write_csv",
]
