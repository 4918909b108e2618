"""Tier changes made between a period's end and its evaluation: the run leaves the member alone, and
changes that price orders are dated the clock skew ahead, so an order's rate depends only on its
``paid_at`` whether it was taken before the change or after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit import jobs
from neigou.tiers.jobs import EVALUATE_JOB, evaluation_key
from neigou.tiers.manual import override_tier
from tests.sign_in import console_sign_in
from tests.suite import TEST_ACTOR
from tests.tiers.builders import (
    APRIL_FIRST,
    SHANGHAI,
    build,
    current_tier,
    recruit,
    sell,
    seller_commission,
    tiers_of,
)

SKEW = timedelta(minutes=5)
LADDER: list[dict[str, Any]] = [
    {"code": "newbie", "name": "新人", "rank": 0, "share_bp": 1000, "override_bp": 0},
    {"code": "super_member", "name": "超级会员", "rank": 1, "share_bp": 2000, "override_bp": 500},
    {
        "code": "mentor",
        "name": "导师",
        "rank": 2,
        "share_bp": 3000,
        "override_bp": 1000,
        "upgrade": {"period": "month", "all": [{"metric": "direct_recruits", "gte": 1}]},
    },
]


def test_an_override_before_the_run_is_not_undone(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], jobs_runner: jobs.JobRunner
) -> None:
    """The seller recruits in March and earns mentor; at 01:00 on 1 April the operator demotes them to
    newbie. The scheduler's 02:23 run leaves them out: they stay newbie, with no upgrade recorded."""
    w = build(client, operator, factory, tiers=LADDER)
    recruit(client, operator, w, 1)
    demoted_at = datetime(2026, 4, 1, 1, 0, tzinfo=SHANGHAI)
    with factory() as session:
        override_tier(
            session, member_id=w.seller, tier_code="newbie", note="fraud", actor=TEST_ACTOR, at=demoted_at
        )
        session.commit()
    run_at = datetime(2026, 4, 1, 2, 23, tzinfo=SHANGHAI)
    assert jobs_runner.run(
        EVALUATE_JOB,
        key=evaluation_key(w.program_id, "2026-03"),
        payload={"program_id": w.program_id, "period": "2026-03"},
        at=run_at,
    )
    assert current_tier(factory, w.seller) == "newbie"
    assert [t for _, t, _ in tiers_of(factory, w.seller)][-1] == "newbie"
    stored = client.get(f"/api/v1/programs/{w.program_id}/tier-evaluations/2026-03", headers=operator)
    assert stored.status_code == 200, stored.text
    assert stored.json()["changes"] == []
    assert stored.json()["left_out"] == [w.seller]
    console_sign_in(client, factory)
    page = client.get(f"/console/programs/{w.program_id}/tier-evaluations?period=2026-03")
    assert page.status_code == 200
    assert "1 位成员未参与本次评定：月末之后其等级已被调整。" in page.text
    assert f"#{w.seller}" in page.text.split('data-testid="left-out"')[1].split("</p>")[0]


def test_an_order_paid_within_the_skew_keeps_its_rate_across_an_override(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """An order taken before the override, paid four minutes ahead of it, and its twin taken after the
    override pay the same rate: the override takes effect the clock skew after it is made."""
    w = build(client, operator, factory, tiers=LADDER)
    now = datetime.now(UTC)
    paid = now + timedelta(minutes=4)
    before = sell(client, operator, w, 1, at=paid, prefix="BEFORE")
    response = client.put(
        f"/api/v1/members/{w.seller}/tier", json={"tier": "mentor", "reason": "star"}, headers=operator
    )
    assert response.status_code == 200, response.text
    effective = datetime.fromisoformat(response.json()["effective_from"])
    assert now + SKEW <= effective <= datetime.now(UTC) + SKEW
    after = sell(client, operator, w, 1, at=paid, prefix="AFTER")
    assert [seller_commission(o[0], w.seller) for o in (before, after)] == [400, 400]


def test_an_order_paid_within_the_skew_keeps_its_rate_across_a_run(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], jobs_runner: jobs.JobRunner
) -> None:
    """The same for an evaluation run: the run's changes take effect the clock skew after it."""
    w = build(client, operator, factory, tiers=LADDER)
    recruit(client, operator, w, 1)
    run_at = datetime(2026, 4, 1, 2, 23, tzinfo=SHANGHAI)
    paid = run_at + timedelta(minutes=4)
    before = sell(client, operator, w, 1, at=paid, prefix="BEFORE")
    assert jobs_runner.run(
        EVALUATE_JOB,
        key=evaluation_key(w.program_id, "2026-03"),
        payload={"program_id": w.program_id, "period": "2026-03"},
        at=run_at,
    )
    after = sell(client, operator, w, 1, at=paid, prefix="AFTER")
    later = sell(client, operator, w, 1, at=run_at + SKEW, prefix="LATER")
    assert [seller_commission(o[0], w.seller) for o in (before, after, later)] == [400, 400, 600]
    assert tiers_of(factory, w.seller)[-1] == (run_at + SKEW, "mentor", "evaluation 2026-03: upgrade")
    assert run_at > APRIL_FIRST
