"""An order CSV read as columns (``orders.import_columns``) gives what the row reader gives: the same
orders, row errors, row numbers and checkpoints, from any ``start``; anything it does not read exactly
as ``kit.tabular`` does goes to the row reader, for the whole file or from an order's end on."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.columns import FileRefused
from neigou.kit.tabular import read_table
from neigou.orders import import_columns, importer
from neigou.orders.import_columns import ColumnOrders
from neigou.orders.import_rows import LAYOUT, MAX_ORDER_LINES, parse_table
from neigou.orders.models import Order
from tests.orders.builders import SKU, build
from tests.orders.import_files import HEADER, PAID_AT, import_orders


@pytest.fixture(autouse=True)
def _any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_columns, "COLUMNS_FROM", 0)  # small files too: the columns are tested


@pytest.mark.no_database  # the readers alone: they run once, on SQLite's run
def test_the_white_space_trimmed_is_what_str_strip_removes() -> None:
    assert "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()) == import_columns.WHITESPACE


def _outcome(items: Iterator[object]) -> tuple[list[str], str | None]:
    """What a reader yields (as reprs: a time's zone counts), and the code of the error it ends on."""
    seen: list[str] = []
    try:
        for item in items:
            seen.append(repr(item))
    except FileRefused as exc:
        return seen, exc.code
    return seen, None


def _same(path: Path, program_id: int | None = 1, start: int = 0) -> ColumnOrders | None:
    """The columns' outcome, asserted equal to the rows'; None when the header refuses the file (in
    ``read_table``, which the importer calls before either reader)."""
    try:
        old = read_table(path, LAYOUT, nul_rows="report")
    except FileRefused:
        return None
    columns = ColumnOrders(
        read_table(path, LAYOUT, nul_rows="report"), path, program_id=program_id, start=start
    )
    rows = _outcome(parse_table(old, program_id=program_id, start=start))
    assert _outcome(iter(columns)) == rows
    return columns


# Cells: keys from a few values (so one id comes back later in the file), padded with white space
# Python strips; integers plain or as int() reads them or not at all; times good and bad.
SPACE = st.sampled_from(["", "", "", " ", "\t", "\u3000", "\xa0", " \u2003", "\x1c", "\x0b"])
KEY = st.sampled_from(["N-1", "N-2", "N-3", "订单4", "", " "])
PROGRAM = st.sampled_from(
    ["1", "1", "2", "", " 1", "1 ", "+1", "01", "x", "1_0", "１", "99999999999999999999"]
)
NUMBER = st.one_of(
    st.integers(0, 10**6).map(str),
    st.sampled_from(
        ["-1", "+5", "1_000", "５", " 7 ", "7\t", "", "abc", "0x10", "1e3", "12345678901234567890123"]
    ),
)
TIME = st.sampled_from(
    [
        PAID_AT,
        PAID_AT,
        "2026-03-01T12:00:00Z",
        "2026-03-01 12:00:00+00:00",
        "2026-03-01T12:00:00",
        "",
        "yesterday",
        " " + PAID_AT,
        "0001-01-01T00:00:00+14:00",
        "2026-13-01T00:00:00+08:00",
        "1714000000",
    ]
)
TEXT = st.sampled_from(["c1", "c2", "顾客", "", " c3 ", "a\u2028b", "x\x85", "SKU-1", "\ufeffz", "#", "a\\b"])


@st.composite
def _cell(draw: st.DrawFn, values: st.SearchStrategy[str]) -> str:
    return draw(SPACE) + draw(values) + draw(SPACE)


COLUMNS = {
    "external_id": ["external_id", "外部订单号", "订单号", "External ID"],
    "program_id": ["program_id", "计划id", "ProgramId"],
    "customer_ref": ["customer_ref", "顾客标识", "买家"],
    "link_code": ["link_code", "链接码", "分享码"],
    "paid_at": ["paid_at", "支付时间", "付款时间"],
    "sku": ["sku", "商品编码", "货号"],
    "quantity": ["quantity", "数量"],
    "paid_fen": ["paid_fen", "实付(分)", "实付金额(分)"],
}
CELL = {
    "external_id": KEY,
    "program_id": PROGRAM,
    "customer_ref": TEXT,
    "link_code": st.sampled_from(["", "", "L1", " L2 ", "\u3000"]),
    "paid_at": TIME,
    "sku": TEXT,
    "quantity": NUMBER,
    "paid_fen": NUMBER,
}


@st.composite
def order_files(draw: st.DrawFn) -> bytes:
    """A CSV order file: a header in any of its names and orders, mostly plain, sometimes not."""
    names = [n for n in COLUMNS if n not in {"program_id", "link_code"} or draw(st.booleans())]
    names = draw(st.permutations(names))
    extra = draw(st.lists(st.sampled_from(["note", "备注", "Note "]), max_size=2, unique=True))
    header_names = [draw(st.sampled_from(COLUMNS[n])) for n in names] + extra
    columns = list(names) + extra
    rows: list[list[str]] = []
    for _ in range(draw(st.integers(0, 12))):
        order = {n: draw(_cell(CELL[n])) for n in names}
        for _line in range(draw(st.integers(1, 4))):
            line = dict(order)
            for n in ("sku", "quantity", "paid_fen"):
                if n in line:
                    line[n] = draw(_cell(CELL[n]))
            if draw(st.integers(0, 9)) == 0:  # a row that says other things than its order's first
                line["customer_ref"] = draw(_cell(TEXT))
            rows.append([line.get(c, draw(st.sampled_from(["", "x", "备注"]))) for c in columns])
        if draw(st.integers(0, 7)) == 0:  # a blank row: empty, white space, or cells of nothing
            rows.append(draw(st.sampled_from([[], [" "], [""] * len(columns), [" "] * len(columns)])))
    lines = [",".join(header_names)] + [",".join(r) for r in rows]
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = ending.join(lines) + draw(st.sampled_from([ending, "", ending * 2]))
    data = draw(st.sampled_from([b"", b"", b"\xef\xbb\xbf"])) + text.encode()
    trouble = draw(st.integers(0, 11))
    at = draw(st.integers(0, len(data)))
    if trouble == 0:  # something the row reader reads otherwise: a quote, a NUL, GB18030, a bad byte
        data = (
            data[:at]
            + draw(st.sampled_from([b'"', b'"a,b"', b"\x00", "订".encode("gb18030"), b"\xff"]))
            + data[at:]
        )
    elif trouble == 1:  # a row of another width
        data = data + b"a,b\n"
    return data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=order_files(),
    program_id=st.sampled_from([None, 7]),
    start=st.integers(0, 40),
    block=st.sampled_from([256, 1024, 1 << 20]),
)
@pytest.mark.no_database  # the readers alone: they run once, on SQLite's run
def test_the_columns_give_what_the_rows_give(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    data: bytes,
    program_id: int | None,
    start: int,
    block: int,
) -> None:
    monkeypatch.setattr(import_columns, "BLOCK", block)  # small blocks: orders across blocks
    path = tmp_path / "orders.csv"
    path.write_bytes(data)
    columns = _same(path, program_id, start)
    if columns is None:
        event("header refused")
    elif not columns.columnar:
        event("row reader")
    else:
        event("columns" if columns.fell_back_at is None else "columns, then the row reader")


def _file(tmp_path: Path, lines: list[str], *, ending: str = "\n", header: str = HEADER) -> Path:
    path = tmp_path / "orders.csv"
    path.write_bytes((ending.join([header, *lines]) + ending).encode())
    return path


def _line(
    external_id: str, *, program: str = "1", quantity: str = "1", at: str = PAID_AT, sku: str = "S"
) -> str:
    return ",".join([external_id, program, "c", "L", at, sku, quantity, "100"])


def _plain(count: int) -> list[str]:
    return [_line(f"N-{n // 2}", sku=f"S-{n}") for n in range(count)]


@pytest.mark.parametrize("start", [0, 1, 2, 3, 7, 300])
@pytest.mark.no_database  # the readers alone: they run once, on SQLite's run
def test_a_plain_file_is_read_as_columns_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: int
) -> None:
    monkeypatch.setattr(import_columns, "BLOCK", 512)
    columns = _same(_file(tmp_path, _plain(300), ending="\r\n"), start=start)
    assert columns is not None
    assert columns.columnar
    assert columns.fell_back_at is None


@pytest.mark.parametrize(
    "lines", [MAX_ORDER_LINES - 1, MAX_ORDER_LINES, MAX_ORDER_LINES + 1, 3 * MAX_ORDER_LINES]
)
@pytest.mark.parametrize("block", [4096, 1 << 20])
@pytest.mark.no_database  # the readers alone: they run once, on SQLite's run
def test_an_order_near_or_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: int, block: int
) -> None:
    monkeypatch.setattr(import_columns, "BLOCK", block)
    rows = _plain(6) + [_line("BIG", sku=f"S-{n}") for n in range(lines)] + _plain(4)
    columns = _same(_file(tmp_path, rows))
    assert columns is not None
    assert columns.columnar
    assert (columns.fell_back_at is None) == (lines <= MAX_ORDER_LINES)
    if lines > MAX_ORDER_LINES:
        assert columns.fell_back_at == 7  # the last row of the last order before the long one


@pytest.mark.no_database  # the readers alone: they run once, on SQLite's run
def test_orders_whose_cells_int_reads_differently_are_built_from_their_rows(tmp_path: Path) -> None:
    odd = [
        _line("A", quantity="+5"),
        _line("B", quantity="1_000"),
        _line("C", quantity="５"),
        _line("D", quantity=" 7 "),
        _line("E", quantity="x"),
        _line("F", program=" 2"),
        _line("G", program="-1"),
        _line("H", at="2026-03-01T12:00:00"),
        _line("I", at=" " + PAID_AT),
        _line("J", program=""),
    ]
    path = _file(tmp_path, odd)
    for program_id in (None, 7):
        columns = _same(path, program_id)
        assert columns is not None
        assert columns.columnar
        assert columns.fell_back_at is None


ROW = b"N-1,1,c,L," + PAID_AT.encode() + b",S,1,100"


@pytest.mark.parametrize(
    ("data", "whole", "block"),
    [
        (ROW.replace(b",c,", b',"c",'), True, 256),  # a quote
        (ROW.replace(b",c,", b",c\x00,"), True, 256),  # a NUL
        (ROW.replace(b",c,", ",顾客,".encode("gb18030")), True, 256),  # GB18030
        (ROW.replace(b",c,", b",\xff,"), True, 256),  # not UTF-8
        (ROW + b",extra", False, 256),  # a row wider than the header
        (b"N-1,1,c,L", False, 256),  # a narrower one
        (ROW + b"1" * csv.field_size_limit(), False, 1 << 20),  # a cell the csv module refuses
        (ROW + b"1" * (2 << 20), False, 1 << 20),  # a row longer than a block
    ],
)
@pytest.mark.no_database  # the readers alone: they run once, on SQLite's run
def test_what_the_columns_do_not_read_goes_to_the_row_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, whole: bool, block: int
) -> None:
    monkeypatch.setattr(import_columns, "BLOCK", block)
    head = (HEADER + "\n" + "\n".join(_plain(2000)) + "\n").encode()  # past the first 64 KiB
    path = tmp_path / "orders.csv"
    path.write_bytes(head + data + b"\n" + ROW.replace(b"N-1", b"N-99") + b"\n")
    columns = _same(path)
    assert columns is not None
    assert columns.columnar is not whole
    if not whole:
        assert columns.fell_back_at is not None


@pytest.mark.no_database  # the readers alone: they run once, on SQLite's run
def test_blank_rows_before_the_header_go_to_the_row_reader(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(("\n,,\n" + HEADER + "\n" + "\n".join(_plain(4)) + "\n").encode())
    columns = _same(path)
    assert columns is not None
    assert not columns.columnar


@pytest.mark.parametrize(
    "text",
    [
        "",
        HEADER,
        HEADER + "\n",
        "\ufeff" + HEADER + "\r\n",
        HEADER + "\n\n\n",
        "external_id,sku\n1,2\n",
        "\n\n",
    ],
)
@pytest.mark.no_database  # the readers alone: they run once, on SQLite's run
def test_empty_files_header_only_and_refused_headers(tmp_path: Path, text: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(text.encode())
    _same(path)


@pytest.mark.no_database  # the readers alone: they run once, on SQLite's run
def test_chinese_headers_extra_columns_and_no_optional_ones(tmp_path: Path) -> None:
    header = "备注,订单号,顾客标识,支付时间,商品编码,数量,实付(分),Other"
    rows = [f"x,N-{n // 3}, c{n} ,{PAID_AT},S-{n},{n + 1},{n * 10},y" for n in range(40)]
    columns = _same(_file(tmp_path, rows, header=header), program_id=3)
    assert columns is not None
    assert columns.columnar
    assert columns.fell_back_at is None
    _same(_file(tmp_path, rows, header=header), program_id=None)  # every order: program_id is missing


@pytest.mark.no_database  # the readers alone: they run once, on SQLite's run
def test_an_id_that_comes_back_later_is_another_order(tmp_path: Path) -> None:
    rows = [
        _line("A"),
        _line("A"),
        _line("B"),
        _line("A"),
        _line("A", program="2"),
        _line(" A ", program=" 2"),
    ]
    columns = _same(_file(tmp_path, rows))
    assert columns is not None
    assert columns.columnar
    assert columns.fell_back_at is None


def test_an_import_reads_a_plain_file_as_columns(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = build(client, operator, factory, max_levels=2)
    read: list[ColumnOrders] = []

    def reader(*args: Any, **kwargs: Any) -> ColumnOrders:
        read.append(ColumnOrders(*args, **kwargs))
        return read[-1]

    monkeypatch.setattr(importer, "ColumnOrders", reader)
    rows = [",".join([f"N-{n // 2}", "c", w.link, PAID_AT, SKU, "1", "100"]) for n in range(10)]
    rows[4] = rows[4].replace(",1,100", ",+1,100")  # built from its rows: the same order
    rows[6] = rows[6].replace(PAID_AT, "2026-03-01T12:00:00")  # refused: no time zone
    header = "external_id,customer_ref,link_code,paid_at,sku,quantity,paid_fen"
    path = _file(tmp_path, rows, header=header)
    report = import_orders(factory, path, program_id=w.program_id, batch_size=2)
    assert read[0].columnar
    assert read[0].fell_back_at is None
    assert [(e.row, e.key, e.code) for e in report.errors] == [(8, "N-3", "parse_error")]
    assert (report.imported, report.rows_done, report.finished) == (4, 11, True)
    with factory() as session:
        assert sorted(session.scalars(select(Order.external_id))) == ["N-0", "N-1", "N-2", "N-4"]


@pytest.mark.no_database  # the readers alone: they run once, on SQLite's run
def test_the_progress_never_goes_back_when_the_row_reader_takes_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The columns read ahead of the orders given; the row reader that takes over counts from the file's
    top. What the progress bar is told only grows."""
    rows = _plain(30000) + [_line("BIG", sku=f"S-{n}") for n in range(MAX_ORDER_LINES + 1)] + _plain(20000)
    path = _file(tmp_path, rows)  # 2.6 MB: the columns read it all ahead before the long order
    shown: list[int] = []
    items = list(importer._parsed(path, 1, 0, lambda done, total: shown.append(done)))
    assert items
    assert shown == sorted(shown)
    assert shown[-1] == path.stat().st_size
