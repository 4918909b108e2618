"""A payout batch is paid no earlier than its withdrawals were requested (``payout_before_request``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.conftest import TokenMaker, bearer, row_counts
from tests.ledger.test_withdrawals import _earn
from tests.orders.builders import build


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
    paid = client.post(path, json={"at": requested.isoformat()}, headers=operator)
    assert paid.status_code == 200, paid.text
    assert paid.json()["paid_at"] is not None
