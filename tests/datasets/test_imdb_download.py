"""Getting the IMDB archive: download, progress, cache, resume, checksum, offline, fallback."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import tarfile
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.datasets import imdb
from helpers.datasets.imdb import load as load_module

REVIEWS = {
    "aclImdb/train/pos/0_9.txt": "A wonderful film.<br /><br />Loved it.",
    "aclImdb/train/pos/1_8.txt": "Great acting and a moving story.",
    "aclImdb/train/neg/0_2.txt": "Dull, <i>dull</i>, dull.",
    "aclImdb/train/neg/1_1.txt": "The worst thing I have seen this year.",
    "aclImdb/test/pos/0_10.txt": "Brilliant from start to finish.",
    "aclImdb/test/neg/0_3.txt": "Boring and far too long.",
}
# Present in the official archive and to be skipped.
EXTRAS = {
    "aclImdb/train/unsup/0_0.txt": "an unlabelled review",
    "aclImdb/train/labeledBow.feat": "0 0:1",
    "aclImdb/README": "readme",
    "aclImdb/imdb.vocab": "the\nand",
}


def make_archive(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


ARCHIVE = make_archive({**REVIEWS, **EXTRAS})
ARCHIVE_MD5 = hashlib.md5(ARCHIVE).hexdigest()


class ArchiveServer:
    """Serves ARCHIVE at /aclImdb_v1.tar.gz, honouring Range headers; records each request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.payload = ARCHIVE  # what is served at that path
        self.honour_range = True
        self.cut_after: int | None = None  # drop the connection after this many bytes
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.requests.append({"path": self.path, "range": self.headers.get("Range", "")})
                if self.path != "/aclImdb_v1.tar.gz":
                    self.send_error(404)
                    return
                body, status = server.payload, 200
                wanted = self.headers.get("Range", "")
                if wanted and server.honour_range:
                    start = int(wanted.removeprefix("bytes=").split("-")[0])
                    body, status = server.payload[start:], 206
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_after is not None:
                    body = body[: server.cut_after]
                    self.close_connection = True
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/aclImdb_v1.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("IMDB_SOURCE", raising=False)
    return tmp_path / "data" / "imdb"


@pytest.fixture
def server() -> Iterator[ArchiveServer]:
    srv = ArchiveServer()
    yield srv
    srv.close()


def refused_url() -> str:
    """A URL on a local port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/aclImdb_v1.tar.gz"


def test_download_writes_the_archive_and_shows_progress(server, tmp_path, capsys):
    dest = imdb.download(server.url, tmp_path / "a.tar.gz", md5=ARCHIVE_MD5, progress=True)

    assert dest.read_bytes() == ARCHIVE
    assert not (tmp_path / "a.tar.gz.part").exists()
    assert "Downloading aclImdb_v1.tar.gz" in capsys.readouterr().err


def test_a_downloaded_archive_is_not_fetched_again(server, tmp_path):
    imdb.download(server.url, tmp_path / "a.tar.gz", progress=False)
    imdb.download(server.url, tmp_path / "a.tar.gz", progress=False)

    assert len(server.requests) == 1


def test_an_interrupted_download_resumes_where_it_stopped(server, tmp_path):
    half = len(ARCHIVE) // 2
    (tmp_path / "a.tar.gz.part").write_bytes(ARCHIVE[:half])

    dest = imdb.download(server.url, tmp_path / "a.tar.gz", md5=ARCHIVE_MD5, progress=False)

    assert dest.read_bytes() == ARCHIVE
    assert server.requests == [{"path": "/aclImdb_v1.tar.gz", "range": f"bytes={half}-"}]


def test_a_dropped_connection_keeps_the_partial_file_for_the_next_try(server, tmp_path):
    server.cut_after = len(ARCHIVE) // 3
    with pytest.raises(imdb.ImdbOfflineError, match="bytes still to come"):
        imdb.download(server.url, tmp_path / "a.tar.gz", md5=ARCHIVE_MD5, progress=False)
    assert (tmp_path / "a.tar.gz.part").stat().st_size == len(ARCHIVE) // 3

    server.cut_after = None
    dest = imdb.download(server.url, tmp_path / "a.tar.gz", md5=ARCHIVE_MD5, progress=False)

    assert dest.read_bytes() == ARCHIVE
    assert server.requests[-1]["range"] == f"bytes={len(ARCHIVE) // 3}-"


def test_a_server_that_ignores_range_restarts_the_file(server, tmp_path):
    server.honour_range = False
    (tmp_path / "a.tar.gz.part").write_bytes(b"stale bytes")

    dest = imdb.download(server.url, tmp_path / "a.tar.gz", md5=ARCHIVE_MD5, progress=False)

    assert dest.read_bytes() == ARCHIVE


def test_a_checksum_mismatch_is_a_clear_error_and_leaves_no_file(server, tmp_path):
    with pytest.raises(imdb.ImdbChecksumError) as error:
        imdb.download(server.url, tmp_path / "a.tar.gz", md5="0" * 32, progress=False)

    message = str(error.value)
    assert "Checksum mismatch" in message and ARCHIVE_MD5 in message
    assert "\n" not in message
    assert not (tmp_path / "a.tar.gz").exists()
    assert not (tmp_path / "a.tar.gz.part").exists()


def test_offline_is_one_clear_line_naming_imdb_source(tmp_path):
    url = refused_url()
    with pytest.raises(imdb.ImdbOfflineError) as error:
        imdb.download(url, tmp_path / "a.tar.gz", progress=False)

    message = str(error.value)
    assert "\n" not in message
    assert url in message
    assert "IMDB_SOURCE=/path/to/aclImdb_v1.tar.gz" in message


def test_a_missing_file_on_the_server_is_reported_as_such_not_as_offline(server, tmp_path):
    with pytest.raises(imdb.ImdbHttpError) as error:
        imdb.download(server.url.replace("aclImdb_v1", "nothing"), tmp_path / "a.tar.gz", progress=False)

    message = str(error.value)
    assert not isinstance(error.value, imdb.ImdbOfflineError)
    assert "HTTP 404" in message and "offline" not in message and "\n" not in message


def test_a_local_disk_error_is_reported_as_such_not_as_offline(server, tmp_path):
    (tmp_path / "a.tar.gz.part").mkdir()  # the partial file cannot be opened for writing

    with pytest.raises(imdb.ImdbDownloadError) as error:
        imdb.download(server.url, tmp_path / "a.tar.gz", progress=False)

    assert not isinstance(error.value, imdb.ImdbOfflineError)
    assert "a.tar.gz.part" in str(error.value) and "offline" not in str(error.value)


@pytest.mark.parametrize(
    "bad", [b"<html><body>503 Service Unavailable</body></html>", ARCHIVE[: len(ARCHIVE) // 2]]
)
def test_a_downloaded_file_that_is_no_archive_is_deleted_so_the_next_run_fetches_it(server, cache, bad):
    server.payload = bad  # an error page served as 200, or a file cut short upstream
    with pytest.raises(imdb.ImdbDownloadError) as error:
        imdb.load_imdb(server.url, progress=False)

    message = str(error.value)
    assert "Cannot read" in message and "deleted" in message and "run again" in message
    assert "\n" not in message
    assert not [f for f in cache.iterdir() if f.name.endswith("aclImdb_v1.tar.gz")]

    server.payload = ARCHIVE
    assert imdb.load_imdb(server.url, progress=False).kind == "full"
    assert len(server.requests) == 2


def test_an_archive_cut_off_between_two_reviews_is_not_read_as_a_shorter_one(tmp_path):
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        for name, text in REVIEWS.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    # Two whole members (a 512-byte header and one data block each), compressed without the
    # end of the gzip stream: what a download cut off at just that point leaves.
    compressor = zlib.compressobj(wbits=31)
    cut = compressor.compress(tar.getvalue()[: 2 * 1024]) + compressor.flush(zlib.Z_SYNC_FLUSH)
    (tmp_path / "cut.tar.gz").write_bytes(cut)

    with pytest.raises(ValueError, match="Cannot read"):
        imdb.read_reviews(tmp_path / "cut.tar.gz")


def test_a_local_archive_that_cannot_be_read_is_left_alone(tmp_path):
    archive = tmp_path / "copy.tar.gz"
    archive.write_bytes(ARCHIVE[:100])

    with pytest.raises(ValueError, match="Cannot read"):
        imdb.load_imdb(archive, progress=False)
    assert archive.exists()


def test_load_from_a_url_reads_only_labelled_reviews(server, capsys):
    data = imdb.load_imdb(server.url, progress=False)

    assert data.kind == "full"
    assert sorted(data.train_texts) == sorted(
        text for name, text in REVIEWS.items() if name.startswith("aclImdb/train/")
    )
    assert sorted(data.test_labels.tolist()) == [0, 1]
    assert "an unlabelled review" not in data.train_texts
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "full" in out and "4 train / 2 test" in out


def test_load_from_a_url_twice_downloads_once(server):
    imdb.load_imdb(server.url, progress=False)
    imdb.load_imdb(server.url, progress=False)

    assert len(server.requests) == 1


def test_load_checks_a_given_md5(server):
    with pytest.raises(imdb.ImdbChecksumError):
        imdb.load_imdb(server.url, progress=False, md5="f" * 32)


def test_load_from_a_local_archive_named_in_imdb_source(tmp_path, monkeypatch):
    archive = tmp_path / "copy.tar.gz"
    archive.write_bytes(ARCHIVE)
    monkeypatch.setenv("IMDB_SOURCE", str(archive))

    data = imdb.load_imdb(progress=False)

    assert data.kind == "full"
    assert data.source == str(archive)
    assert len(data.train_texts) == 4 and len(data.test_texts) == 2


def test_load_from_an_extracted_folder(tmp_path):
    for name, text in {**REVIEWS, **EXTRAS}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)

    data = imdb.load_imdb(tmp_path / "aclImdb", progress=False)

    assert len(data.train_texts) == 4 and data.kind == "full"


def test_a_missing_local_source_says_how_to_fix_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="IMDB_SOURCE"):
        imdb.load_imdb(tmp_path / "nope.tar.gz", progress=False)


def test_the_cached_official_archive_is_used_without_a_request(cache, monkeypatch):
    cache.mkdir(parents=True)
    (cache / "aclImdb_v1.tar.gz").write_bytes(ARCHIVE)
    monkeypatch.setattr(load_module, "OFFICIAL_URL", refused_url())

    data = imdb.load_imdb(progress=False)

    assert data.kind == "full" and len(data.train_texts) == 4


def test_an_http_error_from_the_official_server_falls_back_saying_so(server, monkeypatch, capsys):
    monkeypatch.setattr(load_module, "OFFICIAL_URL", server.url.replace("aclImdb_v1", "moved"))

    data = imdb.load_imdb(progress=False)

    assert data.kind == "fallback"
    out = capsys.readouterr().out
    assert "WARNING" in out and "HTTP 404" in out and "offline" not in out


def test_offline_without_a_source_falls_back_loudly(monkeypatch, capsys):
    monkeypatch.setattr(load_module, "OFFICIAL_URL", refused_url())

    data = imdb.load_imdb(progress=False)

    assert data.kind == "fallback"
    out = capsys.readouterr().out.strip()
    assert "\n" not in out
    assert "WARNING" in out and "FALLBACK" in out and "IMDB_SOURCE=" in out


def test_an_explicit_url_that_fails_does_not_fall_back():
    with pytest.raises(imdb.ImdbOfflineError):
        imdb.load_imdb(refused_url(), progress=False)


def test_the_fallback_can_be_chosen_explicitly(monkeypatch, capsys):
    monkeypatch.setenv("IMDB_SOURCE", "fallback")

    data = imdb.load_imdb(progress=False)

    assert data.kind == "fallback"
    out = capsys.readouterr().out
    assert "FALLBACK" in out and "WARNING" not in out
