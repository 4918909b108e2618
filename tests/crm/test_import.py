"""Importing a store's VIP records: UTF-8 and GB18030 CSV and .xlsx, Chinese headers, a per-row error
report, and nothing written when any row is bad."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.imports import MAX_ROWS
from neigou.crm.models import Consent, Customer
from neigou.kit import workbook_rows
from neigou.kit.workbook_rows import cell_text
from tests.conftest import TokenMaker, row_counts
from tests.crm.builders import add_customer, build
from tests.workbooks import claiming, moved, repeated_rows, workbook

PHONE_LABEL = "A tag or label about a customer may not be a phone number."
CSV = (
    "手机号,姓名,职业,消费能力,标签,生日,同意营销\n"
    "138 0000 0041,王女士,律师,高,通勤、尺码:M,1990/5/17,是\n"
    "13800000042,李先生,,low,,,\n"
)


def _upload(
    client: TestClient,
    headers: dict[str, str],
    member_id: int,
    content: bytes,
    *,
    name: str = "vip.csv",
    query: str = "",
) -> tuple[int, dict[str, Any]]:
    response = client.post(
        f"/api/v1/members/{member_id}/customers/import{query}",
        files={"file": (name, content)},
        headers=headers,
    )
    return response.status_code, response.json()


def test_gb18030_csv_with_chinese_headers(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    before = row_counts(factory)
    status, body = _upload(
        client, book.member_headers, book.member, CSV.encode("gb18030"), query="?dry_run=true"
    )
    assert (status, body) == (200, {"rows": 2, "created": 2, "skipped": [], "dry_run": True})
    assert row_counts(factory) == before
    status, body = _upload(client, book.member_headers, book.member, CSV.encode("gb18030"))
    assert (status, body) == (200, {"rows": 2, "created": 2, "skipped": [], "dry_run": False})
    listed = client.get(f"/api/v1/members/{book.member}/customers", headers=book.member_headers).json()
    assert [
        (
            c["name"],
            c["job"],
            c["spending_power"],
            c["tags"],
            c["birthday"],
            c["source"],
            c["marketing_consent"],
        )
        for c in listed
    ] == [
        ("王女士", "律师", "high", ["通勤", "尺码:M"], "1990-05-17", "import", True),
        ("李先生", None, "low", [], None, "import", False),
    ]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Consent)) == 1


def test_xlsx_and_utf8_csv_read_alike(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for line in CSV.splitlines():
        sheet.append(line.split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert _upload(client, book.member_headers, book.member, buffer.getvalue(), name="vip.xlsx")[0] == 200
    assert _upload(client, book.other_headers, book.other, ("\ufeff" + CSV).encode())[0] == 200
    with factory() as session:
        refs = session.execute(
            select(Customer.member_id, Customer.customer_ref_masked).order_by(Customer.id)
        ).all()
    assert [r[1] for r in refs] == ["138****0041", "138****0042"] * 2


def test_bad_rows_are_each_reported_and_nothing_is_written(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    add_customer(client, book.member_headers, book.member, "13800000045")
    content = (
        b"customer_ref,name,spending_power,birthday,marketing_consent\n"
        b"13800000041,ok,mid,,\n"
        b",blank,,,\n"
        b"13800000043,power,rich,,\n"
        b"13800000044,day,,1990-13-01,\n"
        b"+86 138-0000-0041,again,,,\n"
        b"13800000045,held,,,\n"
        b"13800000046,consent,,,maybe\n"
        b"13800000047,n\x00ul,,,\n"  # a NUL: this row's error, the file read on (SQLite would store it)
    )
    before = row_counts(factory)
    status, body = _upload(client, book.member_headers, book.member, content)
    assert status == 422
    assert body["code"] == "import_invalid"
    # A customer import said "no products were imported" (未导入任何商品) in Chinese.
    assert body["detail"] == "导入文件有 7 处错误，未导入任何内容。"
    assert body["error_count"] == 7
    assert [(e["row"], e["customer"], e["field"], e["code"]) for e in body["errors"]] == [
        (3, None, "customer_ref", "required"),
        (4, None, "spending_power", "invalid_spending_power"),
        (5, None, "birthday", "invalid_date"),
        (6, "138****0041", "customer_ref", "duplicate_customer"),
        (7, "138****0045", "customer_ref", "customer_exists"),
        (8, None, "marketing_consent", "invalid_boolean"),
        (9, None, None, "nul_character"),
    ]
    assert "13800000041" not in str(body)
    assert "1990-13-01" not in str(body)  # a birthday is personal data: the report never repeats it
    assert row_counts(factory) == before


def test_a_file_without_the_reference_column_is_refused(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    book = build(client, operator, make_token)
    status, body = _upload(client, book.member_headers, book.member, "姓名,职业\n王,律师\n".encode())
    assert status == 422
    assert body["code"] == "import_invalid"
    assert body["errors"][0]["code"] == "missing_column"


def test_a_small_workbook_claiming_a_huge_sheet_is_answered_at_once(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 5 KB declaring A1:XFD1048576 with its one row at row 4000 once had 65 million cells converted.
    converted = [0]

    def counted(value: object) -> str:
        converted[0] += 1
        return cell_text(value)

    monkeypatch.setattr(workbook_rows, "cell_text", counted)
    book = build(client, operator, make_token)
    small = claiming(workbook([["customer_ref", "name"], ["13800000041", "x"]]), "A1:XFD1048576")
    status, body = _upload(
        client,
        book.member_headers,
        book.member,
        moved(small, {2: 4000}),
        name="vip.xlsx",
        query="?dry_run=true",
    )
    assert (status, body) == (200, {"rows": 1, "created": 1, "skipped": [], "dry_run": True})
    assert converted[0] == 4
    # A million blank rows count as rows: refused at the first one past the limit.
    status, body = _upload(
        client, book.member_headers, book.member, moved(small, {2: 1_000_000}), name="vip.xlsx"
    )
    assert (status, body["code"]) == (422, "too_many_rows")
    assert body["errors"][0]["row"] == MAX_ROWS + 2


def test_a_workbook_unpacking_past_its_limit_is_refused(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    book = build(client, operator, make_token)
    small = workbook([["customer_ref", "name"], ["13800000041", "x"]])
    status, body = _upload(
        client, book.member_headers, book.member, repeated_rows(small, 300_000), name="vip.xlsx"
    )
    assert (status, body["code"]) == (422, "file_too_large")
    assert body["errors"][0]["code"] == "file_too_large"
    assert body["detail"].startswith("该工作簿解压后")


def test_a_refused_cell_is_named_never_repeated(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    """A phone number typed into the wrong column is refused by its column and row, and the report (which
    goes on to the member's screen and to logs) does not repeat it."""
    book = build(client, operator, make_token)
    content = (
        b"customer_ref,name,spending_power,marketing_consent,birthday\n"
        b"13800000051,power,13912345678,,\n"
        b"13800000052,consent,,13912345679,\n"
        b"13800000053,born,,,2099-03-15\n"
    )
    status, body = _upload(client, book.member_headers, book.member, content)
    assert (status, body["code"]) == (422, "import_invalid")
    errors = [(e["row"], e["field"], e["code"]) for e in body["errors"]]
    assert errors == [
        (2, "spending_power", "invalid_spending_power"),
        (3, "marketing_consent", "invalid_boolean"),
        (4, "birthday", "invalid_birthday"),
    ]
    assert "1391234567" not in str(body)
    assert "2099" not in str(body)
    assert "spending_power" in body["errors"][0]["message"]
    assert "marketing_consent" in body["errors"][1]["message"]


@pytest.mark.parametrize(
    ("language", "blank", "phone"),
    [
        ("zh-CN", "名称不能为空：仅有空白或不可见字符不算名称。", "客户的标签或职业等描述不能是电话号码。"),
        ("en", "A name is required: white space and invisible characters alone are none.", PHONE_LABEL),
    ],
)
def test_a_blank_name_or_a_phone_label_is_refused_as_the_api_refuses_it(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    *,
    language: str,
    blank: str,
    phone: str,
) -> None:
    """A name of only invisible marks and a job or tag that is a phone number have the JSON API's codes
    (``blank_name``, ``phone_label``) and messages in the reader's language, by row and column; the
    report never repeats the number."""
    book = build(client, operator, make_token)
    content = (
        "customer_ref,name,job,tags\n"
        "13800000061,\u200b\u200c,,\n"
        "13800000062,王女士,138 1234 5678,\n"
        "13800000063,李先生,,通勤、+86 139-8765-4321\n"
    ).encode()
    before = row_counts(factory)
    status, body = _upload(client, {**book.member_headers, "Accept-Language": language}, book.member, content)
    assert (status, body["code"]) == (422, "import_invalid")
    assert [(e["row"], e["field"], e["code"], e["message"]) for e in body["errors"]] == [
        (2, "name", "blank_name", blank),
        (3, "job", "phone_label", phone),
        (4, "tags", "phone_label", phone),
    ]
    assert "5678" not in str(body)
    assert "4321" not in str(body)
    assert row_counts(factory) == before


def test_a_customer_ref_hiding_an_invisible_mark_is_that_rows_error(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    """It would be another customer than the same reference without it (``kit.hidden_marks``); one the
    hashing always trimmed (a byte-order mark at the edge, marks between a number's digits) is not."""
    book = build(client, operator, make_token)
    content = "customer_ref,name\nvip-7\u200b1,a\n\ufeff138\u00ad0000 0051,b\nvip-8\ufe0f,c\n".encode()
    before = row_counts(factory)
    status, body = _upload(client, book.member_headers, book.member, content)
    assert (status, body["code"]) == (422, "import_invalid")
    assert [(e["row"], e["field"], e["code"]) for e in body["errors"]] == [
        (2, "customer_ref", "invalid_customer_ref"),
        (4, "customer_ref", "invalid_customer_ref"),
    ]
    assert "顾客标识不能含有不可见字符" in body["errors"][0]["message"]
    assert "vip-" not in str(body)
    assert row_counts(factory) == before
