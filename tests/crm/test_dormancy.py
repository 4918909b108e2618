"""One definition of dormancy: the customer book's filter and the push report's dormant customers
answer the same customers on the same world, read from the program's orders and touches as they
stand, whatever the stored last-purchase and last-click times say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TokenMaker
from tests.crm.builders import add_customer, add_order, build, set_times
from tests.offers.factories import product


def test_the_book_and_the_push_report_agree_on_who_is_dormant(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    h, m = book.member_headers, book.member
    now = datetime.now(UTC)
    product(client, operator, "DORMANT-SKU", 1000)
    names = {
        "new": "13800000021",  # entered the book today
        "silent": "13800000022",  # in the book for 90 days, never seen since
        "stale": "13800000023",  # the stored time says 5 days, no order is there
        "bought": "13800000024",  # bought 5 days ago; not derived yet
        "long_ago": "13800000025",  # bought 60 days ago
    }
    ids = {name: add_customer(client, h, m, ref, name=name)["id"] for name, ref in names.items()}
    for name in ("silent", "stale", "bought", "long_ago"):
        set_times(factory, ids[name], created_at=now - timedelta(days=90))
    set_times(factory, ids["stale"], last_purchase_at=now - timedelta(days=5), last_click_at=now)
    add_order(
        client, operator, book.program_id, names["bought"], paid_at=now - timedelta(days=5), sku="DORMANT-SKU"
    )
    add_order(
        client,
        operator,
        book.program_id,
        names["long_ago"],
        paid_at=now - timedelta(days=60),
        sku="DORMANT-SKU",
    )

    in_book = client.get(f"/api/v1/members/{m}/customers?dormant_days=30", headers=h)
    assert in_book.status_code == 200, in_book.text
    report = client.get(f"/api/v1/programs/{book.program_id}/crm/dormant-customers?days=30", headers=operator)
    assert report.status_code == 200, report.text
    dormant = [ids["silent"], ids["stale"], ids["long_ago"]]
    assert [c["id"] for c in in_book.json()] == dormant
    assert [c["id"] for c in report.json()] == dormant
