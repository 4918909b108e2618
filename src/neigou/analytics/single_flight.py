"""One refresh of a store at a time, in this process and across processes.

Two refreshes of one store would read the same watermarks and load the same rows twice, and wipe
each other's work tables. A process's threads take the store's own lock; processes (web workers, the
scheduler, the CLI, on several hosts sharing a ClickHouse server) take a lock on the OLTP database
they all read, named after the store:

- PostgreSQL: a transaction-level advisory lock (``pg_try_advisory_xact_lock``) in a transaction of a
  connection of its own, held for the whole refresh and released with that transaction (a pooled
  connection keeps nothing: ``CONVENTIONS.md``). It is a read-only transaction: it takes no transaction
  id, so it holds no other transaction's snapshot (nor ``analytics.horizon``) back.
- SQLite (one host): an exclusive ``flock`` of a file beside the database, which the system releases when
  the process dies. SQLite's own write lock (``BEGIN IMMEDIATE``) would do it too, but held for a whole
  refresh it would stop every writer of the application (orders, webhooks) for as long.

A refresh that finds another one running is refused at once (``RefreshRunning``, 503 with Retry-After),
so a burst of requests never queues behind it; ``wait=True`` (the demo's seeding) waits instead.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from neigou.analytics.store import Store
from neigou.kit.errors import Unavailable
from neigou.kit.i18n import Message

RUNNING = Message("The analytics figures are being refreshed right now. Try again in a minute.")


class RefreshRunning(Unavailable):
    """Another refresh of the store is running (in this process or another)."""

    code = "analytics_refresh_running"
    retry_after = 30


def lock_key(name: str) -> int:
    """The advisory lock's key for a store: a signed 64-bit hash of its name."""
    digest = hashlib.blake2b(f"neigou.analytics.refresh:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def single_flight(session: Session, store: Store, *, wait: bool = False) -> Iterator[None]:
    """Hold the store's refresh for the block, or raise ``RefreshRunning`` (``wait``: wait for it)."""
    if not store.lock.acquire(blocking=wait):
        raise RefreshRunning(RUNNING)
    try:
        with _database_lock(session, store.name, wait=wait):
            yield
    finally:
        store.lock.release()


@contextmanager
def _database_lock(session: Session, name: str, *, wait: bool) -> Iterator[None]:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    if engine.dialect.name == "postgresql":
        take = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        with engine.connect() as connection, connection.begin():
            taken = connection.execute(text(f"SELECT {take}(:key)"), {"key": lock_key(name)}).scalar()
            if not wait and not taken:
                raise RefreshRunning(RUNNING)
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        yield  # a database only this process opens
        return
    path = Path(f"{database}.analytics-{lock_key(name) & 0xFFFFFFFF:08x}.lock")
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RefreshRunning(RUNNING) from None
        yield
    finally:
        os.close(descriptor)  # releases the lock
