"""Spreadsheet exports (CSV, Excel) whose cells cannot be turned against the person who opens them.

A member chooses their own name and request id; written raw, ``=HYPERLINK(…)`` or ``=cmd|' /C calc'!A0``
would run as a formula in the finance team's spreadsheet. Text that starts like a formula is written as
text: in CSV with a leading apostrophe (what spreadsheets show as a text marker), in Excel as a string
cell (never a formula). Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from starlette.responses import StreamingResponse

# Characters that make a spreadsheet read a cell as a formula or a command, ASCII and full width.
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
SPOOLED_BYTES = 4 * 1024 * 1024  # a workbook larger than this goes to a temporary file on disk
CHUNK_BYTES = 64 * 1024
# One sheet: its title, its header row and its rows.
Sheet = tuple[str, Sequence[str], Iterable[Sequence[object]]]
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet would treat ``text`` as something to evaluate."""
    return text.startswith(_FORMULA_PREFIXES)


def csv_cell(value: object) -> object:
    """The value as a CSV cell: formula-like text gets a leading apostrophe."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 CSV with a BOM (Excel then opens Chinese text intact), every cell neutralised."""
    return b"".join(csv_chunks(columns, [rows]))


def csv_chunks(columns: Sequence[str], pages: Iterable[Iterable[Sequence[object]]]) -> Iterator[bytes]:
    """:func:`csv_bytes` in pieces, for a streamed response: the BOM and the header row, then each page
    of rows as it comes (a page read only when the one before was sent), so memory holds one page
    however long the file; the pieces joined are :func:`csv_bytes` of all the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(c) for c in columns])
    yield ("\ufeff" + buffer.getvalue()).encode()
    for rows in pages:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([csv_cell(v) for v in row] for row in rows)
        if text := buffer.getvalue():
            yield text.encode()


def csv_response(chunks: Iterable[bytes], filename: str) -> StreamingResponse:
    """CSV pieces (:func:`csv_chunks`) as a download, sent as they are made."""
    return StreamingResponse(
        iter(chunks),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def xlsx_cell(value: object) -> object:
    """The value as an Excel cell: control characters the file format cannot hold are dropped
    (openpyxl refuses them, and a member's name may carry one)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _xlsx_row(sheet: WriteOnlyWorksheet, row: Sequence[object]) -> list[object]:
    cells: list[object] = []
    for raw in row:
        value = xlsx_cell(raw)
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
            cells.append(cell)
        else:
            cells.append(value)
    return cells


def write_xlsx(out: IO[bytes], sheets: Iterable[Sheet]) -> None:
    """Excel sheets written row by row into ``out`` (openpyxl's write-only mode: a row is on disk once
    appended, so memory stays flat however many rows ``rows`` yields); text is always stored as text,
    never as a formula."""
    book = Workbook(write_only=True)
    for title, columns, rows in sheets:
        sheet = book.create_sheet(title[:31])  # Excel's limit on sheet names
        for row in itertools.chain([columns], rows):
            sheet.append(_xlsx_row(sheet, row))
    book.save(out)


def xlsx_bytes(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """An Excel workbook of one sheet, in memory (for exports bounded small)."""
    out = io.BytesIO()
    write_xlsx(out, [(title, columns, rows)])
    return out.getvalue()


def xlsx_file(sheets: Iterable[Sheet]) -> IO[bytes]:
    """The workbook written to a temporary file (kept in memory while small), rewound for reading."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOLED_BYTES)  # noqa: SIM115 - the caller closes it
    try:
        write_xlsx(out, sheets)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def file_chunks(source: IO[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The file's bytes in chunks, for a streamed response; the file is closed at the end."""
    with source:
        while chunk := source.read(size):
            yield chunk


def workbook_response(sheets: Iterable[Sheet], filename: str) -> StreamingResponse:
    """The workbook as a download: written to a temporary file first (the rows are read while the
    request's session is open), then streamed from it in chunks."""
    return StreamingResponse(
        file_chunks(xlsx_file(sheets)),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
