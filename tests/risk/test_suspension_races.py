"""Two open cases of one member confirmed with a suspension at the same time, on two connections
(both databases): the second confirmation finds the suspension the first made (on PostgreSQL it waits
for the first's commit at the member's key) and keeps it, so both cases end confirmed and suspended,
the member has one suspension, and each decision is audited once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.kit.clock import utcnow
from neigou.risk import review
from neigou.risk.models import CaseStatus, RiskCase, Suspension
from tests.conftest import TEST_ACTOR
from tests.lock_waits import lock_waits, two_sides
from tests.orders import builders as orders
from tests.risk.builders import brush, cases, resolve


def _two_open_cases(client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]) -> Any:
    """The seller's brushing case and the case of a group count of theirs held as implausible."""
    world = orders.build(client, operator, factory)
    brush(client, operator, world, 10)
    group = client.post(
        "/api/v1/groups",
        json={"name": "虚报群", "platform": "wechat", "owner_member_id": world.seller},
        headers=operator,
    ).json()
    for count, day in ((300, 23), (340, 24), (420, 25)):
        response = client.post(
            f"/api/v1/groups/{group['id']}/counts",
            json={"member_count": count, "observed_at": f"2026-03-{day}T20:00:00+08:00"},
            headers=operator,
        )
        assert response.status_code == 201, response.text
    scan = client.post(
        f"/api/v1/programs/{world.program_id}/risk/scan", json={"rules": ["padded_group"]}, headers=operator
    )
    assert scan.status_code == 200, scan.text
    found = [c for c in cases(client, operator, world.program_id, "open") if c["member_id"] == world.seller]
    assert len({c["rule"] for c in found}) == 2, found
    return world, found[:2]


def test_parallel_confirmations_of_one_members_cases_share_one_suspension(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world, (one, other) = _two_open_cases(client, operator, factory)
    waits = lock_waits(factory, 2)

    def confirm(case_id: int, hold: bool) -> Callable[[Session], bool]:
        def work(session: Session) -> bool:
            case = review.resolve(
                session,
                case_id=case_id,
                decision="confirm",
                note=None,
                suspend=True,
                actor=TEST_ACTOR,
                at=utcnow(),
            )
            if hold:
                waits.hold()  # its suspension made, its transaction open
            return case.suspended

        return work

    assert two_sides(factory, confirm(one["id"], True), confirm(other["id"], False), waits) == (True, True)
    with factory() as session:
        rows = session.scalars(select(RiskCase).where(RiskCase.id.in_([one["id"], other["id"]]))).all()
        assert {(c.status, c.suspended) for c in rows} == {(CaseStatus.CONFIRMED, True)}
        [suspension] = session.scalars(select(Suspension).where(Suspension.member_id == world.seller)).all()
        assert suspension.case_id == one["id"]
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "risk.confirm").order_by(AuditEntry.entity_id)
        ).all()
    assert sorted(int(a.entity_id) for a in audited) == sorted([one["id"], other["id"]])
    assert all(a.after is not None and a.after["suspended"] for a in audited)
    assert all(a.before is not None and a.before["status"] == "open" for a in audited)


def test_confirming_a_suspended_members_other_case_keeps_the_suspension(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world, (one, other) = _two_open_cases(client, operator, factory)
    assert resolve(client, operator, one["id"], "confirm", suspend=True).json()["suspended"] is True
    second = resolve(client, operator, other["id"], "confirm", suspend=True)
    assert second.status_code == 200, second.text
    assert (second.json()["status"], second.json()["suspended"]) == ("confirmed", True)
    with factory() as session:
        [suspension] = session.scalars(select(Suspension).where(Suspension.member_id == world.seller)).all()
    assert suspension.case_id == one["id"]
