"""``load_imdb()``: the one call the notebooks make to get the IMDB reviews.

Where the reviews come from, in order:

1. ``source`` argument, else the ``IMDB_SOURCE`` environment variable: ``"fallback"``
   for the bundled synthetic corpus, an ``http(s)://`` URL to download, or the path of
   an archive (or extracted folder) laid out like ``aclImdb_v1.tar.gz``. An explicit
   source that fails is an error: nothing else is tried.
2. The official archive already downloaded into the cache folder.
3. A download of the official archive (checked against its published md5).
4. If that download cannot reach the server, or the server answers with an HTTP error:
   the bundled synthetic corpus, announced with a WARNING line that says why and how to
   use a local copy instead.

A downloaded archive that cannot be read (an error page, a truncated file) is deleted
with the error, so the next run downloads it again instead of failing the same way.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from helpers.datasets.imdb.cache import cache_dir
from helpers.datasets.imdb.corpus import Review, read_reviews, read_reviews_cached, to_arrays
from helpers.datasets.imdb.download import (
    LOCAL_COPY_HINT,
    OFFICIAL_MD5,
    OFFICIAL_URL,
    ImdbChecksumError,
    ImdbDownloadError,
    ImdbHttpError,
    ImdbOfflineError,
    download,
    md5sum,
)
from helpers.datasets.imdb.fallback import FALLBACK_ARCHIVE

OFFICIAL_NAME = "aclImdb_v1.tar.gz"


@dataclass(frozen=True, repr=False)
class ImdbData:
    """Labelled reviews (1 positive, 0 negative) and which corpus they came from."""

    train_texts: list[str]
    train_labels: np.ndarray
    test_texts: list[str]
    test_labels: np.ndarray
    kind: Literal["full", "fallback"]  # the real dataset, or the synthetic stand-in
    source: str  # the archive, folder or URL that was read

    def __repr__(self) -> str:
        return (
            f"ImdbData(kind={self.kind!r}, train={len(self.train_texts):,}, "
            f"test={len(self.test_texts):,}, source={self.source!r})"
        )


def load_imdb(
    source: str | os.PathLike | None = None,
    progress: bool = True,
    *,
    md5: str | None = None,
    seed: int | None = 0,
) -> ImdbData:
    """Load the IMDB train and test reviews; print one line saying which data is used.

    ``md5`` checks an archive given as ``source`` (the official URL is always checked).
    ``seed`` shuffles each split reproducibly, as the course shuffles before splitting off
    a validation set; ``None`` keeps the files' order (positive first, by id).
    """
    chosen = source if source is not None else os.environ.get("IMDB_SOURCE") or None
    path, kind, warning, url = _locate(None if chosen is None else str(chosen), md5, progress)

    reviews = _read(path, kind, url)
    train_texts, train_labels = to_arrays(reviews, "train")
    test_texts, test_labels = to_arrays(reviews, "test")
    if seed is not None:
        rng = np.random.default_rng(seed)
        train_texts, train_labels = _shuffle(rng, train_texts, train_labels)
        test_texts, test_labels = _shuffle(rng, test_texts, test_labels)

    counts = f"{len(train_texts):,} train / {len(test_texts):,} test reviews"
    if kind == "full":
        print(f"IMDB: using the full Large Movie Review Dataset ({counts}) from {path}")
    elif warning:
        print(
            f"IMDB: WARNING: {warning}. Using the bundled FALLBACK corpus instead "
            f"({counts}, synthetic, not the real dataset)."
        )
    else:
        print(f"IMDB: using the bundled FALLBACK corpus ({counts}, synthetic, not the real dataset)")
    return ImdbData(train_texts, train_labels, test_texts, test_labels, kind, str(path))


def _locate(source: str | None, md5: str | None, progress: bool) -> tuple[Path, str, str | None, str | None]:
    """Return (archive or folder, "full" or "fallback", warning for an automatic fallback,
    URL the archive was downloaded from, None for a local source)."""
    if source is None:
        cached = cache_dir() / OFFICIAL_NAME
        try:
            path = download(OFFICIAL_URL, cached, md5=OFFICIAL_MD5, progress=progress)
        except (ImdbOfflineError, ImdbHttpError) as exc:
            return FALLBACK_ARCHIVE, "fallback", str(exc), None
        return path, "full", None, OFFICIAL_URL

    if source.strip().lower() == "fallback":
        return FALLBACK_ARCHIVE, "fallback", None, None

    if source.startswith(("http://", "https://")):
        if md5 is None and _same_file_url(source, OFFICIAL_URL):
            md5, dest = OFFICIAL_MD5, cache_dir() / OFFICIAL_NAME
        else:
            # Other URLs get their own cache file, so they never pass for the official one.
            url_hash = hashlib.blake2b(source.encode(), digest_size=4).hexdigest()
            dest = cache_dir() / f"{url_hash}-{Path(source.split('?')[0]).name or 'imdb.tar.gz'}"
        return download(source, dest, md5=md5, progress=progress), "full", None, source

    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"IMDB source {source} does not exist; set IMDB_SOURCE (or pass source=) to the "
            "path of aclImdb_v1.tar.gz, to a URL, or to 'fallback'"
        )
    if md5 is not None and path.is_file() and md5sum(path) != md5.lower():
        raise ImdbChecksumError(f"Checksum mismatch for {path}: expected md5 {md5}")
    if path.resolve() == FALLBACK_ARCHIVE.resolve():
        return path, "fallback", None, None
    return path, "full", None, None


def _read(path: Path, kind: str, url: str | None) -> list[Review]:
    """The reviews in ``path``; a download (``url`` set) that cannot be read is deleted."""
    if kind == "fallback":
        return read_reviews(path)
    try:
        return read_reviews_cached(path)
    except ValueError as exc:
        if url is None:  # the user's own file: theirs to fix, never ours to delete
            raise
        # Without an md5 an error page or a cut-off file passes for a good download; kept,
        # it would be returned from the cache, and fail like this, on every later run.
        path.unlink(missing_ok=True)
        raise ImdbDownloadError(
            f"{exc} (downloaded from {url}; the file was deleted, run again to download it again "
            f"or {LOCAL_COPY_HINT})"
        ) from None


def _same_file_url(url: str, official: str) -> bool:
    # http:// and https:// (and %7E for ~) name the same official file.
    def norm(u: str) -> str:
        return u.split("://", 1)[-1].replace("%7E", "~").replace("%7e", "~")

    return norm(url) == norm(official)


def _shuffle(rng: np.random.Generator, texts: list[str], labels: np.ndarray):
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], labels[order]
