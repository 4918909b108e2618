"""Counting the database connections a piece of code leaves open, for the tests of who disposes which
engine (the CLI's commands, the web app's and the worker's own engines)."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.pool import Pool


class OpenConnections:
    """The driver connections any pool of this process has opened and not yet closed, counted from
    SQLAlchemy's pool events (every engine, including one a command makes for itself)."""

    def __init__(self) -> None:
        self.count = 0
        self.opened = 0

    def __enter__(self) -> OpenConnections:
        event.listen(Pool, "connect", self._opened)
        event.listen(Pool, "close", self._closed)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(Pool, "connect", self._opened)
        event.remove(Pool, "close", self._closed)

    def _opened(self, *_: object) -> None:
        self.count += 1
        self.opened += 1

    def _closed(self, *_: object) -> None:
        self.count -= 1
