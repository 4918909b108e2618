"""A column of phone numbers (``手机号``, ``手机``, ``会员手机号``) in a store's VIP file is read as phone
numbers: Excel's text markers dropped, a mobile of another country written without ``+`` read with its
country code, and a cell holding a mobile beside other text refused as that row's error. So no spreadsheet
form of an opted-out shopper's number gets into a book, nor makes a second customer. A code column
(``会员卡号``, ``客户编号``, ``customer_ref``) keeps its codes; the single add drops Excel's markers too."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.models import Customer
from tests.conftest import TokenMaker, row_counts
from tests.crm.builders import Book, add_customer, build

OPTED_OUT = "13812345678"
ABROAD = "+852 6123 4567"
PHONE_WITH_TEXT = {
    "zh-CN": "手机号单元格中除号码外还有其他文字（备注、姓名或第二个号码）：请只填写号码。",
    "en": "A phone number cell holds other text besides the number (a note, a name or a second number): "
    "put only the number in it.",
}


def _upload(client: TestClient, book: Book, content: str, language: str = "zh-CN") -> tuple[int, Any]:
    answer = client.post(
        f"/api/v1/members/{book.member}/customers/import",
        files={"file": ("vip.csv", content.encode())},
        headers={**book.member_headers, "Accept-Language": language},
    )
    return answer.status_code, answer.json()


def _opt_out(client: TestClient, operator: dict[str, str], ref: str, key: str) -> None:
    answer = client.post(
        "/api/v1/privacy/opt-outs", json={"customer_ref": ref, "request_id": key}, headers=operator
    )
    assert answer.status_code == 201, answer.text


def _masks(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        return list(session.scalars(select(Customer.customer_ref_masked).order_by(Customer.id)))


def test_spreadsheet_forms_of_an_opted_out_number_are_left_out(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    _opt_out(client, operator, OPTED_OUT, "cells-cn")
    _opt_out(client, operator, ABROAD, "cells-hk")
    status, body = _upload(
        client,
        book,
        '手机号,姓名\n="13812345678",a\n\'13812345678,b\n13812345678,c\n'
        "852 6123 4567,d\n(852) 6123 4567,e\n85261234567,f\n'+852 6123 4567,g\n13800000051,h\n",
    )
    assert status == 200, body
    assert (body["rows"], body["created"]) == (8, 2)
    assert [(s["row"], s["customer"], s["code"]) for s in body["skipped"]] == [
        (2, "138****5678", "customer_opted_out"),
        (3, "138****5678", "customer_opted_out"),
        (4, "138****5678", "customer_opted_out"),
        (5, "+85****4567", "customer_opted_out"),
        (6, "+85****4567", "customer_opted_out"),
        (8, "+85****4567", "customer_opted_out"),
    ]
    # Ungrouped digits stay a code (a member card's number reads so as often as a number abroad).
    assert _masks(factory) == ["852****4567", "138****0051"]
    for typed in (
        '="13812345678"',
        "'13812345678",
        ' ="138 1234 5678" ',
        "＝＂13812345678＂",
        "＇13812345678",
    ):
        refused = client.post(
            f"/api/v1/members/{book.member}/customers",
            json={"customer_ref": typed, "name": "王女士"},
            headers=book.member_headers,
        )
        assert (refused.status_code, refused.json()["code"]) == (409, "customer_opted_out"), typed
    assert _masks(factory) == ["852****4567", "138****0051"]


def test_forms_of_one_number_are_one_customer(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    add_customer(client, book.member_headers, book.member, ABROAD, name="陈先生")
    before = row_counts(factory)
    status, body = _upload(
        client, book, '手机,姓名\n="13900000061",a\n\'139 0000 0061,b\n852 6123 4567,c\n13900000062,d\n'
    )
    assert (status, body["code"]) == (422, "import_invalid")
    assert [(e["row"], e["customer"], e["code"]) for e in body["errors"]] == [
        (3, "139****0061", "duplicate_customer"),
        (4, "+85****4567", "customer_exists"),
    ]
    assert row_counts(factory) == before


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_phone_cell_holding_a_note_is_that_rows_error(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    language: str,
) -> None:
    """Hashed as it stands it would be another customer than the number, past its opt-out: the row is
    refused ``invalid_customer_ref``, in the reader's language, the cell never repeated."""
    book = build(client, operator, make_token)
    content = (
        "会员手机号,姓名\n"
        "13812345678(工作),a\n"
        "13812345678 王女士,b\n"
        "王女士 138-1234-5678,c\n"
        "13812345678/13987654321,d\n"
        '="13812345678 微信同号",e\n'
        "13800000071,f\n"
    )
    before = row_counts(factory)
    status, body = _upload(client, book, content, language)
    assert (status, body["code"]) == (422, "import_invalid")
    assert [(e["row"], e["customer"], e["field"], e["code"], e["message"]) for e in body["errors"]] == [
        (row, None, "customer_ref", "invalid_customer_ref", PHONE_WITH_TEXT[language]) for row in range(2, 7)
    ]
    for typed in ("5678", "4321", "工作", "王女士", "微信"):
        assert typed not in str(body)
    assert row_counts(factory) == before


@pytest.mark.parametrize("header", ["会员卡号", "客户编号", "customer_ref"])
def test_a_code_column_keeps_its_codes(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    header: str,
) -> None:
    """Digits after a country code may be a member card's number there: only Excel's markers go."""
    book = build(client, operator, make_token)
    content = f'{header},姓名\n85261234567,a\nVIP13812345678,b\n="000123",c\n13800000081,d\n'
    status, body = _upload(client, book, content)
    assert (status, body["created"]) == (200, 4), body
    assert _masks(factory) == ["852****4567", "VIP****5678", "****23", "138****0081"]
    status, body = _upload(client, book, f"{header}\n000123\n")
    assert (status, [e["code"] for e in body["errors"]]) == (422, ["customer_exists"])


@pytest.mark.parametrize("header", ["手机号", "会员卡号"])
def test_full_width_markers_are_dropped_as_excels_are(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    header: str,
) -> None:
    """``＝＂…＂`` and ``＇…``, as an input method in full-width mode types Excel's markers: in a phone
    column and a code column alike the cell is the number, so an opted-out shopper stays out."""
    book = build(client, operator, make_token)
    _opt_out(client, operator, OPTED_OUT, "cells-full-width")
    content = f'{header},姓名\n＝＂13812345678＂,a\n＇13812345678,b\n＝"13812345678",c\n＝＂000123＂,d\n'
    status, body = _upload(client, book, content)
    assert status == 200, body
    assert [(s["row"], s["customer"], s["code"]) for s in body["skipped"]] == [
        (row, "138****5678", "customer_opted_out") for row in (2, 3, 4)
    ]
    assert _masks(factory) == ["****23"]
