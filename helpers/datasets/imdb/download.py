"""Download an archive over HTTP with a progress bar, a checksum and resume support.

The file is written to ``<name>.part`` next to its destination and renamed only once it
is complete and its checksum (when known) matches, so a file under the final name is
always a good one. An interrupted download keeps its ``.part`` file and the next attempt
asks the server for the missing bytes only (an HTTP Range request).
"""

from __future__ import annotations

import hashlib
import http.client
import socket
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
OFFICIAL_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"
OFFICIAL_SIZE = 84_125_825

LOCAL_COPY_HINT = "point at a local copy with IMDB_SOURCE=/path/to/aclImdb_v1.tar.gz"

_BLOCK = 1 << 20


class ImdbDownloadError(RuntimeError):
    """The IMDB archive could not be fetched; the message says why and what to do."""


class ImdbOfflineError(ImdbDownloadError):
    """The server could not be reached or stopped answering (no network, refused, timeout)."""


class ImdbHttpError(ImdbDownloadError):
    """The server answered with an HTTP error status (404, 503, ...)."""


class ImdbChecksumError(ImdbDownloadError):
    """The downloaded bytes are not the expected archive."""


# What a missing or failing network raises (urlopen wraps connect errors in URLError; a
# connection lost mid-transfer surfaces as one of the others). Other OSErrors are local.
_NETWORK_ERRORS = (
    urllib.error.URLError,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    http.client.IncompleteRead,
)


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def download(
    url: str,
    dest: Path,
    *,
    md5: str | None = None,
    progress: bool = True,
    timeout: float = 30.0,
) -> Path:
    """Download ``url`` to ``dest`` unless ``dest`` already exists; return ``dest``.

    ``md5`` (hex) is checked when given. Raises ImdbOfflineError when the server cannot
    be reached, ImdbHttpError when it answers with an error status, ImdbChecksumError when
    the bytes do not match and ImdbDownloadError for anything else (a full disk, say).
    """
    dest = Path(dest)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")

    try:
        _fetch(url, part, progress=progress, timeout=timeout)
    except urllib.error.HTTPError as exc:  # before _NETWORK_ERRORS: it is a URLError too
        raise ImdbHttpError(
            f"Could not download {url}: the server answered {_reason(exc)}; "
            f"check the URL or {LOCAL_COPY_HINT}"
        ) from None
    except _NETWORK_ERRORS as exc:
        raise ImdbOfflineError(
            f"Could not download {url} ({_reason(exc)}); if this machine is offline, {LOCAL_COPY_HINT}"
        ) from None
    except (http.client.HTTPException, OSError) as exc:
        raise ImdbDownloadError(f"Could not download {url} to {part}: {_reason(exc)}") from None

    if md5 is not None:
        actual = md5sum(part)
        if actual != md5.lower():
            part.unlink(missing_ok=True)
            raise ImdbChecksumError(
                f"Checksum mismatch for {url}: expected md5 {md5}, got {actual}; the bad file "
                f"was deleted, run again to re-download or {LOCAL_COPY_HINT}"
            )
    part.replace(dest)
    return dest


def _fetch(url: str, part: Path, *, progress: bool, timeout: float) -> None:
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "sagemaker-course"})
    if have:
        request.add_header("Range", f"bytes={have}-")

    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to fetch: the part file is complete
            return
        raise

    with response:
        if have and response.status != 206:  # the server ignored the Range header
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        with (
            part.open("ab" if have else "wb") as out,
            tqdm(
                total=total,
                initial=have,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=f"Downloading {Path(url).name}",
                disable=not progress,
            ) as bar,
        ):
            while block := response.read(_BLOCK):
                out.write(block)
                bar.update(len(block))
        if total is not None and part.stat().st_size < total:
            raise http.client.IncompleteRead(b"", total - part.stat().st_size)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, http.client.IncompleteRead):
        return f"connection closed with {exc.expected} bytes still to come"
    return str(exc) or type(exc).__name__
