"""The rows of an import workbook (``.xlsx``): its first sheet, streamed in openpyxl's read-only mode.

A workbook costs bytes only for the cells it holds: a sheet may declare itself ``A1:XFD1048576``
and hold one row at row 4000, and openpyxl's read-only mode fills every row and column it skips.
So the declared dimension is never trusted (it only estimates progress), the header is looked for
within the first :data:`MAX_COLUMNS` columns, the rows under it are read only as wide as the header,
and a blank row costs the same few steps whatever the sheet claims. No row past Excel's last,
:data:`MAX_SHEET_ROWS`, is read: the file is refused ``too_many_rows`` there. A header with a cell past
:data:`MAX_COLUMNS` is refused ``header_too_wide`` (its header row alone is read again at its full width).

A workbook is a zip: a few KB may unpack to gigabytes of cells or shared strings (which openpyxl holds
in memory). Before openpyxl sees it, the sizes its members declare are added up and the file is refused
``file_too_large`` when they pass :func:`unzipped_limit` (at most :data:`MAX_UNZIPPED_BYTES`, and no
more than :data:`MAX_RATIO` times the file's own size past :data:`UNZIPPED_FLOOR`) or its shared strings
pass :data:`MAX_SHARED_STRINGS`. Reading never goes past a declared size: ``zipfile`` counts what it
unpacks and stops there, and a member holding more fails its checksum (``unreadable_file``).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from neigou.kit.columns import FileRefused, RowError
from neigou.kit.i18n import Message

EXACT_FLOAT_LIMIT = 2**53
"""Below it a number cell (a float) holds every whole number exactly; from it on, not."""
MAX_COLUMNS = 1024
"""The columns a header is looked for in; a cell to the right of them is not read."""
MAX_SHEET_ROWS = 1_048_576
"""Excel's last row: a workbook row numbered past it refuses the file."""
MAX_UNZIPPED_BYTES = 1 << 30
"""The most a workbook's members may unpack to, all together."""
UNZIPPED_FLOOR = 8 << 20
"""What any workbook may unpack to, however small it is."""
MAX_RATIO = 100
"""Past the floor, how many times its own size a workbook may unpack to (a sheet compresses some 5-20
times; a zip bomb thousands of times)."""
MAX_SHARED_STRINGS = 128 << 20
"""The most a workbook's shared strings part may unpack to (openpyxl holds every string in memory)."""

_XLSX_ERRORS = (
    zipfile.BadZipFile,
    InvalidFileException,
    KeyError,
    ValueError,
    OSError,
    SyntaxError,
    IndexError,
)


def too_many_rows(row: int, limit: int) -> FileRefused:
    """The file goes on past ``limit`` rows (``row`` is the first one past it)."""
    message = Message("At most {max_rows} rows per file.", max_rows=limit)
    return FileRefused(message, code="too_many_rows", errors=[RowError(row, None, "too_many_rows", message)])


def _too_large(unzipped: int) -> FileRefused:
    message = Message(
        "The workbook unpacks to {megabytes} MB, more than can be read from it; save the sheet as CSV or "
        "split it into smaller files.",
        megabytes=max(1, unzipped >> 20),
    )
    return FileRefused(message, code="file_too_large", errors=[RowError(0, None, "file_too_large", message)])


def _too_wide(row: int) -> FileRefused:
    message = Message(
        "The header (row {row}) has a cell past column {max_columns}; only the first {max_columns} columns "
        "can be read.",
        row=row,
        max_columns=MAX_COLUMNS,
    )
    return FileRefused(
        message, code="header_too_wide", errors=[RowError(row, None, "header_too_wide", message)]
    )


def unzipped_limit(size: int) -> int:
    """What a workbook of ``size`` bytes may unpack to."""
    return min(MAX_UNZIPPED_BYTES, max(UNZIPPED_FLOOR, MAX_RATIO * size))


def _check_sizes(stream: BinaryIO, size: int) -> None:
    """Refuse the workbook ``file_too_large`` by the sizes its members declare (see the module)."""
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
    except _XLSX_ERRORS as exc:
        raise _unreadable_workbook() from exc
    finally:
        stream.seek(0)
    unzipped = sum(member.file_size for member in members)
    strings = sum(m.file_size for m in members if m.filename.lower().endswith("sharedstrings.xml"))
    if unzipped > unzipped_limit(size) or strings > MAX_SHARED_STRINGS:
        raise _too_large(unzipped)


def _header_too_wide(sheet: Any, number: int) -> bool:
    """Whether row ``number`` (the header) holds a value past :data:`MAX_COLUMNS`: that row alone,
    read again as wide as its last cell."""
    whole = iter(sheet.iter_rows(min_row=number, max_row=number, values_only=True))
    values: tuple[object, ...] = next(whole, ())
    _close(whole)
    return any(v is not None and v != "" for v in values[MAX_COLUMNS:])


def _unreadable_workbook() -> FileRefused:
    message = Message("The workbook cannot be read as .xlsx.")
    return FileRefused(
        message, code="unreadable_file", errors=[RowError(0, None, "unreadable_file", message)]
    )


def cell_text(value: object) -> str:
    """A workbook cell as the text a CSV would carry (``3.0`` → ``3``, a date in ISO 8601).

    A number cell is a float: a whole one below 2⁵³ is held exactly and written as its digits; from
    there on a float no longer holds every whole number (2345678901234567891 and 2345678901234567800
    are one float, 2345678901234567680), so such a cell is written in exponent form
    (``2.3456789012345677e+18``), never as digits it does not hold: an id column refuses it
    (``platforms.rows.numeric_id``: write ids as text), and a count or an amount that large is refused
    anyway."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < EXACT_FLOAT_LIMIT else f"{value:.16e}"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _cells(values: tuple[object, ...]) -> list[str]:
    # A blank row (every row the sheet skips, read as Nones) is told in one C-level pass. Rows are
    # MAX_COLUMNS wide only until the header; their empty ends are not converted.
    if values.count(None) == len(values):
        return []
    end = len(values)
    while values[end - 1] is None:
        end -= 1
    cells = [cell_text(v) for v in values[:end]]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _close(rows: Iterator[object]) -> None:
    close = getattr(rows, "close", None)  # a generator holding the sheet's XML open
    if close is not None:
        close()


def xlsx_records(
    source: bytes | Path | BinaryIO, counter: list[int], size: int, width: list[int]
) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` for every row of the first sheet, blank ones as ``[]``, numbered as
    Excel shows them; ``counter[0]`` estimates the bytes read.

    Rows are read :data:`MAX_COLUMNS` wide until the reader sets ``width[0]`` (the header's width,
    after the header row is yielded); from the next row on, only that many columns are read.
    """
    if isinstance(source, Path):
        with source.open("rb") as opened:
            yield from xlsx_records(opened, counter, size, width)
        return
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    _check_sizes(stream, size)
    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except _XLSX_ERRORS as exc:
        raise _unreadable_workbook() from exc
    try:
        sheet = book.worksheets[0]
        declared = sheet.max_row or 0  # only for the progress estimate
        sheet.reset_dimensions()  # else openpyxl fills every row and column the sheet claims
        columns, number, header = MAX_COLUMNS, 0, True
        rows = iter(sheet.iter_rows(max_col=columns, values_only=True))
        while True:
            if width[0] and header:
                # The header is read: the rest only as wide as it, from the row after it.
                header = False
                _close(rows)
                if _header_too_wide(sheet, number):
                    raise _too_wide(number)
                columns = width[0]
                rows = iter(sheet.iter_rows(min_row=number + 1, max_col=columns, values_only=True))
            values = next(rows, None)
            if values is None:
                counter[0] = size
                return
            number += 1
            if number > MAX_SHEET_ROWS:
                raise too_many_rows(number, MAX_SHEET_ROWS)
            counter[0] = min(size, size * number // declared) if declared else 0
            yield number, _cells(values)
    except _XLSX_ERRORS as exc:
        raise _unreadable_workbook() from exc
    finally:
        book.close()
