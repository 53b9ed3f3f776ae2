"""Read labelled reviews laid out as in aclImdb: ``{train,test}/{pos,neg}/<id>_<rating>.txt``.

Works on a ``.tar.gz`` archive (read as a stream, taking only those files and skipping
``unsup/``, the ``.feat`` files and the rest) or on an extracted folder.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers.datasets.imdb.cache import cache_dir, read_pickle, write_pickle

# Bump when what is read (or how) changes, so cached extracts are ignored.
READER_VERSION = "2"

_REVIEW = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


@dataclass(frozen=True)
class Review:
    split: str  # "train" or "test"
    label: int  # 1 positive, 0 negative
    id: int
    rating: int  # the reviewer's 1-10 score from the file name
    text: str


def read_reviews(path: Path) -> list[Review]:
    """All labelled reviews under ``path`` (archive or folder), sorted by split, label, id."""
    path = Path(path)
    reviews = list(_read_folder(path) if path.is_dir() else _read_archive(path))
    if not reviews:
        raise ValueError(
            f"{path} holds no reviews laid out as train/pos, train/neg, test/pos, test/neg "
            "(files <id>_<rating>.txt), as in aclImdb_v1.tar.gz"
        )
    # Archive order depends on how it was packed; sort so results do not.
    reviews.sort(key=lambda r: (r.split, -r.label, r.id))
    return reviews


def read_reviews_cached(path: Path) -> list[Review]:
    """read_reviews(), kept as one pickle so later runs skip decompressing the archive."""
    path = Path(path).resolve()
    stat = path.stat()
    if path.is_dir():  # a folder can change underneath us: always read it
        return read_reviews(path)
    name = f"{READER_VERSION}|{path}|{stat.st_size}|{stat.st_mtime_ns}"
    key = _short_hash(name)
    extract = cache_dir() / f"reviews-{key}.pkl"
    reviews = read_pickle(extract)
    if not isinstance(reviews, list):
        reviews = read_reviews(path)
        write_pickle(extract, reviews)
    return reviews


def _short_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _parse(name: str, data: bytes) -> Review | None:
    match = _REVIEW.search(name)
    if match is None:
        return None
    split, sentiment, review_id, rating = match.groups()
    return Review(
        split=split,
        label=1 if sentiment == "pos" else 0,
        id=int(review_id),
        rating=int(rating),
        text=data.decode("utf-8", errors="replace"),
    )


def _read_archive(path: Path):
    try:
        with path.open("rb") as raw:
            # tarfile's own stream decompression stops quietly where a cut-off .gz ends, as if
            # the archive ended there; gzip raises instead, and checks the length and CRC.
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw) if gzipped else raw
            # Stream modes ("r|"): no seeking, so one pass over the compressed bytes.
            with tarfile.open(fileobj=stream, mode="r|" if gzipped else "r|*") as archive:
                for member in archive:
                    if member.isfile() and _REVIEW.search(member.name):
                        data = archive.extractfile(member).read()
                        yield _parse(member.name, data)
            while gzipped and stream.read(1 << 20):  # on to gzip's end-of-stream checks
                pass
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"Cannot read {path} as a .tar.gz archive of reviews: {exc}") from None


def _read_folder(path: Path):
    for file in path.rglob("*.txt"):
        review = _parse(file.relative_to(path).as_posix(), file.read_bytes())
        if review is not None:
            yield review


def to_arrays(reviews: list[Review], split: str) -> tuple[list[str], np.ndarray]:
    """The texts and labels (int64 0/1) of one split."""
    chosen = [r for r in reviews if r.split == split]
    return [r.text for r in chosen], np.array([r.label for r in chosen], dtype=np.int64)
