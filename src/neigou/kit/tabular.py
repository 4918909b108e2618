"""The one reader of import files: CSV or an Excel ``.xlsx`` workbook, streamed row by row.

CSV text is UTF-8, UTF-8 with the BOM Excel writes, or GB18030 (what Chinese Excel saves as "CSV"):
the choice is made at the first non-ASCII bytes, strictly (a file that is neither is refused, never
read as mojibake). Lines may end in ``\\r\\n``, ``\\n`` or a bare ``\\r``. A workbook is read from its
first sheet in openpyxl's read-only mode (``kit.workbook_rows``: only as wide as its header, never
trusting the size the sheet declares). Neither is ever held whole in memory, so a 1 GB order file
costs what one batch of rows costs.

    table = read_table(path, LAYOUT, max_rows=20_000)   # raises FileRefused on a bad header
    for row in table:                                   # data rows; blank ones skipped, counted
        row.row, row.values["sku"]

A row holding a NUL character (PostgreSQL cannot store one, SQLite would) refuses the file at that
row, unless the import reads with ``nul_rows="report"``: then the row comes with ``row.nul`` set and
the import reports it as the row error ``nul_row(row)`` and goes on with the rest.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Literal

from neigou.kit.columns import ErrorReport, FileRefused, Header, Layout, Row, RowError
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message
from neigou.kit.workbook_rows import too_many_rows, xlsx_records

NulRows = Literal["refuse", "report"]
"""What a row holding a NUL does: refuse the file there, or come with ``Row.nul`` set."""
Source = bytes | str | Path | BinaryIO
"""File content, text already decoded (a CSV sent in JSON), a path, or a seekable binary file."""

CHUNK = 1 << 16
DECIDE_AFTER = 64  # bytes after the first non-ASCII one that decide UTF-8 against GB18030
MAX_LINE = 4 << 20
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
_OTHER_BREAKS = re.compile("[\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def _refused(code: str, row: int, message: Message) -> FileRefused:
    return FileRefused(message, code=code, errors=[RowError(row, None, code, message)])


class Decoder:
    """Bytes to text, chunk by chunk: ASCII passes through; at the first non-ASCII bytes, strict
    UTF-8 (a leading BOM dropped) if they are UTF-8, else strict GB18030."""

    def __init__(self) -> None:
        self.encoding: str | None = None
        self._decoder: codecs.IncrementalDecoder | None = None
        self._held = b""
        self._started = False

    def decode(self, data: bytes, *, final: bool = False) -> str:
        """The text of ``data``; raises UnicodeDecodeError on bytes the chosen encoding refuses."""
        if self._decoder is not None:
            return self._decoder.decode(data, final)
        held = self._held + data
        first = _NON_ASCII.search(held)
        if first is None:
            self._held = b""
            self._started = self._started or bool(held)
            return held.decode("ascii")
        if not final and len(held) - first.start() < DECIDE_AFTER:
            self._held = held
            return ""
        self._held = b""
        utf8 = codecs.getincrementaldecoder("utf-8" if self._started else "utf-8-sig")()
        try:
            text = utf8.decode(held, final)
        except UnicodeDecodeError:
            self._decoder, self.encoding = codecs.getincrementaldecoder("gb18030")(), "gb18030"
            return self._decoder.decode(held, final)
        self._decoder, self.encoding = utf8, "utf-8"
        return text


def split_lines(chunks: Iterable[str]) -> Iterator[str]:
    """Lines with their endings (``\\r\\n``, ``\\n`` or a bare ``\\r``) from text in any chunks.

    Only these three end a line, as in CSV; str.splitlines would also split at form feeds and
    U+2028, which may stand inside a cell.
    """
    pending = ""
    for chunk in chunks:
        text = pending + chunk
        if _OTHER_BREAKS.search(text) is None:
            lines = text.splitlines(keepends=True)
        else:
            lines = _LINE.findall(text)
            rest = text[sum(len(line) for line in lines) :]
            if rest:
                lines.append(rest)
        pending = ""
        if lines and (not lines[-1].endswith(("\n", "\r")) or lines[-1].endswith("\r")):
            pending = lines.pop()  # an unfinished line, or a \r whose \n may come next
        if len(pending) > MAX_LINE:
            raise _refused(
                "line_too_long", 0, Message("A line is longer than {megabytes} MB.", megabytes=MAX_LINE >> 20)
            )
        yield from lines
    if pending:
        yield pending


def _chunks(handle: BinaryIO, counter: list[int]) -> Iterator[bytes]:
    for block in iter(lambda: handle.read(CHUNK), b""):
        counter[0] += len(block)
        yield block


def _decoded(blocks: Iterable[bytes]) -> Iterator[str]:
    decoder = Decoder()
    for block in blocks:
        yield decoder.decode(block)
    yield decoder.decode(b"", final=True)


def _text_chunks(source: Source, counter: list[int]) -> Iterator[str]:
    if isinstance(source, str):
        counter[0] = len(source)
        yield source
    elif isinstance(source, bytes):
        counter[0] = len(source)
        yield from _decoded(source[i : i + CHUNK] for i in range(0, len(source), CHUNK))
    elif isinstance(source, Path):
        with source.open("rb") as handle:
            yield from _decoded(_chunks(handle, counter))
    else:
        yield from _decoded(_chunks(source, counter))


def _bad_encoding() -> FileRefused:
    # Text is decoded a chunk ahead of the rows, so the row at fault is not known: row 0, the file.
    return _refused("bad_encoding", 0, Message("The file is neither UTF-8 nor GB18030 (GBK) text."))


def text_lines(source: Source, counter: list[int] | None = None) -> Iterator[str]:
    """The decoded lines of a text file (JSON lines, CSV); ``counter[0]`` follows the bytes read."""
    try:
        yield from split_lines(_text_chunks(source, counter if counter is not None else [0]))
    except UnicodeDecodeError as exc:
        raise _bad_encoding() from exc


def _kind(source: Source) -> str:
    if isinstance(source, str):
        return "csv"
    if isinstance(source, bytes):
        start = source[:4]
    elif isinstance(source, Path):
        with source.open("rb") as handle:
            start = handle.read(4)
    else:
        start = source.read(4)
        source.seek(0)
    if start == XLSX_MAGIC:
        return "xlsx"
    if start == XLS_MAGIC:
        raise _refused(
            "unsupported_file", 0, Message("Old .xls workbooks are not read; save the sheet as .xlsx or CSV.")
        )
    return "csv"


def _csv_records(source: Source, counter: list[int]) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(split_lines(_text_chunks(source, counter)))
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise _bad_encoding() from exc
        except csv.Error as exc:
            raise _refused(
                "unreadable_file",
                number + 1,
                Message("Row {row} is not valid CSV: {error}.", row=number + 1, error=str(exc)),
            ) from exc
        number += 1
        yield number, cells


def _size(source: Source) -> int:
    if isinstance(source, str | bytes):
        return len(source)
    if isinstance(source, Path):
        return source.stat().st_size
    position = source.tell()
    end = source.seek(0, io.SEEK_END)
    source.seek(position)
    return end


class Table:
    """A file's rows under its matched header; iterate it once for the data rows.

    ``max_rows`` bounds the rows under the header, blank ones included (a workbook's blank rows
    cost it nothing to write): the row past it refuses the file ``too_many_rows``. A workbook is
    never read past Excel's last row."""

    def __init__(
        self, source: Source, layout: Layout, nul_rows: NulRows = "refuse", max_rows: int | None = None
    ) -> None:
        self.nul_rows = nul_rows
        self.size = _size(source)
        self.kind = _kind(source)
        self.max_rows = max_rows
        self._counter = [0]
        self._width = [0]
        self._header_row = 1
        self._records = self._bounded(
            _csv_records(source, self._counter)
            if isinstance(source, str) or self.kind == "csv"
            else xlsx_records(source, self._counter, self.size, self._width)
        )
        for number, cells in self._records:
            if "".join(cells).strip():
                self._header_row = number
                break
        else:
            raise _refused("empty_file", 1, Message("The file is empty."))
        self.header: Header = layout.match(cells)
        self._width[0] = self.header.width  # a workbook's rows are read no wider than its header

    def _bounded(
        self, records: Iterator[tuple[int, list[str]]]
    ) -> Generator[tuple[int, list[str]], None, None]:
        for number, cells in records:
            if self.max_rows is not None and number - self._header_row > self.max_rows:
                raise too_many_rows(number, self.max_rows)
            yield number, cells

    def close(self) -> None:
        """Stop reading: the file is closed (a table read to its end closes it by itself)."""
        self._records.close()

    @property
    def header_row(self) -> int:
        """The number of the header row (1 unless blank rows come before it)."""
        return self._header_row

    @property
    def bytes_read(self) -> int:
        """How far into the file reading has come (for a progress bar; estimated for workbooks)."""
        return self._counter[0]

    def __iter__(self) -> Iterator[Row]:
        # A workbook row has no trailing empty cells; a CSV row has exactly the cells written.
        width = self.header.width if self.kind == "xlsx" else 0
        values = self.header.values
        for number, cells in self._records:
            nul = any("\x00" in cell for cell in cells)
            if nul and self.nul_rows == "refuse":
                # PostgreSQL cannot store a NUL and SQLite would: the file is refused alike on both.
                raise _refused("nul_character", number, nul_in_row(number))
            if nul or "".join(cells).strip():
                if len(cells) < width:
                    cells.extend([""] * (width - len(cells)))
                yield Row(number, tuple(cells), values(cells), nul)


def nul_in_row(row: int) -> Message:
    """Why a file's row holding a NUL character is refused (a table's or a JSON-lines file's)."""
    return Message("Row {row} holds a NUL character ({nul}), which cannot be stored.", row=row, nul="\\u0000")


def nul_row(row: Row, key: str | None = None) -> RowError:
    """The row error of a row holding a NUL character (``row.nul``), named ``key`` in its import."""
    return RowError(row.row, key, "nul_character", nul_in_row(row.row))


def read_table(
    source: Source, layout: Layout, *, nul_rows: NulRows = "refuse", max_rows: int | None = None
) -> Table:
    """Open an import file (CSV or .xlsx, told apart by content) and match its header to ``layout``.

    ``nul_rows="report"`` yields a row holding a NUL (``row.nul``) for the import to refuse alone;
    ``max_rows`` refuses a file with more rows under its header, blank ones included."""
    return Table(source, layout, nul_rows, max_rows)


def read_upload(
    content: bytes,
    layout: Layout,
    *,
    max_bytes: int,
    max_rows: int,
    bad_header: Callable[[ErrorReport], Exception],
) -> tuple[Table, list[Row]]:
    """An uploaded file read whole (CSV or .xlsx; a row holding a NUL is yielded for the import to refuse
    alone): its table (the header) and its rows. A file past ``max_bytes`` is refused
    (``file_too_large``), one past ``max_rows`` rows too (``too_many_rows``), a bad header with
    ``bad_header`` of its errors."""
    if len(content) > max_bytes:
        raise Invalid(
            Message("The file is larger than {megabytes} MB.", megabytes=max_bytes // 1024 // 1024),
            code="file_too_large",
        )
    try:
        table = read_table(content, layout, nul_rows="report", max_rows=max_rows)
    except FileRefused as exc:
        if exc.code != "bad_header":
            raise
        raise bad_header(ErrorReport(exc.errors)) from exc
    rows: list[Row] = []
    for row in table:
        if len(rows) == max_rows:
            raise Invalid(
                Message("At most {max_rows} rows per file.", max_rows=max_rows), code="too_many_rows"
            )
        rows.append(row)
    return table, rows
