"""Late commits on PostgreSQL: which copied ids are final.

PostgreSQL hands out ids when a row is inserted, not when its transaction commits, so a refresh can
see id 6 while id 5 is still uncommitted; a watermark moved to 6 would skip 5 for ever. A refresh
therefore takes the database's snapshot first (``pg_current_snapshot``: every transaction below its
``xmin`` has ended; every transaction at or above its ``xmax`` began after it) and logs, with each
watermark, the highest id it saw and its snapshot's ``xmax`` (its horizon).

An id is settled once no transaction that could still write it is running: every id at or below
what an earlier refresh R saw was handed out before R's snapshot, so its transaction had its own
transaction id before any later refresh R2 began; when the current ``xmin`` has passed R2's horizon,
that transaction has ended, committed (and visible now) or rolled back (the id is a gap for ever).
The watermark (``last_id``: every id at or below it is in the store) moves through the ids seen in
order and stops at the first gap above the settled bound. Rows above it are copied anyway, so the
reports show them, and are copied again by each refresh until the gap settles (the refresh deletes
what lies above the watermark before copying). On SQLite, one writer at a time, nothing commits
late: the watermark is the highest id seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import text
from sqlalchemy.orm import Session

from neigou.analytics.store import Store


@dataclass(frozen=True)
class Snapshot:
    """The OLTP database's snapshot at the start of a refresh (PostgreSQL transaction ids)."""

    xmin: int
    xmax: int


def snapshot(session: Session) -> Snapshot | None:
    """The current snapshot on PostgreSQL; None where commits cannot come late (SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    xmin, xmax = session.execute(
        text(
            "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint "
            "FROM (SELECT pg_current_snapshot() AS s) AS t"
        )
    ).one()
    return Snapshot(int(xmin), int(xmax))


def settled(store: Store, name: str, now: Snapshot) -> int:
    """The highest id of ``name`` no running transaction can still commit (see the module's text)."""
    rows = store.query(
        "SELECT coalesce(max(seen_id), 0) FROM watermarks WHERE name = :name AND horizon > 0 AND horizon < "
        "(SELECT coalesce(max(horizon), 0) FROM watermarks WHERE name = :name AND horizon <= :xmin)",
        name=name,
        xmin=now.xmin,
    )
    return int(rows[0][0])


def advance(final: int, settled_id: int, ids: pa.Array) -> tuple[int, bool]:
    """The watermark after a chunk of ids seen in order, and whether it stopped at an unsettled gap."""
    start = max(final, settled_id)
    above = ids.filter(pc.greater(ids, start))
    if len(above) == 0:
        return start, False
    expected = pa.array(range(start + 1, start + 1 + len(above)), pa.int64())
    first_gap = pc.index(pc.not_equal(above.cast(pa.int64()), expected), True).as_py()
    if first_gap < 0:
        return int(above[-1].as_py()), False
    return (start if first_gap == 0 else int(above[first_gap - 1].as_py())), True
