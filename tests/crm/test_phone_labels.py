"""A customer's tags and job are stored in clear: a phone number however written (``kit.phones``, the
reader of customer references) is refused there, 422 ``phone_label``, nothing written and the number
never repeated; taste words and numbers that are no phone number stay tags."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TokenMaker, row_counts
from tests.crm.builders import add_customer, build

PHONES = [
    "13812345678",
    "138 1234 5678",
    "+86 138-1234-5678",
    "\u202a138\u200b1234\u200b5678\u202c",
    "(021) 6212 3456",
]


@pytest.mark.parametrize("phone", PHONES)
def test_a_tag_or_job_that_is_a_phone_number_is_refused(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    phone: str,
) -> None:
    book = build(client, operator, make_token)
    made = add_customer(client, book.member_headers, book.member, "13900001111", tags=["通勤"])
    before = row_counts(factory)
    for fields in ({"tags": ["通勤", phone]}, {"job": phone}):
        refused = add_customer(client, book.member_headers, book.member, "13900002222", status=422, **fields)
        _assert_refused(refused, phone)
        edited = client.patch(f"/api/v1/customers/{made['id']}", json=fields, headers=book.member_headers)
        assert edited.status_code == 422, edited.text
        _assert_refused(edited.json(), phone)
    segment = client.post(
        f"/api/v1/members/{book.member}/segments",
        json={"name": "常客", "tags": [phone]},
        headers=book.member_headers,
    )
    assert segment.status_code == 422, segment.text
    _assert_refused(segment.json(), phone)
    assert row_counts(factory) == before
    shown = client.get(f"/api/v1/customers/{made['id']}", headers=book.member_headers).json()
    assert (shown["tags"], shown["job"]) == (["通勤"], None)


def _assert_refused(problem: dict[str, Any], phone: str) -> None:
    assert problem["code"] == "phone_label"
    assert [e["type"] for e in problem["errors"]] == ["phone_label"]
    assert "5678" not in str(problem)
    assert "3456" not in str(problem)
    assert phone not in str(problem)


def test_taste_words_and_other_numbers_stay_tags(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    book = build(client, operator, make_token)
    tags = ["尺码:M", "2024", "VIP1", "冬装", "95", "10086"]
    made = add_customer(client, book.member_headers, book.member, "13900003333", tags=tags, job="教师")
    shown = client.get(f"/api/v1/customers/{made['id']}", headers=book.member_headers).json()
    assert (shown["tags"], shown["job"]) == (tags, "教师")
