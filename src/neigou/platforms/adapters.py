"""The adapter of each platform: its order row in, a ``PlatformLine`` or a ``Skip`` with the reason out."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

from neigou.kit.i18n import Message
from neigou.platforms import jd_union, pdd, taobao
from neigou.platforms.order_keys import holds_nul, order_key
from neigou.platforms.rows import Platform, PlatformLine, RowProblem, Skip

Reader = Callable[[int, Mapping[str, Any], datetime], PlatformLine]
READERS: dict[Platform, Reader] = {
    Platform.JD_UNION: jd_union.read,
    Platform.PDD: pdd.read,
    Platform.TAOBAO: taobao.read,
}
FUTURE = Message("A time in the row lies in the future.")
# A row the adapter failed on other than by a rule (a bug, or a value no rule foresaw): skipped alone,
# so one row never fails its batch (a 500 to the feed, a poller stuck on that window).
UNREADABLE = Message("The row could not be read.")
# PostgreSQL cannot store a NUL and SQLite would: the row is skipped alike on both, and with it every row
# of its order (``order_keys``). The API refuses a body holding one before reading it; a file's row comes
# here (kit.tabular, nul_rows="report").
NUL_IN_ROW = Message(
    "The row holds a NUL character ({nul}), which cannot be stored: every row of its order is skipped.",
    nul="\\u0000",
)
NUL_NO_ORDER = Message(
    "The row holds a NUL character ({nul}) and no order id, so its order cannot be told: this row alone "
    "is skipped, and the order it belongs to may go in without it.",
    nul="\\u0000",
)
WITH_NUL_ROW = Message(
    "The row is skipped with its whole order: another row of that order holds a NUL character ({nul}).",
    nul="\\u0000",
)


def read_rows(
    platform: Platform,
    rows: Sequence[object],
    now: datetime,
    *,
    nul_rows: Collection[int] = (),
    nul_orders: Collection[str] = (),
    skips: Mapping[int, Skip] = MappingProxyType({}),
) -> list[PlatformLine | Skip]:
    """Every row mapped, or skipped with its reason (not an object, a NUL in a value or in its order, a
    field missing or malformed, an unknown status, a time in the future).

    A row holding a NUL (a value with one, or an index in ``nul_rows``: a file's row with one in a column
    not read) skips every row of its order, here and in ``nul_orders`` (orders a NUL row of the same file
    named outside these rows), so the order goes in complete once the file is fixed. A row in ``skips``
    (skipped by a file's reader: ``files.FileFetcher``) is skipped as it says."""
    reader = READERS[platform]
    keys = [order_key(platform, row) if isinstance(row, Mapping) else "" for row in rows]
    held = {
        index
        for index, row in enumerate(rows)
        if index in nul_rows or (isinstance(row, Mapping) and holds_nul(row))
    }
    refused = {*nul_orders, *(keys[index] for index in held)} - {""}
    out: list[PlatformLine | Skip] = []
    for index, row in enumerate(rows):
        if index in skips:
            out.append(skips[index])
            continue
        if not isinstance(row, Mapping):
            out.append(Skip(index, "invalid_row", Message("A row must be an object.")))
            continue
        if index in held:
            out.append(Skip(index, "nul_character", NUL_IN_ROW if keys[index] else NUL_NO_ORDER))
            continue
        if keys[index] in refused:
            out.append(Skip(index, "nul_character", WITH_NUL_ROW))
            continue
        out.append(_read(reader, index, row, now))
    return out


def _read(reader: Reader, index: int, row: Mapping[str, Any], now: datetime) -> PlatformLine | Skip:
    """One row mapped, or skipped: by its rule's reason, ``future_time``, or ``unreadable_row`` for any
    other exception (its class kept for the log, none of its text: that may quote the row)."""
    try:
        line = reader(index, row, now)
        times = (line.paid_at, line.completed_at, line.settled_at, line.modified_at)
        future = any(t is not None and t > now for t in times)
    except RowProblem as problem:
        return Skip(index, problem.code, problem.message)
    except Exception as exc:  # one row must not fail its batch, whatever it holds
        return Skip(index, "unreadable_row", UNREADABLE, error=type(exc).__name__)
    return Skip(index, "future_time", FUTURE) if future else line
