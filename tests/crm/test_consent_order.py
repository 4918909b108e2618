"""A customer's latest "no" stands against any consent given before it (PIPL): a grant dated at or before
the latest withdrawal or refusal is refused by the API (422 ``consent_predates_withdrawal``) and skipped
by capture (an order paid before the withdrawal that arrives after it); every reader takes the newest
decision by when it was taken, then by record."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import push_queries
from neigou.crm import repository as repo
from neigou.crm.models import Consent, ConsentPurpose
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from tests.conftest import TokenMaker, row_counts
from tests.crm.builders import add_customer, build
from tests.orders import builders as orders


def _customers(client: TestClient, operator: dict[str, str], member_id: int) -> list[dict[str, object]]:
    response = client.get(f"/api/v1/members/{member_id}/customers", headers=operator)
    assert response.status_code == 200, response.text
    out: list[dict[str, object]] = response.json()
    return out


def test_a_late_order_dated_before_the_withdrawal_grants_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    now = utcnow()

    def order(external_id: str, paid: timedelta, consented: timedelta) -> None:
        body = orders.order_body(world, external_id, customer="13800000091", at=now - paid)
        consent = {"marketing": True, "at": (now - consented).isoformat()}
        orders.post_order(client, operator, {**body, "consent": consent})

    order("late-1", timedelta(hours=5), timedelta(hours=5, minutes=5))  # the grant that stands
    [customer] = _customers(client, operator, world.seller)
    path = f"/api/v1/customers/{customer['id']}/consents"
    withdrawn = client.post(
        f"{path}/withdrawal", json={"at": (now - timedelta(hours=1)).isoformat()}, headers=operator
    )
    assert withdrawn.status_code == 200, withdrawn.text
    # An order paid an hour before the withdrawal, with its consent 5 minutes before that, arrives now.
    before = row_counts(factory)
    order("late-2", timedelta(hours=2), timedelta(hours=2, minutes=5))
    assert row_counts(factory)["customer_consents"] == before["customer_consents"]
    assert _customers(client, operator, world.seller)[0]["marketing_consent"] is False
    with factory() as session:
        assert push_queries.consenting(session, [int(str(customer["id"]))]) == set()
    # A checkout after the withdrawal is a new decision: it counts.
    order("late-3", timedelta(minutes=10), timedelta(minutes=11))
    assert _customers(client, operator, world.seller)[0]["marketing_consent"] is True


def test_the_api_refuses_a_grant_dated_at_or_before_the_latest_no(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    h = book.member_headers
    refused_at = "2026-03-01T10:00:00+08:00"
    made = add_customer(client, h, book.member, "13800000092", consent={"marketing": False, "at": refused_at})
    path = f"/api/v1/customers/{made['id']}/consents"
    before = row_counts(factory)
    for at in ("2026-03-01T09:00:00+08:00", refused_at):
        old = client.post(path, json={"at": at}, headers={**h, "Accept-Language": "zh-CN"})
        assert (old.status_code, old.json()["code"]) == (422, "consent_predates_withdrawal"), old.text
        assert "撤回或拒绝" in old.json()["detail"]
        assert at not in old.text
    assert row_counts(factory) == before
    granted = client.post(path, json={"at": "2026-03-02T10:00:00+08:00"}, headers=h)
    assert granted.status_code == 201, granted.text
    withdrawn = client.post(f"{path}/withdrawal", json={"at": "2026-03-05T10:00:00+08:00"}, headers=h)
    assert withdrawn.status_code == 200, withdrawn.text
    between = client.post(path, json={"at": "2026-03-04T10:00:00+08:00"}, headers=h)
    assert (between.status_code, between.json()["code"]) == (422, "consent_predates_withdrawal")
    again = client.post(path, json={"at": "2026-03-06T10:00:00+08:00"}, headers=h)
    assert again.status_code == 201, again.text
    assert again.json()["marketing"] is True
    assert [c["at"] for c in again.json()["history"]] == [
        "2026-03-06T02:00:00Z",
        "2026-03-02T02:00:00Z",
        "2026-03-01T02:00:00Z",
    ]


def test_every_reader_takes_the_newest_decision_by_when_it_was_taken(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    """A grant recorded after a refusal but taken before it (as capture could record one before) is
    not the customer's current decision anywhere."""
    book = build(client, operator, make_token)
    made = add_customer(
        client,
        book.member_headers,
        book.member,
        "13800000093",
        consent={"marketing": False, "at": "2026-03-01T10:00:00+08:00"},
    )
    customer_id = int(made["id"])
    with transaction(factory) as session:
        refusal = repo.current_consent(session, customer_id, ConsentPurpose.MARKETING)
        assert refusal is not None
        session.add(
            Consent(
                program_id=book.program_id,
                customer_id=customer_id,
                purpose=ConsentPurpose.MARKETING,
                granted=True,
                at=refusal.at - timedelta(hours=1),
                source="order",
                recorded_at=refusal.recorded_at + timedelta(hours=1),
            )
        )
    with factory() as session:
        assert repo.marketing_consents(session, [customer_id]) == {customer_id: False}
        assert push_queries.consenting(session, [customer_id]) == set()
        current = repo.current_consent(session, customer_id, ConsentPurpose.MARKETING)
        assert current is not None
        assert current.granted is False
        assert [c.granted for c in repo.consent_history(session, customer_id)] == [False, True]
    shown = client.get(f"/api/v1/customers/{customer_id}/consents", headers=book.member_headers).json()
    assert shown["marketing"] is False
