"""The adapter of each platform: its order row in, a ``PlatformLine`` or a ``Skip`` with the reason out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from neigou.kit.i18n import Message
from neigou.platforms import jd_union, pdd, taobao
from neigou.platforms.rows import Platform, PlatformLine, RowProblem, Skip

Reader = Callable[[int, Mapping[str, Any], datetime], PlatformLine]
READERS: dict[Platform, Reader] = {
    Platform.JD_UNION: jd_union.read,
    Platform.PDD: pdd.read,
    Platform.TAOBAO: taobao.read,
}
FUTURE = Message("A time in the row lies in the future.")
# PostgreSQL cannot store a NUL and SQLite would: the row is skipped alike on both. The API refuses a body
# holding one before reading it; a file's row comes here (kit.tabular, nul_rows="report").
NUL_IN_ROW = Message("The row holds a NUL character ({nul}), which cannot be stored.", nul="\\u0000")


def read_rows(platform: Platform, rows: Sequence[object], now: datetime) -> list[PlatformLine | Skip]:
    """Every row mapped, or skipped with its reason (not an object, a NUL in a value, a field missing or
    malformed, an unknown status, a time in the future)."""
    reader = READERS[platform]
    out: list[PlatformLine | Skip] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            out.append(Skip(index, "invalid_row", Message("A row must be an object.")))
            continue
        if any(isinstance(value, str) and "\x00" in value for value in row.values()):
            out.append(Skip(index, "nul_character", NUL_IN_ROW))
            continue
        try:
            line = reader(index, row, now)
        except RowProblem as problem:
            out.append(Skip(index, problem.code, problem.message))
            continue
        times = (line.paid_at, line.completed_at, line.settled_at, line.modified_at)
        if any(t is not None and t > now for t in times):
            out.append(Skip(index, "future_time", FUTURE))
            continue
        out.append(line)
    return out
