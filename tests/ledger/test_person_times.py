"""A person's time where money moves is never dated ahead of the server's clock, whatever the clock skew.

The skew (``NEIGOU_CLOCK_SKEW_SECONDS``, here a day, the most it may be) is for other systems' clocks:
a withdrawal's ``at``, a settlement's ``as_of``, a payment's ``at`` or a consent's ``at`` within it
counts as now (``MoneyClock.until_now``). A member who dated a withdrawal a day ahead held up the whole
payout batch it landed in (``payout_before_request`` for everyone, and a batched withdrawal cannot be
rejected), and a settlement dated ahead released frozen commission early.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.errors import ProblemError
from neigou.kit.settings import Settings
from neigou.ledger import payouts, withdrawals
from neigou.ledger.models import Entry, Withdrawal
from neigou.orders import settlement
from neigou.programs.models import Member, Program
from tests.conftest import TEST_ACTOR, TokenMaker, bearer
from tests.crm.builders import add_customer
from tests.crm.builders import build as crm_build
from tests.ledger.test_withdrawals import _earn
from tests.orders.builders import SKU, balance, build, order_body, post_order

DAY = 86_400


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The largest clock skew the settings allow: a day."""
    return settings.model_copy(update={"clock_skew_seconds": DAY})


def _batch(client: TestClient, operator: dict[str, str], program_id: int, withdrawal_ids: list[int]) -> int:
    for withdrawal_id in withdrawal_ids:
        approved = client.post(f"/api/v1/withdrawals/{withdrawal_id}/approve", headers=operator)
        assert approved.status_code == 200, approved.text
    batch = client.post(f"/api/v1/programs/{program_id}/payout-batches", headers=operator)
    assert batch.status_code == 201, batch.text
    return int(batch.json()["id"])


def test_a_withdrawal_dated_ahead_is_dated_now_and_cannot_hold_up_its_batch(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    """The reviewer's case: a member dates their withdrawal 23 hours ahead, the operator approves and
    batches it with another member's; the batch is paid now, for everyone."""
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)  # the seller and the owner each have commission available
    path = "/api/v1/members/{}/withdrawals"
    ahead = utcnow() + timedelta(hours=23)
    dated = client.post(
        path.format(w.seller),
        json={"amount_fen": 100, "request_id": "x", "at": ahead.isoformat()},
        headers=bearer(make_token(Role.MEMBER, w.seller)),
    )
    assert dated.status_code == 201, dated.text
    assert datetime.fromisoformat(dated.json()["requested_at"]) <= utcnow()
    other = client.post(
        path.format(w.owner),
        json={"amount_fen": 100, "request_id": "y"},
        headers=bearer(make_token(Role.MEMBER, w.owner)),
    )
    assert other.status_code == 201, other.text
    batch_id = _batch(client, operator, w.program_id, [dated.json()["id"], other.json()["id"]])
    with factory() as session:
        for row in session.scalars(select(Withdrawal).where(Withdrawal.batch_id == batch_id)):
            assert row.decided_at is not None
            assert row.requested_at <= row.decided_at
        assert max(session.scalars(select(Entry.at))) <= utcnow()
    paid = client.post(f"/api/v1/payout-batches/{batch_id}/paid", headers=operator)
    assert paid.status_code == 200, paid.text
    assert paid.json()["held_withdrawal_ids"] == []


def test_a_batch_with_a_request_stored_dated_ahead_is_paid_now(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    """A request stored dated ahead before the rule (up to a day) counts as requested when it was
    approved: the API's and the console's payment (``pay_batch`` at now) are not refused."""
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)
    made = client.post(
        f"/api/v1/members/{w.seller}/withdrawals",
        json={"amount_fen": 100, "request_id": "x"},
        headers=bearer(make_token(Role.MEMBER, w.seller)),
    )
    assert made.status_code == 201, made.text
    with transaction(factory) as session:
        session.execute(
            update(Withdrawal)
            .where(Withdrawal.id == made.json()["id"])
            .values(requested_at=utcnow() + timedelta(hours=23))
        )
    batch_id = _batch(client, operator, w.program_id, [made.json()["id"]])
    with transaction(factory) as session:  # the console's mark-paid
        paid = payouts.pay_batch(session, batch_id=batch_id, actor=TEST_ACTOR, at=utcnow())
        assert paid.batch.paid_at is not None
    again = client.post(f"/api/v1/payout-batches/{batch_id}/paid", headers=operator)
    assert again.status_code == 200, again.text


def test_a_payment_dated_ahead_is_dated_now(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)
    made = client.post(
        f"/api/v1/members/{w.seller}/withdrawals",
        json={"amount_fen": 100, "request_id": "x"},
        headers=bearer(make_token(Role.MEMBER, w.seller)),
    )
    batch_id = _batch(client, operator, w.program_id, [made.json()["id"]])
    ahead = utcnow() + timedelta(hours=23)
    paid = client.post(
        f"/api/v1/payout-batches/{batch_id}/paid", json={"at": ahead.isoformat()}, headers=operator
    )
    assert paid.status_code == 200, paid.text
    assert datetime.fromisoformat(paid.json()["paid_at"]) <= utcnow()
    with factory() as session:
        assert max(session.scalars(select(Entry.at))) <= utcnow()


def test_a_settlement_dated_ahead_is_as_of_now_and_releases_nothing_early(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    """An order whose freeze ends in an hour stays frozen under a settlement dated 23 hours ahead, the
    release is dated now, and a withdrawal dated now is not refused ``withdrawal_before_available``."""
    w = build(client, operator, factory, max_levels=2)
    with factory() as session:
        program = session.get(Program, w.program_id)
        assert program is not None
        freeze = timedelta(days=program.freeze_days)
    now = utcnow()
    _earn(client, operator, w)  # some commission released long ago
    post_order(
        client, operator, order_body(w, "E-soon", (SKU, 1, 100_000), at=now - freeze - timedelta(days=1))
    )
    completed_at = now - freeze + timedelta(hours=1)
    done = client.post(
        "/api/v1/orders/E-soon/complete", json={"at": completed_at.isoformat()}, headers=operator
    )
    assert done.status_code == 200, done.text
    before = balance(client, operator, w.seller)
    ahead = now + timedelta(hours=23)
    settled = client.post(
        f"/api/v1/programs/{w.program_id}/settlements", json={"as_of": ahead.isoformat()}, headers=operator
    )
    assert settled.status_code == 201, settled.text
    assert datetime.fromisoformat(settled.json()["as_of"]) <= utcnow()
    assert settled.json()["orders"] == 0
    assert balance(client, operator, w.seller) == before
    with factory() as session:
        assert max(session.scalars(select(Entry.at))) <= utcnow()
    made = client.post(
        f"/api/v1/members/{w.seller}/withdrawals",
        json={"amount_fen": 100, "request_id": "x", "at": utcnow().isoformat()},
        headers=bearer(make_token(Role.MEMBER, w.seller)),
    )
    assert made.status_code == 201, made.text


def test_a_request_is_never_dated_after_a_release_stored_ahead(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """The workspace's request (the server's now, caught up to a release within the skew): a release
    stored dated ahead (before the rule) is not followed into the future; the request is refused
    ``withdrawal_before_available`` until that moment, and nothing is dated ahead."""
    w = build(client, operator, factory, max_levels=2)
    post_order(client, operator, order_body(w, "E-1", (SKU, 1, 100_000), at=utcnow() - timedelta(days=400)))
    done = client.post(
        "/api/v1/orders/E-1/complete",
        json={"at": (utcnow() - timedelta(days=399)).isoformat()},
        headers=operator,
    )
    assert done.status_code == 200, done.text
    with transaction(factory) as session:
        program = session.get(Program, w.program_id)
        assert program is not None
        settlement.settle(
            session, program=program, as_of=utcnow() + timedelta(hours=1), actor=TEST_ACTOR, now=utcnow()
        )
    with transaction(factory) as session:
        member = session.get(Member, w.seller)
        assert member is not None
        with pytest.raises(ProblemError) as refused:
            withdrawals.request(
                session,
                member=member,
                amount_fen=100,
                request_id="x",
                actor=TEST_ACTOR,
                at=utcnow(),
                catch_up=timedelta(seconds=DAY),
            )
        assert refused.value.code == "withdrawal_before_available"


def test_a_consent_dated_ahead_is_dated_now_and_can_be_withdrawn_at_once(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    """A consent a member dates 23 hours ahead would have refused its withdrawal now
    (``withdrawal_before_consent``) until then: it is dated now, and withdrawn at once."""
    book = crm_build(client, operator, make_token)
    h = book.member_headers
    made = add_customer(client, h, book.member, "13800000041")
    path = f"/api/v1/customers/{made['id']}/consents"
    ahead = (utcnow() + timedelta(hours=23)).isoformat()
    granted = client.post(path, json={"at": ahead, "source": "wechat_chat"}, headers=h)
    assert granted.status_code == 201, granted.text
    assert all(datetime.fromisoformat(c["at"]) <= utcnow() for c in granted.json()["history"])
    withdrawn = client.post(f"{path}/withdrawal", json={}, headers=h)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["marketing"] is False
