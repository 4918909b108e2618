"""An order CSV file read as columns: the same orders, row errors and row numbers as
``import_rows.parse_table`` over ``kit.tabular``'s rows, for a fraction of the CPU.

``pyarrow.csv`` reads the file in blocks (its memory stays that of one block and one unfinished order),
every cell as text; the order keys are stripped and compared per column to find where each order
begins, the quantities and amounts are checked against a strict pattern and converted per column, and
only the orders themselves (``OrderIn``, ``ItemIn``, the time paid) are built in Python, one per order.

It reads only files it reads exactly as ``kit.tabular`` does, and hands anything else to the row reader:

- the whole file, when it is small (``COLUMNS_FROM``) or not plain: not valid UTF-8 (a GB18030 file), a NUL or a quote character
  anywhere (quoted cells may span lines), blank rows before the header;
- the rest of the file, from the last order it gave (whose last row is the checkpoint an interrupted
  import would resume from, so the row reader goes on exactly as after a resume), when a row has
  another number of cells than the header, a line or cell is longer than the row reader takes, or an
  order has more than ``MAX_ORDER_LINES`` rows;
- one order, when a quantity or amount is not plain ASCII digits, its program is not, or its time is
  refused: ``import_rows.order_of`` builds it (or says why it is refused) from the same cells.
"""

from __future__ import annotations

import codecs
import csv
from bisect import bisect_right
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from neigou.kit.columns import HEADER_ROW, Row
from neigou.kit.tabular import Table
from neigou.orders.import_rows import MAX_ORDER_LINES, Parsed, order_of, paid_at, parse_table
from neigou.orders.inputs import ItemIn, OrderIn

BLOCK = 1 << 20
"""Bytes arrow parses at a time; a longer row hands the file to the row reader."""
SCAN = 1 << 20
COLUMNS_FROM = 1 << 20
"""Files from this size on are read as columns; a smaller one row by row, for which the columns' start
(pyarrow's first conversion of a Python value imports pandas, some 0.3 s once per process) costs more
than they save."""
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""What ``str.strip()`` removes (every character ``str.isspace()`` holds), for ``utf8_trim``."""
DIGITS = "^[0-9]{1,18}$"
"""An integer cell read per column; any other (signs, spaces, ``_``, other digits) goes through ``int()``."""


class Irregular(Exception):
    """The file stops being plain here: the row reader takes over."""


def plain_file(handle: BinaryIO) -> bool:
    """Whether the file is strict UTF-8 and holds no NUL and no quote character."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    try:
        for block in iter(lambda: handle.read(SCAN), b""):
            if b"\x00" in block or b'"' in block:
                return False
            if not block.isascii() or utf8.getstate()[0]:
                utf8.decode(block)
        utf8.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _trim(values: Any) -> Any:
    return pc.utf8_trim(values, characters=WHITESPACE)


class ColumnOrders:
    """The orders of a CSV order file opened by ``kit.tabular.read_table`` (its header matched),
    as ``parse_table(table, program_id=…, start=…)`` gives them."""

    def __init__(self, table: Table, path: Path, *, program_id: int | None, start: int = 0) -> None:
        self.table = table
        self.path = path
        self.program_id = program_id
        self.start = start
        self.columnar = False  # the file (or its beginning) was read as columns
        self.fell_back_at: int | None = None  # the row after which the row reader took over
        self._handle: BinaryIO | None = None
        index = table.header.index
        self._ext, self._program = index["external_id"], index.get("program_id")
        self._customer, self._link = index["customer_ref"], index.get("link_code")
        self._paid_at, self._sku = index["paid_at"], index["sku"]
        self._quantity, self._paid_fen = index["quantity"], index["paid_fen"]

    @property
    def bytes_read(self) -> int:
        """How far into the file reading has come (for a progress bar)."""
        if self._handle is not None and not self._handle.closed:
            return self._handle.tell()
        return self.table.bytes_read

    def __iter__(self) -> Iterator[Parsed]:
        done = self.start
        table = self.table
        if table.kind == "csv" and table.header_row == HEADER_ROW and table.size >= COLUMNS_FROM:
            with self.path.open("rb") as handle:
                if plain_file(handle):
                    handle.seek(0)
                    self._handle, self.columnar = handle, True
                    try:
                        for item in self._columns(handle):
                            yield item
                            done = item[1]
                    except (Irregular, pa.ArrowInvalid):
                        self.fell_back_at = done
                    else:
                        self.table.close()
                        return
        yield from parse_table(self.table, program_id=self.program_id, start=done)

    def _columns(self, handle: BinaryIO) -> Iterator[Parsed]:
        names = [f"c{i}" for i in range(self.table.header.width)]
        reader = pacsv.open_csv(
            handle,
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=HEADER_ROW, block_size=BLOCK, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
        number = HEADER_ROW + 1  # the file row of the batch's first row
        pending: Any = None  # the rows of the last order, which may go on in the next batch
        for batch in reader:
            rows = self._kept(batch, number)
            number += batch.num_rows
            if pending is not None:
                rows = pa.concat_batches([pending, rows])
            pending = yield from self._grouped(rows, final=False)
        if pending is not None:
            yield from self._grouped(pending, final=True)

    def _kept(self, batch: Any, number: int) -> Any:
        """The batch's rows past ``start`` that are not blank, each with its file row number."""
        limit = csv.field_size_limit()
        for column in batch.columns:  # the row reader refuses a longer cell, and so the file
            if batch.num_rows and pc.max(pc.binary_length(column)).as_py() >= limit:
                raise Irregular
        ones = pa.repeat(pa.scalar(1, pa.int64()), batch.num_rows)
        rows = batch.append_column("row", pc.cumulative_sum(ones, start=number - 1))
        if number <= self.start:
            rows = rows.slice(min(self.start - number + 1, rows.num_rows))
        if not pc.any(pc.equal(_trim(rows.column(self._ext)), "")).as_py():
            return rows
        blank = None
        for i in range(self.table.header.width):  # every cell white space: a blank row, skipped
            empty = pc.equal(_trim(rows.column(i)), "")
            blank = empty if blank is None else pc.and_(blank, empty)
        return rows.filter(pc.invert(blank))

    def _grouped(self, rows: Any, *, final: bool) -> Generator[Parsed, None, Any]:
        """The orders that end in ``rows``; returns the rows of the last one when it may go on."""
        count = rows.num_rows
        if not count:
            return None
        ext = _trim(rows.column(self._ext))
        same = pc.equal(ext.slice(1), ext.slice(0, count - 1))
        if self._program is not None:
            program = _trim(rows.column(self._program))
            same = pc.and_(same, pc.equal(program.slice(1), program.slice(0, count - 1)))
        starts = [0, *pc.add(pc.indices_nonzero(pc.invert(same)), 1).to_pylist()]
        ends = [*starts[1:], count]
        complete = len(starts) if final else len(starts) - 1
        too_long = next((j for j in range(complete) if ends[j] - starts[j] > MAX_ORDER_LINES), None)
        yield from self._built(rows, ext, starts[: complete if too_long is None else too_long], ends)
        if too_long is not None or count - starts[-1] > MAX_ORDER_LINES:
            raise Irregular
        return None if final else rows.slice(starts[-1])

    def _built(self, rows: Any, ext: Any, starts: list[int], ends: list[int]) -> Iterator[Parsed]:
        """The orders of the rows ``starts[j]`` to ``ends[j]``."""
        if not starts:
            return
        used = ends[len(starts) - 1]
        first = pa.array(starts, pa.int64())
        external_ids = pc.take(ext, first).to_pylist()
        customers = _trim(pc.take(rows.column(self._customer), first)).to_pylist()
        links = (
            _trim(pc.take(rows.column(self._link), first)).to_pylist()
            if self._link is not None
            else [None] * len(starts)
        )
        times = pc.take(rows.column(self._paid_at), first).to_pylist()
        programs = self._programs(
            pc.take(rows.column(self._program), first) if self._program is not None else None, len(starts)
        )
        numbers = rows.column("row")
        first_rows = pc.take(numbers, first).to_pylist()
        last_rows = pc.take(numbers, pa.array([e - 1 for e in ends[: len(starts)]], pa.int64())).to_pylist()
        skus = _trim(rows.column(self._sku).slice(0, used)).to_pylist()
        quantity, quantity_ok = _integers(rows.column(self._quantity).slice(0, used))
        paid_fen, paid_fen_ok = _integers(rows.column(self._paid_fen).slice(0, used))
        bad = pc.indices_nonzero(pc.invert(pc.and_(quantity_ok, paid_fen_ok))).to_pylist()
        refused = {bisect_right(starts, position) - 1 for position in bad}
        quantities, amounts = quantity.to_pylist(), paid_fen.to_pylist()
        for j, start in enumerate(starts):
            end, program = ends[j], programs[j]
            at = None
            if program is not None and j not in refused:
                try:
                    at = paid_at(times[j])
                except (ValueError, TypeError):
                    at = None
            if at is None or program is None:
                yield self._by_rows(rows, start, end)
                continue
            yield (
                OrderIn(
                    external_id=external_ids[j],
                    program_id=program,
                    customer_ref=customers[j],
                    link_code=links[j] or None,
                    items=tuple(map(ItemIn, skus[start:end], quantities[start:end], amounts[start:end])),
                    paid_at=at,
                    row=first_rows[j],
                ),
                last_rows[j],
            )

    def _programs(self, cells: Any, count: int) -> list[int | None]:
        """Each order's program (its first row's cell, else the import's), None where ``int()`` decides."""
        if cells is None:
            return [self.program_id] * count
        values, plain = _integers(cells)
        default = pa.scalar(self.program_id, pa.int64())
        values = pc.if_else(plain, values, pa.scalar(None, pa.int64()))
        return list(pc.if_else(pc.equal(cells, ""), default, values).to_pylist())

    def _by_rows(self, rows: Any, start: int, end: int) -> Parsed:
        """One order built from its rows' cells by the row reader's own code."""
        part = rows.slice(start, end - start)
        cells = [part.column(i).to_pylist() for i in range(self.table.header.width)]
        numbers = part.column("row").to_pylist()
        index = self.table.header.index
        table_rows = [
            Row(number, tuple(c[k] for c in cells), {name: cells[i][k] for name, i in index.items()})
            for k, number in enumerate(numbers)
        ]
        return order_of(table_rows, self.program_id)


def _integers(cells: Any) -> tuple[Any, Any]:
    """The cells as integers where they are plain digits (0 elsewhere), and where they are."""
    plain = pc.match_substring_regex(cells, DIGITS)
    return pc.cast(pc.if_else(plain, cells, "0"), pa.int64()), plain
