"""A customer import's reference (a phone number, a member card's or the shop's own number) written as a
number too long for a workbook to hold exactly is read in exponent form (``kit.workbook_rows``): that
row's error, not a customer named by rounded digits. And an Excel text marker is dropped exactly once,
as on every other path: ``''13812345678`` is the customer ``'13812345678`` in the book as in orders."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.models import Customer
from neigou.kit.ids import customer_ref_hash
from tests.conftest import SECRET, TokenMaker, row_counts
from tests.crm.builders import add_customer, build
from tests.workbooks import workbook


def _upload(client: TestClient, headers: dict[str, str], member: int, content: bytes, name: str) -> Any:
    return client.post(
        f"/api/v1/members/{member}/customers/import", files={"file": (name, content)}, headers=headers
    )


@pytest.mark.parametrize("header", ["会员卡号", "手机号"])
def test_a_long_number_cell_is_that_rows_error(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    header: str,
) -> None:
    book = build(client, operator, make_token)
    # two member numbers one float apart: read as digits they would be one customer
    content = workbook([[header, "姓名"], [2345678901234567891, "a"], [2345678901234567800, "b"]])
    before = row_counts(factory)
    response = _upload(client, book.member_headers, book.member, content, "vip.xlsx")
    assert (response.status_code, response.json()["code"]) == (422, "import_invalid")
    errors = response.json()["errors"]
    assert [(e["row"], e["field"], e["code"]) for e in errors] == [
        (2, "customer_ref", "invalid_customer_ref"),
        (3, "customer_ref", "invalid_customer_ref"),
    ]
    assert "文本" in errors[0]["message"]
    assert "2345678" not in str(response.json())
    assert row_counts(factory) == before
    csv = f"{header},姓名\n2.34568E+18,a\n".encode()  # Excel's CSV of the same cell
    assert _upload(client, book.member_headers, book.member, csv, "vip.csv").status_code == 422


@pytest.mark.parametrize("twice", ["''13812345678", "＇＇13812345678", "'＇13812345678"])
def test_a_text_marker_is_dropped_once(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    twice: str,
) -> None:
    """(In a column of phone numbers the cell is read as a number without its marker: a second marker
    beside the number is a refused cell there, ``PHONE_WITH_TEXT``.) A full-width marker is one too."""
    header = "会员卡号"
    book = build(client, operator, make_token)
    response = _upload(
        client, book.member_headers, book.member, f"{header},姓名\n{twice},a\n".encode(), "v.csv"
    )
    assert response.status_code == 200, response.text
    add_customer(client, book.other_headers, book.other, twice)
    with factory() as session:
        hashes = set(session.scalars(select(Customer.customer_ref_hash)))
    # what an order, an opt-out or a claim with ``''13812345678`` names: one marker dropped (the one
    # left is hashed in its NFKC form, ``'``, whichever width it was written in)
    assert hashes == {customer_ref_hash(SECRET, twice)} == {customer_ref_hash(SECRET, "''13812345678")}
    assert customer_ref_hash(SECRET, twice) != customer_ref_hash(SECRET, "13812345678")


# Each is hashed as ``2.34568E+18``: a text marker, or an invisible mark before it, is no disguise.
MARKED_LONG = ["\ufeff'2.34568E+18", "\u200b＇2.34568E+18", "'\ufeff2.34568E+18", "２.３４５６８Ｅ＋１８"]


@pytest.mark.parametrize("cell", MARKED_LONG)
def test_a_marked_exponent_cell_is_that_rows_error(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    cell: str,
) -> None:
    book = build(client, operator, make_token)
    before = row_counts(factory)
    csv = f"会员卡号,姓名\n{cell},a\n13812345678,b\n".encode()
    response = _upload(client, book.member_headers, book.member, csv, "vip.csv")
    assert (response.status_code, response.json()["code"]) == (422, "import_invalid"), response.text
    errors = response.json()["errors"]
    assert [(e["row"], e["field"], e["code"]) for e in errors] == [
        (2, "customer_ref", "invalid_customer_ref")
    ]
    assert "2.34568" not in response.text
    assert row_counts(factory) == before


@pytest.mark.parametrize("cell", ["\ufeff'13812345678", "\u200b＝＂13812345678＂"])
def test_a_mark_before_the_marker_is_the_plain_customer(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    cell: str,
) -> None:
    book = build(client, operator, make_token)
    response = _upload(
        client, book.member_headers, book.member, f"会员卡号,姓名\n{cell},a\n".encode(), "v.csv"
    )
    assert response.status_code == 200, response.text
    with factory() as session:
        hashes = set(session.scalars(select(Customer.customer_ref_hash)))
    assert hashes == {customer_ref_hash(SECRET, "13812345678")}
