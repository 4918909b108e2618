"""Clicks off the request path: the redirect appends to an in-memory buffer; a background flusher
hands the buffer in batches to a sink: the click writer process (``click_writer``), or straight to
the database (one set-based INSERT per batch), or onto a Redis stream (``click_stream``) from which
consumers move them into the database.

``ClickRecorder.stop()`` flushes what is left, and the app calls it on shutdown, so a clean stop
loses no click. A failed write keeps the batch for the next attempt (up to ``max_buffer`` clicks;
beyond that the oldest are dropped and counted in ``dropped``: memory must stay bounded).
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import structlog
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.logging import error_summary
from neigou.links import repository as repo
from neigou.links.models import TouchKind
from neigou.links.touches import NewTouch, record_touches
from neigou.links.useragent import UaClass
from neigou.privacy import repository as privacy

log = structlog.get_logger(__name__)


# The one form a click takes from the redirect to the database: a plain tuple in the column order of
# ``link_clicks`` (``repository.insert_clicks`` takes it as it is). The redirect builds it, the recorder
# buffers it, the pipe to the click writer pickles it (a plain tuple pickles in C; a NamedTuple or a
# dataclass costs a Python call per click on the web process's flusher thread), and a stream entry
# carries it as a JSON list. Times are aware; ``ua_class`` is the plain value of a ``UaClass``.
ClickRow = tuple[str, int, int, int, datetime, str | None, str, str | None]
"""(ref, link_id, program_id, member_id, clicked_at, visitor_id, ua_class, customer_ref_hash)"""


def click_row(
    *,
    ref: str,
    link_id: int,
    program_id: int,
    member_id: int,
    clicked_at: datetime,
    visitor_id: str | None,
    ua_class: UaClass,
    customer_ref_hash: str | None = None,
) -> ClickRow:
    """A click row by name (the redirect's fast path writes the tuple itself)."""
    return (ref, link_id, program_id, member_id, clicked_at, visitor_id, ua_class.value, customer_ref_hash)


class _ClickRefs:
    """Click references: a random prefix per process (and per fork) and a counter.

    A reference is the click's identity through buffers and streams (the table's unique key, so a
    redelivered click is stored once). Unique without a random draw per click: the redirect stays off
    the system's random source, and one process's references land next to each other in the index.
    """

    def __init__(self) -> None:
        self._pid = -1
        self._prefix = ""
        self._counter = itertools.count()

    def next(self) -> str:
        if self._pid != os.getpid():  # a forked worker must not repeat its parent's references
            self._pid = os.getpid()
            self._prefix = secrets.token_urlsafe(9)  # 12 characters, 72 random bits
            self._counter = itertools.count()
        return f"{self._prefix}{next(self._counter):x}"  # at most 24 characters for 2**48 clicks


new_click_ref = _ClickRefs().next


class ClickSink(Protocol):
    """Where a flushed batch goes."""

    def write(self, clicks: Sequence[ClickRow]) -> None:
        """Store the batch or raise (the recorder keeps it and retries)."""


def store_clicks(session: Session, clicks: Sequence[ClickRow]) -> int:
    """Insert clicks (duplicates skipped) and the touches of identified ones; returns clicks kept.

    A batch costs the same few queries whatever its size: its links, the visitors among it that
    identified themselves (and, when there are some, the organizations of their clicks' programs: a
    linkage holds only within its organization), the opted-out shoppers among both
    (``neigou.privacy``, asked once), the insert, and the touches.
    """
    links = repo.links_by_id(session, {row[1] for row in clicks})
    kept = [row for row in clicks if row[1] in links]
    if len(kept) < len(clicks):
        log.warning("clicks.unknown_links", dropped=len(clicks) - len(kept))
    # A click is a touch when the shopper is known: it carried their reference, or its visitor
    # cookie identified itself earlier (by a claim) to the organization of the click's program
    # (docs/privacy.md: organizations are separate controllers).
    linked = repo.identified_visitors(session, {row[5] for row in kept if row[5]})
    organizations = repo.program_organizations(
        session, {row[2] for row in kept if row[5] in linked} if linked else ()
    )
    identified: dict[tuple[str | None, int], str] = {}
    for row in kept:
        found = linked.get(row[5]) if row[5] else None
        if found is not None and found[1] is not None and found[1] == organizations.get(row[2]):
            identified[row[5], row[2]] = found[0]
    customers = {(row[2], row[7]) for row in kept if row[7]}
    customers |= {(row[2], identified[row[5], row[2]]) for row in kept if (row[5], row[2]) in identified}
    # The batch's customers locked against a concurrent opt-out, then the opted-out among them.
    privacy.lock_customers(session, {customer for _, customer in customers})
    opted_out = privacy.suppressed(session, customers)
    if opted_out:  # a shopper who opted out still counts as an anonymous click
        kept = [(*row[:7], None) if (row[2], row[7]) in opted_out else row for row in kept]
    repo.insert_clicks(session, kept)
    record_touches(
        session,
        [
            NewTouch(
                program_id=program_id,
                customer_ref_hash=customer,
                link=links[link_id],
                kind=TouchKind.CLICK,
                source_ref=f"click:{ref}",
                at=at,
            )
            for ref, link_id, program_id, _, at, visitor, _, known in kept
            if (customer := known or (identified.get((visitor, program_id)) if visitor else None))
        ],
        opted_out=opted_out,
    )
    return len(kept)


class DatabaseSink:
    """Writes each batch in its own transaction."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def write(self, clicks: Sequence[ClickRow]) -> None:
        with self._factory() as session, session.begin():
            store_clicks(session, clicks)


class ClickRecorder:
    """The in-memory click buffer and its flusher thread."""

    def __init__(
        self, sink: ClickSink, *, interval: float = 1.0, max_batch: int = 5000, max_buffer: int = 200_000
    ) -> None:
        self.sink = sink
        self.interval = interval
        self.max_batch = max_batch
        self.max_buffer = max_buffer
        self._buffer: list[ClickRow] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0

    def record(self, click: ClickRow) -> None:
        """Buffer a click (no I/O); wakes the flusher once a batch is full."""
        with self._lock:
            self._buffer.append(click)
            full = len(self._buffer) >= self.max_batch
        if full:
            self._wake.set()

    @property
    def pending(self) -> int:
        """Clicks waiting in memory."""
        return len(self._buffer)

    @property
    def running(self) -> bool:
        """Whether the flusher thread is alive (the readiness probe asks)."""
        return self._thread is not None and self._thread.is_alive()

    def flush(self, *, full_only: bool = False) -> int:
        """Write the clicks buffered when it is called, batch by batch; returns the clicks written.

        Clicks recorded meanwhile wait for the next round: under load a flush that chased them would
        write a stream of small batches (each batch costs a few queries however small it is).
        ``full_only`` also leaves a last partial batch: the flusher thread passes it when woken early
        by a full batch.
        """
        written = 0
        with self._flush_lock:
            with self._lock:
                due = len(self._buffer)
            while True:
                with self._lock:
                    take = min(self.max_batch, due - written, len(self._buffer))
                    if take <= 0 or (full_only and take < self.max_batch):
                        return written
                    batch, self._buffer = self._buffer[:take], self._buffer[take:]
                try:
                    self.sink.write(batch)
                except Exception as exc:
                    self._put_back(batch)
                    log.warning("clicks.flush_failed", error=error_summary(exc), pending=self.pending)
                    raise
                written += len(batch)
                self.written += len(batch)

    def _put_back(self, batch: list[ClickRow]) -> None:
        with self._lock:
            self._buffer[:0] = batch
            excess = len(self._buffer) - self.max_buffer
            if excess > 0:
                del self._buffer[:excess]
                self.dropped += excess

    def start(self) -> None:
        """Flush every ``interval`` seconds (or when a batch fills) on a daemon thread."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="neigou-click-flusher", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            woken = self._wake.wait(self.interval)  # early: a batch filled; late: the interval passed
            self._wake.clear()
            try:
                self.flush(full_only=woken and not self._stopping.is_set())
            except Exception:  # noqa: S112 - logged in flush; the batch waits for the next round
                continue

    def stop(self) -> None:
        """Stop the thread and write what is left (the app's shutdown calls this)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()


def snapshot(recorder: ClickRecorder) -> dict[str, Any]:
    """Counters of a recorder (for logs and the benchmark)."""
    return {"pending": recorder.pending, "written": recorder.written, "dropped": recorder.dropped}
