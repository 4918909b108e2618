"""A withdrawal requested while the member sets their payee account on another connection never ends
up without the account: both take the member's wallet lock first, so whichever commits second sees the
other's work (the request copies the account committed before it, the account fills the request
committed before it). Each side holds, its work done and uncommitted, until the other waits for its
lock or ran to its end (``tests.lock_waits``): without the shared lock the other ran beside it and the
withdrawal was left with no account copy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.sealed import Sealer
from neigou.ledger import payees, withdrawals
from neigou.ledger.models import Withdrawal
from neigou.ledger.payee_rules import PayeeKind
from neigou.programs.models import Member
from tests.conftest import TEST_ACTOR
from tests.lock_waits import lock_waits, paused, two_sides
from tests.orders.builders import settled_world

ACCOUNT, MASKED = "13912345678", "139****5678"


@pytest.mark.postgres_only
@pytest.mark.parametrize("first", ["request", "payee"])
def test_a_request_and_a_payee_set_at_once_leave_the_withdrawal_with_the_account(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], *, first: str
) -> None:
    w, _order = settled_world(client, operator, factory)
    sealer = Sealer.from_settings(client.app.state.settings)  # type: ignore[attr-defined]
    waits = lock_waits(factory, 2)
    hold = first

    def side(name: str, work: Callable[..., Any]) -> Callable[..., Any]:
        return paused(work, waits) if name == hold else work

    def ask(session: Session) -> int:
        member = session.get(Member, w.seller)
        assert member is not None
        made, _created = side("request", withdrawals.request)(
            session, member=member, amount_fen=100, request_id="race", actor=TEST_ACTOR, at=utcnow()
        )
        return int(made.id)

    def set_payee(session: Session) -> None:
        member = session.get(Member, w.seller)
        assert member is not None
        side("payee", payees.put_payee)(
            session,
            member=member,
            kind=PayeeKind.ALIPAY,
            account=ACCOUNT,
            holder="李雷",
            sealer=sealer,
            actor=TEST_ACTOR,
            at=utcnow(),
        )

    if first == "request":
        one, other = two_sides(factory, ask, set_payee, waits)
    else:
        one, other = two_sides(factory, set_payee, ask, waits)
    assert not isinstance(one, Exception), one
    assert not isinstance(other, Exception), other
    with factory() as session:
        assert session.scalars(select(Withdrawal.payee_account_masked)).all() == [MASKED]
