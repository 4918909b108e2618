"""A deterministic lost race: another request writes the same key between this request's check and its write.

``lost_race(engine, "table", inner)`` runs ``inner`` (a whole request, committed) just before the first
INSERT into ``table`` that the request under test sends, after whatever it read: the interleaving of two
parallel requests in which the one under test loses the race on the table's unique key. A write guarded
by a savepoint takes SQLite's write lock before its INSERT, so there ``after_read=True`` runs ``inner``
just after the request's first read of ``table`` instead (its check that the key is free)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def lost_race(
    engine: Engine, table: str, inner: Callable[[], Any], *, after_read: bool = False
) -> Iterator[list[int]]:
    """Within the block, the first INSERT into ``table`` (or, ``after_read``, the first read of it)
    waits for ``inner``; yields the inner response's status once it ran (empty until then)."""
    name = rf'"?{re.escape(table)}"?[\s(]'
    pattern = re.compile(
        rf"\s*SELECT\b.*?\bFROM\s+{name}" if after_read else rf"\s*INSERT\s+INTO\s+{name}",
        re.IGNORECASE | re.DOTALL,
    )
    started: list[bool] = []
    statuses: list[int] = []

    def hook(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not started and pattern.match(statement):
            started.append(True)  # the inner request's own statements pass
            statuses.append(inner().status_code)

    moment = "after_cursor_execute" if after_read else "before_cursor_execute"
    event.listen(engine, moment, hook)
    try:
        yield statuses
    finally:
        event.remove(engine, moment, hook)
