"""Container output to CloudWatch Logs: line by line, in batches, with tabs shown as ``#011``.

The real log driver writes a tab as ``#011``, and the algorithms' metric regexes depend on that.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

from helpers.local.aws import backends as moto_backends

log = logging.getLogger("helpers.local")

LineHandler = Callable[[str], None]


class LogSink:
    """Ships container output to one CloudWatch log stream in batches, keeping only a short tail.

    Each line goes once to ``on_line`` (e.g. a job's metric scrapers) and into the next batch for
    ``put_log_lines``. A batch is sent when it is full, when ``close`` is called, and otherwise
    within ``FLUSH_SECONDS`` by one shared flusher thread, so ``fit(logs=True)`` still sees lines
    as they come. Nothing keeps the whole log: a job that prints a million lines holds
    ``TAIL_LINES`` of them.
    """

    BATCH_LINES = 1000  # well under CloudWatch's 10,000 events per PutLogEvents
    FLUSH_SECONDS = 0.2
    TAIL_LINES = 20

    def __init__(self, region: str, group: str, stream: str, on_line: LineHandler | None = None):
        self.region, self.group, self.stream = region, group, stream
        self.on_line = on_line
        self.lines_written = 0
        self._tail: collections.deque[str] = collections.deque(maxlen=self.TAIL_LINES)
        self._batch: list[str] = []
        self._idle_rounds = 0
        self._with_flusher = False
        # Lock order: a sink's lock, then the flusher's.
        self._lock = threading.Lock()
        moto_backends.ensure_log_stream(region, group, stream)

    def write(self, line: str) -> None:
        message = line.rstrip("\n").replace("\t", "#011")
        if self.on_line is not None:
            self.on_line(message)
        with self._lock:
            self._batch.append(message)
            self._tail.append(message)
            self.lines_written += 1
            if len(self._batch) >= self.BATCH_LINES:
                self._send()
            elif not self._with_flusher:
                self._with_flusher = True
                _FLUSHER.add(self)

    def flush(self) -> None:
        with self._lock:
            self._send()

    def close(self) -> None:
        """Send what is left; the sink can still be written to (it then flushes on its own again)."""
        with self._lock:
            self._send()
            self._leave_flusher()

    def tail(self, count: int = 3) -> list[str]:
        """The last ``count`` lines (at most ``TAIL_LINES``), for failure messages."""
        with self._lock:
            return list(self._tail)[-count:]

    def _send(self) -> None:
        if not self._batch:
            return
        batch, self._batch = self._batch, []
        try:
            moto_backends.put_log_lines(self.region, self.group, self.stream, batch)
        except Exception:
            # The group or stream was deleted under the job: make it again, as the log agent does.
            try:
                moto_backends.ensure_log_stream(self.region, self.group, self.stream)
                moto_backends.put_log_lines(self.region, self.group, self.stream, batch)
            except Exception:
                log.exception("%d log lines for %s/%s were dropped", len(batch), self.group, self.stream)

    def _leave_flusher(self) -> None:
        if self._with_flusher:
            self._with_flusher = False
            _FLUSHER.discard(self)

    def _flush_from_flusher(self) -> None:
        with self._lock:
            if self._batch:
                self._idle_rounds = 0
                self._send()
            else:
                self._idle_rounds += 1
                if self._idle_rounds >= _LogFlusher.IDLE_ROUNDS:
                    self._leave_flusher()  # a quiet sink stops costing the flusher anything


class _LogFlusher:
    """One thread for every sink with lines waiting: sends them every ``LogSink.FLUSH_SECONDS``."""

    IDLE_ROUNDS = 50  # rounds without lines before a sink leaves the flusher

    def __init__(self) -> None:
        self._sinks: set[LogSink] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, sink: LogSink) -> None:
        with self._lock:
            self._sinks.add(sink)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="log-flusher", daemon=True)
                self._thread.start()

    def discard(self, sink: LogSink) -> None:
        with self._lock:
            self._sinks.discard(sink)

    def _run(self) -> None:
        while True:
            time.sleep(LogSink.FLUSH_SECONDS)
            with self._lock:
                sinks = list(self._sinks)
            for sink in sinks:
                try:
                    sink._flush_from_flusher()
                except Exception:  # a log store hiccup must not end flushing for every job
                    log.exception("Sending log lines to %s failed", sink.stream)


_FLUSHER = _LogFlusher()
