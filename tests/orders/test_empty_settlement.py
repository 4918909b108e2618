"""A settlement with nothing to release posts nothing to the ledger (no posting without entries), and
is still recorded and answered clearly: the API's 201 with its id and zero counts, the console's notice
that nothing was due; orders that earned nothing are released all the same."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.ledger import service as ledger
from neigou.ledger.service import Draft
from neigou.orders import settlement
from neigou.orders.models import CommissionState, Order
from tests.conftest import row_counts
from tests.orders.builders import PAID_AT, assert_ledger_balanced, build, order_body, post_order, settle
from tests.sign_in import console_sign_in

LEDGER = ("ledger_postings", "ledger_entries")


def _changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {table: after[table] - before[table] for table in after if after[table] != before[table]}


def test_a_settlement_with_nothing_to_release_is_recorded_without_a_posting(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A guard of what is stored (the ledger's writer drops a posting without legs as well; what
    ``settle`` hands it is the next test's)."""
    w = build(client, operator, factory)
    post_order(client, operator, order_body(w, "FROZEN-LATER"))  # paid, never completed: not due
    before = row_counts(factory)
    first = settle(client, operator, w.program_id, PAID_AT + timedelta(days=30))
    assert (first["program_id"], first["orders"], first["released_fen"]) == (w.program_id, 0, 0)
    assert _changed(before, row_counts(factory)) == {"settlements": 1, "audit_entries": 1}
    again = settle(client, operator, w.program_id, PAID_AT + timedelta(days=31))
    assert again["id"] != first["id"]
    assert (again["orders"], again["released_fen"]) == (0, 0)
    assert all(row_counts(factory)[t] == before[t] for t in LEDGER)
    assert_ledger_balanced(factory)


def test_orders_that_earned_nothing_are_released_without_a_posting(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A ¥0 order earns no commission: its settlement releases the order (it points to the settlement)
    and moves no money."""
    w = build(client, operator, factory)
    post_order(client, operator, order_body(w, "FREE-1", ("LQ-SHAMPOO", 1, 0)))
    done = client.post("/api/v1/orders/FREE-1/complete", json={"at": PAID_AT.isoformat()}, headers=operator)
    assert done.status_code == 200, done.text
    before = row_counts(factory)
    row = settle(client, operator, w.program_id, PAID_AT + timedelta(days=30))
    assert (row["orders"], row["released_fen"]) == (1, 0)
    assert all(row_counts(factory)[t] == before[t] for t in LEDGER)
    with factory() as session:
        order = session.scalars(select(Order).where(Order.external_id == "FREE-1")).one()
        assert (order.commission_state, order.settlement_id) == (CommissionState.AVAILABLE, row["id"])
    assert_ledger_balanced(factory)


def test_settle_hands_the_ledger_no_empty_posting(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``settle`` itself drafts no posting when nothing moves (it never relies on the ledger's writer
    to drop one); a settlement that releases money posts once, with entries."""
    w = build(client, operator, factory)
    drafted: list[Draft] = []

    def post(session: Session, posting: Draft) -> bool:
        drafted.append(posting)
        return ledger.post(session, posting)

    monkeypatch.setattr(settlement, "post", post)
    settle(client, operator, w.program_id, PAID_AT + timedelta(days=30))
    assert drafted == []
    post_order(client, operator, order_body(w, "PAYS-1"))
    client.post("/api/v1/orders/PAYS-1/complete", json={"at": PAID_AT.isoformat()}, headers=operator)
    released = settle(client, operator, w.program_id, PAID_AT + timedelta(days=30))
    assert released["released_fen"] > 0
    assert [bool(d.legs) for d in drafted] == [True]
    assert_ledger_balanced(factory)


def test_the_console_says_when_nothing_was_due(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    console_sign_in(client, factory)
    page = client.get(f"/console/orders?program_id={w.program_id}&lang=en")
    token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
    assert token is not None
    sent = client.post(
        f"/console/programs/{w.program_id}/settle", data={"csrftoken": token[1]}, follow_redirects=False
    )
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == f"/console/orders?program_id={w.program_id}&settled=0:0"
    for lang, said in (
        ("en", "Nothing to settle: no order was due for release."),
        ("zh-CN", "没有可结算的订单"),
    ):
        shown = client.get(f"{sent.headers['location']}&lang={lang}")
        assert shown.status_code == 200
        notice = re.search(r'data-testid="settled">([^<]*)<', shown.text)
        assert notice is not None, lang
        assert said in notice[1], lang
        assert "Settled 0 orders" not in shown.text
        assert "已结算 0 笔" not in shown.text
