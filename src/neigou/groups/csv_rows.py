"""Pure parsing of a member-count CSV into typed rows and per-row errors (no I/O).

Columns (header row required, any order; Chinese headers accepted):

    owner_member_id,group,member_count,observed_at
    1024,内购1群,363,2026-03-24T21:00:00+08:00

``group`` is the group's external id or its name (external id wins when both match);
``observed_at`` is ISO 8601 and must carry its zone (``+08:00`` or ``Z``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from neigou.kit.i18n import Message

MAX_ROWS = 200_000
MAX_COUNT = 100_000
COLUMNS = ("owner_member_id", "group", "member_count", "observed_at")
ALIASES = {
    "owner_member_id": "owner_member_id",
    "owner": "owner_member_id",
    "群主id": "owner_member_id",
    "群主": "owner_member_id",
    "group": "group",
    "group_name": "group",
    "external_id": "group",
    "群": "group",
    "群名": "group",
    "群名称": "group",
    "member_count": "member_count",
    "count": "member_count",
    "人数": "member_count",
    "群人数": "member_count",
    "observed_at": "observed_at",
    "time": "observed_at",
    "时间": "observed_at",
    "统计时间": "observed_at",
}


@dataclass(frozen=True)
class CountRow:
    """One parsed line of the file (``line`` counts the header as line 1)."""

    line: int
    owner_member_id: int
    group: str
    member_count: int
    observed_at: datetime


@dataclass(frozen=True)
class RowError:
    """Why one line cannot be imported."""

    line: int
    code: str
    message: Message


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 as spreadsheets in China often save."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def parse(text: str) -> tuple[list[CountRow], list[RowError]]:
    """Every row of the file, or why it is wrong; nothing is dropped silently."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None:
        return [], [RowError(1, "empty_file", Message("The file is empty."))]
    columns = [ALIASES.get(name.strip().lower(), "") for name in header]
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        return [], [
            RowError(
                1,
                "missing_columns",
                Message(
                    "Missing column(s) {missing}; expected {columns}.",
                    missing=", ".join(missing),
                    columns=",".join(COLUMNS),
                ),
            )
        ]
    index = {name: columns.index(name) for name in COLUMNS}
    rows: list[CountRow] = []
    errors: list[RowError] = []
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            errors.append(
                RowError(
                    line, "too_many_rows", Message("At most {max_rows} rows per file.", max_rows=MAX_ROWS)
                )
            )
            break
        row, error = _row(line, record, index)
        if error is not None:
            errors.append(error)
        elif row is not None:
            rows.append(row)
    return rows, errors


def _row(line: int, record: list[str], index: dict[str, int]) -> tuple[CountRow | None, RowError | None]:
    cells = {name: (record[i].strip() if i < len(record) else "") for name, i in index.items()}
    owner = cells["owner_member_id"]
    if not (owner.isascii() and owner.isdigit()):
        return None, RowError(
            line, "bad_owner", Message("owner_member_id {owner!r} is not a member id.", owner=owner)
        )
    if not cells["group"]:
        return None, RowError(line, "bad_group", Message("The group name or external id is empty."))
    count = cells["member_count"]
    if not (count.isascii() and count.isdigit()) or int(count) > MAX_COUNT:
        return None, RowError(
            line,
            "bad_count",
            Message(
                "member_count {count!r} is not a whole number 0–{max_count}.",
                count=count,
                max_count=MAX_COUNT,
            ),
        )
    try:
        observed_at = datetime.fromisoformat(cells["observed_at"])
    except ValueError:
        return None, RowError(
            line,
            "bad_time",
            Message(
                "observed_at {observed_at!r} is not an ISO 8601 time such as 2026-03-24T21:00:00+08:00.",
                observed_at=cells["observed_at"],
            ),
        )
    if observed_at.tzinfo is None or observed_at.utcoffset() is None:
        return None, RowError(
            line,
            "naive_time",
            Message(
                "observed_at {observed_at!r} has no time zone; add +08:00.", observed_at=cells["observed_at"]
            ),
        )
    return CountRow(line, int(owner), cells["group"], int(count), observed_at), None
