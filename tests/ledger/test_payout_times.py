"""A payout batch is paid no earlier than its withdrawals were requested (``payout_before_request``) or
approved (``payout_before_approval``), nor before it was made (``payout_before_batch``), and a withdrawal is requested no earlier than its money became available (``withdrawal_before_available``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.ledger import withdrawals
from tests.conftest import TEST_ACTOR, TokenMaker, bearer, row_counts
from tests.ledger.test_withdrawals import RELEASED, _earn
from tests.orders.builders import PAID_AT, SKU, build, order_body, post_order


def test_a_batch_paid_before_its_withdrawals_were_requested_is_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)  # 4000 available
    member = bearer(make_token(Role.MEMBER, w.seller))
    made = client.post(
        f"/api/v1/members/{w.seller}/withdrawals",
        json={"amount_fen": 3000, "request_id": "w-1"},
        headers=member,
    )
    assert made.status_code == 201, made.text
    requested = datetime.fromisoformat(made.json()["requested_at"])
    approved = client.post(f"/api/v1/withdrawals/{made.json()['id']}/approve", headers=operator)
    assert approved.status_code == 200, approved.text
    batch = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator).json()
    path = f"/api/v1/payout-batches/{batch['id']}/paid"
    early = {"at": (requested - timedelta(days=1)).isoformat()}
    before = row_counts(factory)
    for language, detail in (
        ("en", "A batch cannot be paid before its withdrawals were requested."),
        ("zh-CN", "付款时间早于提现申请时间。"),
    ):
        refused = client.post(path, json=early, headers={**operator, "Accept-Language": language})
        assert (refused.status_code, refused.json()["code"]) == (422, "payout_before_request"), refused.text
        assert refused.json()["detail"] == detail
    assert row_counts(factory) == before
    paid = client.post(path, json={"at": batch["created_at"]}, headers=operator)
    assert paid.status_code == 200, paid.text
    assert paid.json()["paid_at"] is not None


def test_a_batch_paid_before_its_withdrawals_were_approved_or_before_it_was_made_is_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)  # 4000 available as of RELEASED
    member = bearer(make_token(Role.MEMBER, w.seller))
    made = client.post(
        f"/api/v1/members/{w.seller}/withdrawals",
        json={"amount_fen": 3000, "request_id": "w-1", "at": RELEASED.isoformat()},
        headers=member,
    )
    assert made.status_code == 201, made.text
    approved_at = RELEASED + timedelta(days=2)
    with transaction(factory) as session:
        withdrawals.approve(session, withdrawal_id=made.json()["id"], actor=TEST_ACTOR, at=approved_at)
    batch = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator).json()
    created = datetime.fromisoformat(batch["created_at"])
    assert created > approved_at + timedelta(days=1)
    path = f"/api/v1/payout-batches/{batch['id']}/paid"
    before = row_counts(factory)
    for at, code, english, chinese in (
        (
            RELEASED + timedelta(days=1),  # after the request, before the approval
            "payout_before_approval",
            "A batch cannot be paid before its withdrawals were approved.",
            "付款时间早于提现审批时间。",
        ),
        (
            approved_at + timedelta(days=1),  # after the approval, before the batch
            "payout_before_batch",
            "A batch cannot be paid before it was made.",
            "付款时间早于付款批次创建时间。",
        ),
    ):
        for language, detail in (("en", english), ("zh-CN", chinese)):
            refused = client.post(
                path, json={"at": at.isoformat()}, headers={**operator, "Accept-Language": language}
            )
            assert (refused.status_code, refused.json()["code"]) == (422, code), refused.text
            assert refused.json()["detail"] == detail
    assert row_counts(factory) == before
    paid = client.post(path, json={"at": created.isoformat()}, headers=operator)
    assert paid.status_code == 200, paid.text
    assert datetime.fromisoformat(paid.json()["paid_at"]) == created


def test_a_withdrawal_dated_before_its_money_became_available_is_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)  # 4000 available, released as of RELEASED
    member = bearer(make_token(Role.MEMBER, w.seller))
    path = f"/api/v1/members/{w.seller}/withdrawals"
    before = row_counts(factory)
    for at in (RELEASED - timedelta(seconds=1), PAID_AT - timedelta(days=3650)):
        for language, detail in (
            ("en", "A withdrawal cannot be dated before the money it takes became available."),
            ("zh-CN", "提现时间早于所提金额可提现的时间。"),
        ):
            refused = client.post(
                path,
                json={"amount_fen": 3000, "request_id": "w-early", "at": at.isoformat()},
                headers={**member, "Accept-Language": language},
            )
            assert (refused.status_code, refused.json()["code"]) == (
                422,
                "withdrawal_before_available",
            ), refused.text
            assert refused.json()["detail"] == detail
    assert row_counts(factory) == before
    made = client.post(
        path, json={"amount_fen": 3000, "request_id": "w-1", "at": RELEASED.isoformat()}, headers=member
    )
    assert made.status_code == 201, made.text
    assert datetime.fromisoformat(made.json()["requested_at"]) == RELEASED


def test_a_withdrawal_after_a_rejection_is_dated_after_the_money_came_back(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)
    member = bearer(make_token(Role.MEMBER, w.seller))
    path = f"/api/v1/members/{w.seller}/withdrawals"
    first = client.post(
        path, json={"amount_fen": 3000, "request_id": "w-1", "at": RELEASED.isoformat()}, headers=member
    )
    rejected = client.post(
        f"/api/v1/withdrawals/{first.json()['id']}/reject", json={"reason": "no payee"}, headers=operator
    )
    assert rejected.status_code == 200, rejected.text
    returned = datetime.fromisoformat(rejected.json()["decided_at"])
    early = {"amount_fen": 3000, "request_id": "w-2", "at": (returned - timedelta(days=1)).isoformat()}
    refused = client.post(path, json=early, headers=member)
    assert (refused.status_code, refused.json()["code"]) == (422, "withdrawal_before_available"), refused.text
    again = client.post(path, json={**early, "at": returned.isoformat()}, headers=member)
    assert again.status_code == 201, again.text


def test_a_settlement_dated_within_the_skew_ahead_is_as_of_now_and_a_request_after_it_is_not_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    """A settlement dated within the clock skew ahead is dated now (it once was dated ahead, and a request
    naming its time just after it was refused): a request made right after it, with or without a time
    of its own, is dated when it is made."""
    w = build(client, operator, factory, max_levels=2)
    post_order(client, operator, order_body(w, "E-ahead", (SKU, 1, 100_000)))
    completed = client.post(
        "/api/v1/orders/E-ahead/complete", json={"at": PAID_AT.isoformat()}, headers=operator
    )
    assert completed.status_code == 200, completed.text
    ahead = (utcnow() + timedelta(minutes=2)).replace(microsecond=0)
    settled = client.post(
        f"/api/v1/programs/{w.program_id}/settlements", json={"as_of": ahead.isoformat()}, headers=operator
    )
    assert settled.status_code == 201, settled.text
    assert datetime.fromisoformat(settled.json()["as_of"]) <= utcnow()
    member = bearer(make_token(Role.MEMBER, w.seller))
    path = f"/api/v1/members/{w.seller}/withdrawals"
    named = client.post(
        path, json={"amount_fen": 1000, "request_id": "w-named", "at": utcnow().isoformat()}, headers=member
    )
    assert named.status_code == 201, named.text
    made = client.post(path, json={"amount_fen": 1000, "request_id": "w-now"}, headers=member)
    assert made.status_code == 201, made.text
    assert datetime.fromisoformat(made.json()["requested_at"]) <= utcnow()
