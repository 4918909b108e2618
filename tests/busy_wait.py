"""A short wait for SQLite's write lock, so a test that would otherwise wait the engine's 30 s for a
lock held by the same job fails in seconds instead."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, event

SHORT_MS = 2000


def short_busy_wait(engine: Engine) -> Iterator[None]:
    """The body of a fixture: every connection checked out of ``engine`` waits at most ``SHORT_MS`` for
    the write lock; afterwards the pool is emptied, so later connections wait as the engine sets."""
    if engine.dialect.name != "sqlite":
        yield
        return

    def shorten(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SHORT_MS}")
        cursor.close()

    event.listen(engine, "checkout", shorten)
    try:
        yield
    finally:
        event.remove(engine, "checkout", shorten)
        engine.dispose()
