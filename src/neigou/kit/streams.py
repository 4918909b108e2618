"""Rows written behind a Redis stream: producers XADD, a consumer in a consumer group stores batches.

A consumer reads entries with XREADGROUP, hands a batch to its ``store`` function in one database
transaction, and only then XACKs and XDELs the entries. A consumer that dies before acknowledging
leaves its entries pending; another claims them after ``CLAIM_IDLE_MS`` (XAUTOCLAIM). Delivery is at
least once, so ``store`` must skip what it stored already (a unique id per entry).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import redis
import structlog
from sqlalchemy.orm import Session, sessionmaker

log = structlog.get_logger(__name__)

CLAIM_IDLE_MS = 60_000
Entry = tuple[bytes, dict[bytes, bytes]]
Store = Callable[[Session, list[Entry]], int]


def id_from_stream(stream_id: str, epoch_ms: int) -> int:
    """``ms-seq`` → an integer increasing with the stream: milliseconds since ``epoch_ms`` times 2**16
    plus the sequence number (below 2**53 for a century, so JSON clients read it exactly)."""
    ms, _, seq = stream_id.partition("-")
    return (int(ms) - epoch_ms) * 65_536 + int(seq)


class StreamWriter:
    """Moves a stream's entries into the database in batches, on a thread or on demand."""

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        group: str,
        factory: sessionmaker[Session],
        store: Store,
        *,
        name: str | None = None,
        batch: int = 1000,
    ) -> None:
        self.client = client
        self.key = key
        self.group = group
        self.factory = factory
        self.store = store
        self.name = name or f"{socket.gethostname()}-{threading.get_native_id()}"
        self.batch = batch
        self.stored = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._group_ready = False
        self._reading = threading.Lock()

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.key, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def _store(self, entries: list[Entry]) -> int:
        if not entries:
            return 0
        with self.factory() as session, session.begin():
            stored = self.store(session, entries)
        ids = [entry_id for entry_id, _ in entries]
        pipe = self.client.pipeline(transaction=False)
        pipe.xack(self.key, self.group, *ids)
        pipe.xdel(self.key, *ids)
        pipe.execute()
        self.stored += stored
        return len(entries)

    def drain_once(self, block_ms: int | None = None) -> int:
        """Store one batch (first entries abandoned by dead consumers); returns entries handled."""
        with self._reading:
            self._ensure_group()
            claimed: Any = self.client.xautoclaim(
                self.key, self.group, self.name, CLAIM_IDLE_MS, "0-0", count=self.batch
            )
            stale = [e for e in claimed[1] if e[1]] if claimed else []
            if stale:
                return self._store(stale)
            answer: Any = self.client.xreadgroup(
                self.group, self.name, {self.key: ">"}, count=self.batch, block=block_ms
            )
            return self._store(answer[0][1] if answer else [])

    def drain(self) -> int:
        """Store everything in the stream now (shutdown, tests, the scheduled job)."""
        total = 0
        while (handled := self.drain_once()) > 0:
            total += handled
        return total

    def start(self) -> None:
        """Consume on a daemon thread until ``stop``."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name=f"neigou-{self.group}", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.drain_once(block_ms=200)
            except Exception as exc:
                log.warning("stream.write_failed", stream=self.group, error=repr(exc))
                self._stopping.wait(1.0)

    def stop(self) -> None:
        """Stop the thread and store what is in the stream (best effort: what remains waits there)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        try:
            self.drain()
        except Exception as exc:
            log.warning("stream.final_drain_failed", stream=self.group, error=repr(exc))
