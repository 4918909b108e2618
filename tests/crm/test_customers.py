"""The customer book through the API: add (409 for the same customer however the phone is written),
list with filters, read and edit (404 for another member's customer), consent with its history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TokenMaker, row_counts
from tests.crm.builders import add_customer, add_order, build, listed, set_times
from tests.offers.factories import product
from tests.phone_forms import written_forms


def test_add_then_the_same_customer_in_another_form_is_refused(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    made = add_customer(
        client,
        book.member_headers,
        book.member,
        "138 0013 8000",
        name="王女士",
        job="律师",
        spending_power="high",
        tags=["通勤", " 尺码:M ", "通勤"],
        birthday="1990-05-17",
        consent={"marketing": True, "source": "store_form"},
    )
    before = row_counts(factory)
    again = add_customer(client, book.member_headers, book.member, "+86 13800138000", status=409)
    assert again["code"] == "customer_exists"
    # Copied from a phone's contacts, the number comes wrapped in invisible direction marks.
    copied = add_customer(
        client, book.member_headers, book.member, "\u202a+86 138 0013 8000\u202c", status=409
    )
    assert copied["code"] == "customer_exists"
    assert row_counts(factory) == before
    # A colleague may hold the same customer in their own book.
    add_customer(client, book.other_headers, book.other, "13800138000")
    shown = client.get(f"/api/v1/customers/{made['id']}", headers=book.member_headers).json()
    assert shown["customer_ref_masked"] == "138****8000"
    assert (shown["name"], shown["job"], shown["tags"]) == ("王女士", "律师", ["通勤", "尺码:M"])
    assert (shown["spending_power_effective"], shown["birthday"], shown["source"]) == (
        "high",
        "1990-05-17",
        "manual",
    )
    assert shown["marketing_consent"] is True
    assert "13800138000" not in str(shown)


def test_a_phone_spread_out_or_dotted_is_the_customer_already_in_the_book(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    add_customer(client, book.member_headers, book.member, "13800138000")
    before = row_counts(factory)
    for written in written_forms("13800138000"):
        again = add_customer(client, book.member_headers, book.member, written, status=409)
        assert again["code"] == "customer_exists", written
    assert row_counts(factory) == before


def test_a_member_reaches_only_their_own_customers(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    made = add_customer(client, book.member_headers, book.member, "13800138001", name="甲")
    before = row_counts(factory)
    for method, path, body in (
        ("GET", f"/api/v1/customers/{made['id']}", None),
        ("PATCH", f"/api/v1/customers/{made['id']}", {"name": "改"}),
        ("GET", f"/api/v1/customers/{made['id']}/consents", None),
        ("POST", f"/api/v1/customers/{made['id']}/consents", {}),
        ("GET", f"/api/v1/customers/{made['id']}/export", None),
    ):
        answer = client.request(method, path, json=body, headers=book.other_headers)
        assert (answer.status_code, answer.json()["code"]) == (404, "customer_not_found"), path
    listing = client.get(f"/api/v1/members/{book.member}/customers", headers=book.other_headers)
    assert (listing.status_code, listing.json()["code"]) == (403, "other_member")
    assert row_counts(factory) == before
    # The organization's operator sees every book.
    assert client.get(f"/api/v1/customers/{made['id']}", headers=operator).status_code == 200


def test_filters_by_tag_spending_power_dormancy_category_and_birthday_month(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    h, m = book.member_headers, book.member
    a = add_customer(
        client,
        h,
        m,
        "13800000011",
        name="a",
        tags=["通勤", "尺码:M"],
        spending_power="high",
        birthday="1990-05-01",
    )
    b = add_customer(client, h, m, "13800000012", name="b", tags=["通勤"], spending_power="low")
    c = add_customer(client, h, m, "13800000013", name="c", tags=["运动"], birthday="1985-12-24")
    add_customer(client, operator, book.other, "13800000014", name="not mine", tags=["通勤"])
    now = datetime.now(UTC)
    # Dormancy reads the program's orders (and touches) as they stand: a bought 5 days ago, b 60.
    product(client, operator, "CRM-SKU", 1000)
    add_order(
        client, operator, book.program_id, "13800000011", paid_at=now - timedelta(days=5), sku="CRM-SKU"
    )
    add_order(
        client, operator, book.program_id, "13800000012", paid_at=now - timedelta(days=60), sku="CRM-SKU"
    )
    set_times(factory, a["id"], created_at=now - timedelta(days=90))
    set_times(factory, b["id"], created_at=now - timedelta(days=90))
    set_times(factory, c["id"], spending_power_derived="mid", preferred_categories=["apparel", "shoes"])
    assert listed(client, h, m) == ["a", "b", "c"]
    assert listed(client, h, m, "tag=通勤") == ["a", "b"]
    assert listed(client, h, m, "tag=通勤&tag=尺码:M") == ["a"]
    # Stored tags are NFKC-folded (``offers.schemas.tidy_tags``): the filter's are folded alike.
    assert listed(client, h, m, "tag=尺码：M") == ["a"]
    assert listed(client, h, m, "tag=%E3%80%80通勤%E3%80%80&tag=尺码%EF%BC%9AM") == ["a"]
    assert listed(client, h, m, "spending_power=mid") == ["c"]  # derived, as none was set
    assert listed(client, h, m, "dormant_days=30") == ["b"]  # c was added today
    assert listed(client, h, m, "category=shoes") == ["c"]
    assert listed(client, h, m, "birthday_month=12") == ["c"]
    page = client.get(f"/api/v1/members/{m}/customers?limit=1&offset=1", headers=h)
    assert [c["name"] for c in page.json()] == ["b"]
    assert page.headers["x-total-count"] == "3"


def test_edit_and_refusals_write_nothing(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    made = add_customer(client, book.member_headers, book.member, "13800000021", name="甲", tags=["a"])
    path = f"/api/v1/customers/{made['id']}"
    edited = client.patch(
        path, json={"job": "教师", "tags": None, "spending_power": "mid"}, headers=book.member_headers
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["job"], edited.json()["tags"], edited.json()["spending_power"]) == (
        "教师",
        [],
        "mid",
    )
    before = row_counts(factory)
    tomorrow = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    for body, code in (
        ({"birthday": tomorrow}, "invalid_birthday"),
        ({"spending_power": "rich"}, "validation_error"),
        ({"customer_ref": "x"}, "validation_error"),
    ):
        refused = client.patch(path, json=body, headers=book.member_headers)
        assert (refused.status_code, refused.json()["code"]) == (422, code)
        assert str(body.get("birthday", "-")) not in refused.text  # a birthday is never repeated
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    refused = client.post(
        f"/api/v1/members/{book.member}/customers",
        json={"customer_ref": "13800000022", "consent": {"marketing": True, "at": future}},
        headers=book.member_headers,
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "time_in_future")
    assert row_counts(factory) == before


def test_consent_grant_withdraw_and_history(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    h = book.member_headers
    refused = {"marketing": False, "source": "store_form", "at": "2026-02-20T10:00:00+08:00"}
    made = add_customer(client, h, book.member, "13800000031", consent=refused)
    path = f"/api/v1/customers/{made['id']}/consents"
    assert client.get(path, headers=h).json()["marketing"] is False
    before = row_counts(factory)
    nothing = client.post(f"{path}/withdrawal", json={}, headers=h)
    assert (nothing.status_code, nothing.json()["code"]) == (409, "no_consent")
    assert row_counts(factory) == before
    granted = client.post(path, json={"at": "2026-03-01T10:00:00+08:00", "source": "wechat_chat"}, headers=h)
    assert granted.status_code == 201, granted.text
    assert granted.json()["marketing"] is True
    early = client.post(f"{path}/withdrawal", json={"at": "2026-02-01T10:00:00+08:00"}, headers=h)
    assert (early.status_code, early.json()["code"]) == (422, "withdrawal_before_consent")
    withdrawn = client.post(f"{path}/withdrawal", json={"at": "2026-03-05T10:00:00+08:00"}, headers=h)
    assert withdrawn.status_code == 200, withdrawn.text
    body = withdrawn.json()
    assert body["marketing"] is False
    assert [(c["granted"], c["source"], c["withdrawn_at"]) for c in body["history"]] == [
        (True, "wechat_chat", "2026-03-05T02:00:00Z"),
        (False, "store_form", None),
    ]
    listed_consent = client.get(f"/api/v1/members/{book.member}/customers", headers=h).json()[0]
    assert listed_consent["marketing_consent"] is False
