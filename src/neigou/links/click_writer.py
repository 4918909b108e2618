"""The click writer: a process beside each web process that stores the clicks its recorder hands over.

The redirect only appends to the recorder's buffer; the recorder's flusher thread pickles each batch
(its click rows as they are, ``clicks.ClickRow``) down a pipe and waits, without holding the
interpreter lock, for the writer to answer.
The writer does everything that costs CPU (set-based INSERTs and touches, or the Redis stream and its
consumer), so the web process's event loop never competes with a database write for the lock.

Nothing is lost on a failure: the writer acknowledges a batch only after it is stored (or appended
to the stream), and a batch that is not acknowledged stays in the recorder's buffer for the next
round. A writer that died is started again on the next write. The writer ignores SIGINT and SIGTERM
(a Ctrl-C reaches the whole process group): the web process stops it after the last flush, and it
also ends when the web process's end of the pipe closes.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import redis
import structlog
from sqlalchemy import Engine

from neigou.kit.db import make_engine, make_session_factory
from neigou.kit.logging import error_summary
from neigou.links.click_stream import StreamConsumer, click_sink
from neigou.links.clicks import ClickRow, ClickSink

log = structlog.get_logger(__name__)
START_TIMEOUT = 120.0  # seconds for a fresh interpreter to import the app and open the database
WRITE_TIMEOUT = 300.0  # a batch the writer has not answered by then counts as failed


class ClickWriterError(RuntimeError):
    """The writer process could not store a batch (it stays buffered and is retried)."""


class _WriterGone(Exception):
    """The pipe to the writer broke: it died (or was killed) since the last request."""


class ClickWriterProcess:
    """A ``ClickSink`` that hands batches to a writer process (started on ``start`` or first use)."""

    def __init__(self, database_url: str, redis_url: str | None = None) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded web process
        self._process: Any = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self.starts = 0

    @property
    def pid(self) -> int | None:
        """The writer's process id while it runs."""
        return int(self._process.pid) if self._process is not None and self._process.is_alive() else None

    def start(self) -> None:
        """Start the writer (if it is not running) and wait until it has opened the database."""
        with self._lock:
            self._ensure_started()

    def _ensure_started(self) -> Connection:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            return self._conn
        self._discard()
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=run_writer,
            args=(child, self.database_url, self.redis_url),
            name="neigou-click-writer",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self.starts += 1
        try:
            kind, detail = self._answer(parent, START_TIMEOUT)
        except _WriterGone as exc:
            kind, detail = "gone", str(exc)
        if kind != "ready":
            self._discard()
            raise ClickWriterError(f"click writer did not start: {detail}")
        log.info("clicks.writer_started", pid=process.pid, starts=self.starts)
        return parent

    def _answer(self, conn: Connection, timeout: float) -> tuple[str, Any]:
        try:
            if not conn.poll(timeout):
                self._discard()
                raise ClickWriterError(f"click writer did not answer within {timeout:.0f} s")
            kind, detail = conn.recv()
        except (EOFError, OSError) as exc:
            raise _WriterGone(repr(exc)) from exc
        return str(kind), detail

    def _request(self, kind: str, payload: object) -> Any:
        """Send a request and return the writer's answer. A writer found dead is started again and
        asked once more: storing a batch twice is harmless (a click's ``ref`` is unique)."""
        with self._lock:
            for attempt in (1, 2):
                conn = self._ensure_started()
                try:
                    conn.send((kind, payload))
                    answer, detail = self._answer(conn, WRITE_TIMEOUT)
                    break
                except (OSError, ValueError, _WriterGone) as exc:
                    self._discard()
                    if attempt == 2:
                        raise ClickWriterError(f"click writer is gone: {exc!r}") from exc
                    log.warning("clicks.writer_gone", error=error_summary(exc))
        if answer != "ok":
            raise ClickWriterError(str(detail))
        return detail

    def write(self, clicks: Sequence[ClickRow]) -> None:
        """Store a batch through the writer; raises (the recorder keeps the batch) unless it is stored."""
        self._request("batch", clicks)

    def drain(self) -> int:
        """With Redis: have the writer's consumer move everything in the stream to the database now."""
        return int(self._request("drain", None))

    def stop(self) -> None:
        """Let the writer finish (its consumer drains the stream) and wait for it to exit."""
        with self._lock:
            if self._conn is None or self._process is None:
                return
            try:
                self._conn.send(("stop", None))
                self._answer(self._conn, WRITE_TIMEOUT)
            except (ClickWriterError, _WriterGone, OSError, ValueError) as exc:
                log.warning("clicks.writer_stop_failed", error=error_summary(exc))
            self._discard()

    def _discard(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(timeout=10)
        self._conn, self._process = None, None


def run_writer(conn: Connection, database_url: str, redis_url: str | None) -> None:
    """The writer process's main loop: store batches, drain on request, stop when told or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        engine, sink, consumer = _open(database_url, redis_url)
    except Exception as exc:  # the parent reports it and keeps the clicks buffered
        conn.send(("error", error_summary(exc)))
        return
    conn.send(("ready", None))
    try:
        _serve(conn, sink, consumer)
    finally:
        if consumer is not None:
            consumer.stop()  # stores what is left in the stream
        engine.dispose()  # after the last write, before the process says it stopped
    with contextlib.suppress(OSError):  # the web process may be gone
        conn.send(("ok", "stopped"))


def _open(database_url: str, redis_url: str | None) -> tuple[Engine, ClickSink, StreamConsumer | None]:
    engine = make_engine(database_url)
    client = redis.Redis.from_url(redis_url) if redis_url else None
    sink, consumer = click_sink(make_session_factory(engine), database_url, client)
    if consumer is not None:
        consumer.start()
    return engine, sink, consumer


def _serve(conn: Connection, sink: ClickSink, consumer: StreamConsumer | None) -> None:
    while True:
        try:
            kind, payload = conn.recv()
        except (EOFError, OSError):
            return  # the web process is gone
        if kind == "stop":
            return
        try:
            if kind == "batch":
                sink.write(payload)
                conn.send(("ok", len(payload)))
            elif kind == "drain":
                conn.send(("ok", consumer.drain() if consumer is not None else 0))
            else:
                conn.send(("error", f"unknown request {kind!r}"))
        except Exception as exc:
            log.warning("clicks.writer_failed", error=error_summary(exc))
            conn.send(("error", error_summary(exc)))
