"""Pure parsing of a member-count file's rows into typed rows and per-row errors (no I/O).

Columns (header row required, any order; Chinese headers accepted; other columns are ignored):

    owner_member_id,group,member_count,observed_at
    1024,内购1群,363,2026-03-24T21:00:00+08:00

``group`` is the group's external id or its name (external id wins when both match);
``observed_at`` is ISO 8601 and must carry its zone (``+08:00`` or ``Z``). The file itself (CSV in
UTF-8 or GB18030, or .xlsx) is read by ``kit.tabular``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from neigou.kit.columns import HEADER_ROW, Column, FileRefused, Layout, Row, RowError
from neigou.kit.dates import instant_in_range, range_message
from neigou.kit.i18n import Message
from neigou.kit.ids import whole_number
from neigou.kit.tabular import nul_row

MAX_ROWS = 200_000
MAX_COUNT = 100_000
LAYOUT = Layout(
    Column("owner_member_id", ("owner", "群主id", "群主")),
    Column("group", ("group_name", "external_id", "群", "群名", "群名称")),
    Column("member_count", ("count", "人数", "群人数")),
    Column("observed_at", ("time", "时间", "统计时间")),
    unknown="ignore",
)
COLUMNS = tuple(column.name for column in LAYOUT.columns)


@dataclass(frozen=True)
class CountRow:
    """One parsed row of the file (``line`` counts the header as row 1)."""

    line: int
    owner_member_id: int
    group: str
    member_count: int
    observed_at: datetime


def file_errors(refused: FileRefused) -> list[RowError]:
    """A file that cannot be read as a count table, as row errors (missing columns in one)."""
    missing = [e.column for e in refused.errors if e.code == "missing_column" and e.column]
    if not missing:
        return refused.errors
    others = [e for e in refused.errors if e.code != "missing_column"]
    return [
        RowError(
            HEADER_ROW,
            None,
            "missing_columns",
            Message(
                "Missing column(s) {missing}; expected {columns}.",
                missing=", ".join(missing),
                columns=",".join(COLUMNS),
            ),
        ),
        *others,
    ]


def parse(records: Iterable[Row]) -> tuple[list[CountRow], list[RowError]]:
    """Every data row of the file, or why it is wrong; nothing is dropped silently."""
    rows: list[CountRow] = []
    errors: list[RowError] = []
    for record in records:
        if len(rows) + len(errors) >= MAX_ROWS:
            errors.append(
                RowError(
                    record.row,
                    None,
                    "too_many_rows",
                    Message("At most {max_rows} rows per file.", max_rows=MAX_ROWS),
                )
            )
            break
        row, error = (None, nul_row(record)) if record.nul else _row(record.row, record.values)
        if error is not None:
            errors.append(error)
        elif row is not None:
            rows.append(row)
    return rows, errors


def _row(line: int, values: dict[str, str]) -> tuple[CountRow | None, RowError | None]:
    cells = {name: value.strip() for name, value in values.items()}
    owner = whole_number(cells["owner_member_id"])
    if owner is None:
        return None, RowError(line, None, "bad_owner", Message("owner_member_id must be a member id."))
    if not cells["group"]:
        return None, RowError(line, None, "bad_group", Message("The group name or external id is empty."))
    count = whole_number(cells["member_count"])
    if count is None or count > MAX_COUNT:
        return None, RowError(
            line,
            None,
            "bad_count",
            Message("member_count must be a whole number 0–{max_count}.", max_count=MAX_COUNT),
        )
    observed_at = _observed_at(line, cells["observed_at"])
    if isinstance(observed_at, RowError):
        return None, observed_at
    return CountRow(line, owner, cells["group"], count, observed_at), None


def _observed_at(line: int, text: str) -> datetime | RowError:
    try:
        observed_at = datetime.fromisoformat(text)
    except ValueError:
        return RowError(
            line,
            None,
            "bad_time",
            Message("observed_at must be an ISO 8601 time such as 2026-03-24T21:00:00+08:00."),
        )
    if observed_at.tzinfo is None or observed_at.utcoffset() is None:
        return RowError(
            line,
            None,
            "naive_time",
            Message("observed_at must have a time zone, such as +08:00."),
        )
    if not instant_in_range(observed_at):  # no UTC instant, or one a day's report cannot step from
        return RowError(
            line,
            None,
            "date_out_of_range",
            range_message("observed_at"),
        )
    return observed_at
