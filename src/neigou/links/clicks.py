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
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Protocol

import structlog
from sqlalchemy.orm import Session, sessionmaker

from neigou.links import repository as repo
from neigou.links.models import ShareLink, TouchKind
from neigou.links.touches import NewTouch, record_touches
from neigou.links.useragent import UaClass
from neigou.privacy import repository as privacy

log = structlog.get_logger(__name__)


ClickRow = tuple[str, int, int, int, datetime, str | None, str, str | None]


@dataclass(slots=True)
class ClickEvent:
    """One open of a share link, as the redirect saw it (not frozen: built on the hottest path)."""

    ref: str
    link_id: int
    program_id: int
    member_id: int
    clicked_at: datetime
    visitor_id: str | None
    ua_class: UaClass
    customer_ref_hash: str | None = None

    def to_fields(self) -> dict[str, str]:
        """Flat string fields (for a Redis stream entry)."""
        fields = asdict(self)
        fields["clicked_at"] = self.clicked_at.isoformat()
        fields["ua_class"] = self.ua_class.value
        return {k: str(v) for k, v in fields.items() if v is not None}

    def to_row(self) -> ClickRow:
        """A plain tuple (cheap to pickle: how batches reach the click writer process)."""
        return (
            self.ref,
            self.link_id,
            self.program_id,
            self.member_id,
            self.clicked_at,
            self.visitor_id,
            self.ua_class.value,
            self.customer_ref_hash,
        )

    @classmethod
    def from_row(cls, row: ClickRow) -> ClickEvent:
        """The inverse of ``to_row``."""
        ref, link_id, program_id, member_id, clicked_at, visitor_id, ua_class, customer = row
        return cls(ref, link_id, program_id, member_id, clicked_at, visitor_id, UaClass(ua_class), customer)

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> ClickEvent:
        """The inverse of ``to_fields``."""
        return cls(
            ref=fields["ref"],
            link_id=int(fields["link_id"]),
            program_id=int(fields["program_id"]),
            member_id=int(fields["member_id"]),
            clicked_at=datetime.fromisoformat(fields["clicked_at"]),
            visitor_id=fields.get("visitor_id"),
            ua_class=UaClass(fields["ua_class"]),
            customer_ref_hash=fields.get("customer_ref_hash"),
        )


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

    def write(self, clicks: Sequence[ClickEvent]) -> None:
        """Store the batch or raise (the recorder keeps it and retries)."""


def store_clicks(session: Session, clicks: Sequence[ClickEvent]) -> int:
    """Insert clicks (duplicates skipped) and the touches of identified ones; returns clicks kept."""
    known = repo.existing_link_ids(session, {c.link_id for c in clicks})
    kept = [c for c in clicks if c.link_id in known]
    if len(kept) < len(clicks):
        log.warning("clicks.unknown_links", dropped=len(clicks) - len(kept))
    # A shopper who opted out (``neigou.privacy``) still counts as an anonymous click.
    opted_out = privacy.suppressed(
        session, {(c.program_id, c.customer_ref_hash) for c in kept if c.customer_ref_hash}
    )
    if opted_out:
        kept = [
            replace(c, customer_ref_hash=None) if (c.program_id, c.customer_ref_hash) in opted_out else c
            for c in kept
        ]
    repo.insert_clicks(session, [c.to_row() for c in kept])
    # A click is a touch when the shopper is known: it carried their reference, or its visitor
    # cookie identified itself earlier (by a claim).
    identified = repo.identified_visitors(session, {c.visitor_id for c in kept if c.visitor_id})
    touched = [
        (c.ref, c.link_id, c.program_id, c.clicked_at, customer)
        for c in kept
        if (customer := c.customer_ref_hash or (identified.get(c.visitor_id) if c.visitor_id else None))
    ]
    if touched:
        links = {link.id: link for link in _links(session, {link_id for _, link_id, *_ in touched})}
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
                for ref, link_id, program_id, at, customer in touched
            ],
        )
    return len(kept)


def _links(session: Session, ids: set[int]) -> list[ShareLink]:
    return [link for link_id in sorted(ids) if (link := repo.get_link(session, link_id)) is not None]


class DatabaseSink:
    """Writes each batch in its own transaction."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def write(self, clicks: Sequence[ClickEvent]) -> None:
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
        self._buffer: list[ClickEvent] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0

    def record(self, click: ClickEvent) -> None:
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
                    log.warning("clicks.flush_failed", error=repr(exc), pending=self.pending)
                    raise
                written += len(batch)
                self.written += len(batch)

    def _put_back(self, batch: list[ClickEvent]) -> None:
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
