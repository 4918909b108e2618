"""The one reader of import files: encodings, line endings, .xlsx, header aliases, row errors, streaming."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import GeneratorType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.kit.columns import Column, ErrorReport, FileRefused, ImportRefused, Layout, RowError, header_key
from neigou.kit.errors import Invalid
from neigou.kit.tabular import CHUNK, Decoder, nul_row, read_table, read_upload, split_lines, text_lines
from tests.workbooks import workbook

pytestmark = pytest.mark.no_database

LAYOUT = Layout(
    Column("sku", ("商品编码", "货号")),
    Column("title", ("商品名称",)),
    Column("note", ("备注",), required=False),
)
ROWS = [("TEA-250", "西湖龙井 250g"), ("RICE-5KG", "东北五常大米, 5kg")]
CSV = "sku,title\n" + "".join(f'{sku},"{title}"\n' for sku, title in ROWS)


def read(source: bytes | str | Path, layout: Layout = LAYOUT) -> list[tuple[int, dict[str, str]]]:
    return [(row.row, row.values) for row in read_table(source, layout)]


EXPECTED = [
    (2, {"sku": "TEA-250", "title": "西湖龙井 250g"}),
    (3, {"sku": "RICE-5KG", "title": "东北五常大米, 5kg"}),
]


@pytest.mark.parametrize(
    "content",
    [
        CSV.encode(),
        b"\xef\xbb\xbf" + CSV.encode(),
        CSV.encode("gb18030"),
        CSV.replace("\n", "\r\n").encode("gb18030"),
        CSV.replace("\n", "\r").encode(),  # classic Mac line endings
        CSV.replace("\n", "\r").encode("gb18030"),
        CSV,  # text sent in JSON
    ],
    ids=["utf8", "utf8-bom", "gb18030", "gb18030-crlf", "cr-only", "gb18030-cr-only", "text"],
)
def test_every_encoding_and_line_ending_reads_the_same_rows(content: bytes | str) -> None:
    assert read(content) == EXPECTED


def test_gb18030_after_a_long_ascii_start_and_at_a_chunk_boundary(tmp_path: Path) -> None:
    ascii_rows = "".join(f"A-{n},plain title {n}\n" for n in range(CHUNK // 10))
    for pad in range(4):  # the first Chinese bytes fall on, before and after the chunk boundary
        head = "sku,title\n" + ascii_rows
        head += "x" * (CHUNK - len(head.encode()) % CHUNK - 2 + pad) + ",t\n"
        path = tmp_path / f"big-{pad}.csv"
        path.write_bytes((head + "龙井,西湖\n").encode("gb18030"))
        rows = list(read_table(path, LAYOUT))
        assert rows[-1].values == {"sku": "龙井", "title": "西湖"}
        assert len(rows) == CHUNK // 10 + 2


def test_the_decoder_chooses_at_the_first_non_ascii_bytes() -> None:
    utf8, gbk = Decoder(), Decoder()
    data, gb = "商品".encode(), "商品".encode("gb18030")
    assert utf8.decode(b"sku,") + utf8.decode(data[:1]) + utf8.decode(data[1:], final=True) == "sku,商品"
    assert utf8.encoding == "utf-8"
    assert gbk.decode(b"sku,") + gbk.decode(gb[:1]) + gbk.decode(gb[1:], final=True) == "sku,商品"
    assert gbk.encoding == "gb18030"
    bom = Decoder()
    assert bom.decode(b"\xef\xbb\xbfsku", final=True) == "sku"


@given(st.lists(st.text(alphabet="ab,\r\n\u2028\x0c龙", max_size=12), max_size=8), st.integers(1, 7))
def test_lines_split_only_at_csv_line_endings(parts: list[str], size: int) -> None:
    text = "".join(parts)
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    lines = list(split_lines(chunks))
    assert "".join(lines) == text
    for line in lines[:-1]:
        body = line.rstrip("\r\n")
        assert "\r" not in body
        assert "\n" not in body
        assert line.endswith(("\n", "\r"))


def test_a_cell_may_hold_line_breaks_form_feeds_and_u2028() -> None:
    text = 'sku,title\nA,"two\nlines"\nB,"page\x0cfeed\u2028sep"\rC,x\r\n'
    assert [(r.row, r.values["title"]) for r in read_table(text, LAYOUT)] == [
        (2, "two\nlines"),
        (3, "page\x0cfeed\u2028sep"),
        (4, "x"),
    ]


def test_headers_match_aliases_in_both_languages_whatever_the_case_width_and_spaces() -> None:
    text = "\u3000商品编码 ,商品名称,备注,extra\nA,一,n,ignored\n"
    with pytest.raises(FileRefused) as refused:
        read_table(text, LAYOUT)
    assert [(e.code, e.column) for e in refused.value.errors] == [("unknown_column", "D")]
    lenient = Layout(*LAYOUT.columns, unknown="ignore")
    assert read(text, lenient) == [(2, {"sku": "A", "title": "一", "note": "n"})]
    assert read("ＳＫＵ,Title\nA,b\n") == [(2, {"sku": "A", "title": "b"})]
    assert read("货号,TITLE\nA,b\n") == [(2, {"sku": "A", "title": "b"})]
    assert header_key(" Owner_Member ID ") == header_key("owner-member-id") == "ownermemberid"
    assert header_key("价格（元）") == header_key("价格(元)")


def test_missing_repeated_and_unknown_columns_refuse_the_file_with_each_problem() -> None:
    with pytest.raises(FileRefused) as refused:
        read_table("sku,货号,price\nA,B,1\n", LAYOUT)
    assert refused.value.code == "bad_header"
    assert refused.value.status == 422
    assert [(e.row, e.code, e.column) for e in refused.value.errors] == [
        (1, "duplicate_column", "sku"),
        (1, "unknown_column", "C"),
        (1, "missing_column", "title"),
    ]
    assert "商品名称" in str(refused.value.errors[-1].message)  # the message names the aliases
    either = Layout(Column("fen", required=False), Column("yuan", required=False), either=[("fen", "yuan")])
    with pytest.raises(FileRefused) as none:
        read_table("other\n1\n", Layout(*either.columns, either=either.either, unknown="ignore"))
    assert [(e.code, e.column) for e in none.value.errors] == [("missing_column", "fen")]
    assert read("yuan\n1\n", either) == [(2, {"yuan": "1"})]
    with pytest.raises(ValueError, match="names both"):
        Layout(Column("a", ("同",)), Column("b", ("同",)))


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (b"\n , \n\n", "empty_file"),
        (b"sku,title\n\xff\xfe\x80,x\n", "bad_encoding"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "unsupported_file"),
        (b"PK\x03\x04 not really a workbook", "unreadable_file"),
        (b'sku,title\nA,"' + b"x" * 200_000 + b'"\n', "unreadable_file"),
    ],
    ids=["empty", "blank", "undecodable", "xls", "bad-zip", "huge-cell"],
)
def test_unreadable_files_are_refused_with_a_code_never_a_crash(content: bytes, code: str) -> None:
    with pytest.raises(FileRefused) as refused:
        list(read_table(content, LAYOUT))
    assert refused.value.code == code
    assert refused.value.status == 422
    assert refused.value.errors[0].code == code


def test_rows_keep_the_spreadsheet_numbering_and_their_raw_cells() -> None:
    text = "sku,title\n\nA,a\n ,  \nB\nC,c,extra\n"
    rows = list(read_table(text, LAYOUT))
    assert [(r.row, r.cells) for r in rows] == [(3, ("A", "a")), (5, ("B",)), (6, ("C", "c", "extra"))]
    assert rows[1].values == {"sku": "B", "title": ""}
    assert read_table(text, LAYOUT).header.width == 2


def test_xlsx_workbooks_read_like_csv(tmp_path: Path) -> None:
    content = workbook(
        [
            ["商品编码", "商品名称", "备注", None],
            ["TEA-250", "西湖龙井 250g"],
            [],
            [13812345678, 4.0, datetime(2026, 3, 24, 21, 0)],  # noqa: DTZ001 - Excel dates are naive
            [None, None, None, None],
            [1001, "x", True],
        ]
    )
    expected = [
        (2, {"sku": "TEA-250", "title": "西湖龙井 250g", "note": ""}),
        (4, {"sku": "13812345678", "title": "4", "note": "2026-03-24T21:00:00"}),
        (6, {"sku": "1001", "title": "x", "note": "true"}),
    ]
    assert read(content) == expected
    path = tmp_path / "named-like-a.csv"  # told apart by content, not by name
    path.write_bytes(content)
    table = read_table(path, LAYOUT)
    assert table.kind == "xlsx"
    assert [(r.row, r.values) for r in table] == expected
    assert table.bytes_read == path.stat().st_size
    with pytest.raises(FileRefused) as refused:
        read_table(workbook([["sku"], ["A"]]), LAYOUT)
    assert [(e.code, e.column) for e in refused.value.errors] == [("missing_column", "title")]


def test_text_lines_decode_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    path.write_bytes('{"a": "西湖"}\r{"b": 1}\n'.encode("gb18030"))
    read_bytes = [0]
    assert list(text_lines(path, read_bytes)) == ['{"a": "西湖"}\r', '{"b": 1}\n']
    assert read_bytes[0] == path.stat().st_size


def test_a_large_file_is_streamed_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "large.csv"
    line = "SKU-{:07d},东北五常大米 5kg 家庭装 {:07d}\n"
    with path.open("w", encoding="gb18030", newline="") as handle:
        handle.write("sku,title\n")
        for start in range(0, 100_000, 10_000):
            handle.write("".join(line.format(n, n) for n in range(start, start + 10_000)))
    size = path.stat().st_size
    assert size > 4_000_000
    table = read_table(path, LAYOUT)
    rows = iter(table)
    assert isinstance(rows, GeneratorType)
    tracemalloc.start()
    try:
        count, last = _drain(rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (count, last) == (100_000, 100_001)
    assert table.bytes_read == size
    # A few chunks in flight, whatever the size: reading the file whole would take more than 4 MB.
    assert peak < 1_500_000, f"peak {peak} bytes for a {size}-byte file"


def _drain(rows: Iterator[object]) -> tuple[int, int]:
    count, last = 0, 0
    for row in rows:
        count += 1
        last = getattr(row, "row", 0)
    return count, last


def test_the_report_lists_errors_by_row_and_counts_them_all() -> None:
    report = ErrorReport()
    report.add(RowError(5, "B", "bad", "B. 乙。", "price"))
    report.extend([RowError(2, "A", "first", "A. 甲。"), RowError(5, "B", "second", "B2. 乙2。")])
    assert [(e.row, e.code) for e in report.listed()] == [(2, "first"), (5, "bad"), (5, "second")]
    refused = ImportRefused(
        "3 errors. 3 处错误。", code="import_invalid", report=report, limit=2, render=lambda e: {"at": e.row}
    )
    assert (refused.status, refused.code, refused.error_count) == (422, "import_invalid", 3)
    assert refused.extra == {"errors": [{"at": 2}, {"at": 5}], "error_count": 3}


@pytest.mark.parametrize("source", ["sku,title\nA,b\nC,d\x00e\n", b"sku,title\nA,b\nC,d\x00e\n"])
def test_a_nul_in_a_cell_refuses_the_file_on_every_database(source: str | bytes) -> None:
    """PostgreSQL cannot store a NUL and SQLite stores it: a product import holding one wrote its rows on
    SQLite and was refused on PostgreSQL. The reader refuses it, naming the row."""
    rows = iter(read_table(source, LAYOUT))
    assert next(rows).values == {"sku": "A", "title": "b"}
    with pytest.raises(FileRefused) as refused:
        next(rows)
    assert refused.value.code == "nul_character"
    assert [(e.row, e.code) for e in refused.value.errors] == [(3, "nul_character")]


@pytest.mark.parametrize(
    "source", ["sku,title\nA,b\nC,d\x00e\n\x00\nF,g\n", b"sku,title\nA,b\nC,d\x00e\n\x00\nF,g\n"]
)
def test_an_import_may_take_a_nul_row_as_its_own_row_error_and_go_on(source: str | bytes) -> None:
    """Read with nul_rows="report", a row holding a NUL (even one of nothing else) comes marked, for
    its import to refuse alone, and the rows after it are read."""
    rows = list(read_table(source, LAYOUT, nul_rows="report"))
    assert [(r.row, r.nul) for r in rows] == [(2, False), (3, True), (4, True), (5, False)]
    assert rows[3].values == {"sku": "F", "title": "g"}
    error = nul_row(rows[1], "C")
    assert (error.row, error.key, error.code, str(error.message)) == (
        3,
        "C",
        "nul_character",
        "Row 3 holds a NUL character (\\u0000), which cannot be stored.",
    )


def test_an_upload_is_read_whole_within_its_size_and_rows() -> None:
    def bad_header(report: ErrorReport) -> ImportRefused:
        return ImportRefused.of_rows(report, limit=5, render=lambda e: {"code": e.code})

    table, rows = read_upload(CSV.encode(), LAYOUT, max_bytes=1024, max_rows=2, bad_header=bad_header)
    assert ([(r.row, r.values) for r in rows], table.header.width) == (EXPECTED, 2)
    with pytest.raises(Invalid) as large:
        read_upload(CSV.encode(), LAYOUT, max_bytes=10, max_rows=2, bad_header=bad_header)
    assert large.value.code == "file_too_large"
    with pytest.raises(Invalid) as many:
        read_upload(CSV.encode(), LAYOUT, max_bytes=1024, max_rows=1, bad_header=bad_header)
    assert many.value.code == "too_many_rows"
    with pytest.raises(ImportRefused) as header:
        read_upload(b"title\nx\n", LAYOUT, max_bytes=1024, max_rows=2, bad_header=bad_header)
    assert (header.value.code, [e.code for e in header.value.errors]) == (
        "import_invalid",
        ["missing_column"],
    )
