"""Monthly tier evaluation through the API: the canonical promotion, boundaries, refunds, dry runs,
idempotency, refusals, overrides, progress and the scheduled job (keep rules: ``test_keep_rules_api.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.kit import jobs
from neigou.kit.clock import utcnow
from neigou.tiers import endpoints as tier_endpoints
from neigou.tiers.jobs import TICK_JOB, evaluation_key
from neigou.tiers.models import TierEvaluation
from tests.conftest import row_counts
from tests.factories import PARTNER_TIERS
from tests.tiers.builders import (
    APRIL_FIRST,
    MID_MARCH,
    SHANGHAI,
    build,
    current_tier,
    evaluate,
    recruit,
    sell,
    seller_commission,
    tiers_of,
)

APRIL_START_UTC = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)


def test_march_evaluation_promotes_a_super_member_to_mentor_from_the_run(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    recruits = recruit(client, operator, w, 3)
    march = sell(client, operator, w, 10)
    assert [seller_commission(o, w.seller) for o in march] == [400] * 10  # pool 2000 × 20%

    before = utcnow()
    result = evaluate(client, operator, w, "2026-03")
    ran = datetime.fromisoformat(result["effective_from"])

    assert result["period"] == "2026-03"
    assert result["dry_run"] is False
    assert result["already_evaluated"] is False
    assert result["members_evaluated"] == 4
    # Run months after April began: the change takes effect when it runs (plus the clock skew), not
    # back on 1 April.
    skew = timedelta(minutes=5)
    assert before + skew <= ran <= utcnow() + skew
    assert datetime.fromisoformat(result["ran_at"]) == ran - skew
    assert len(result["changes"]) == 1
    change = result["changes"][0]
    assert (change["member_id"], change["from"], change["to"], change["kind"]) == (
        w.seller,
        "super_member",
        "mentor",
        "upgrade",
    )
    assert [(r["code"], r["metric"], r["tier"], r["actual"], r["required"]) for r in change["reasons"]] == [
        ("upgrade_condition_met", "direct_recruits", "super_member", 3, 3),
        ("upgrade_condition_met", "orders", None, 10, 10),
    ]
    assert change["reasons"][0]["zh"] == "直推超级会员及以上 3 人（要求 3 人）。"
    assert change["reasons"][1]["en"] == "Orders: 10 (needs 10)."
    assert tiers_of(factory, w.seller)[-1] == (ran, "mentor", "evaluation 2026-03: upgrade")
    assert current_tier(factory, w.seller) == "mentor"
    assert all(current_tier(factory, r) == "super_member" for r in recruits)

    late_march = sell(
        client, operator, w, 1, at=datetime(2026, 3, 31, 23, 59, 59, tzinfo=SHANGHAI), prefix="L"
    )
    april = sell(client, operator, w, 1, at=APRIL_FIRST, prefix="A")
    after = sell(client, operator, w, 1, at=ran, prefix="N")
    assert seller_commission(late_march[0], w.seller) == 400  # still 20% on the last second of March
    assert seller_commission(april[0], w.seller) == 400  # paid before the run: 20%, whenever reported
    assert seller_commission(after[0], w.seller) == 600  # 30% from the run on
    with factory() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "tier.evaluation.run"))
        assert entry is not None
        assert entry.after == {
            "period": "2026-03",
            "members_evaluated": 4,
            "changes": 1,
            "upgrades": 1,
            "demotions": 0,
            "left_out": 0,
        }


def test_evaluating_twice_changes_nothing_and_returns_the_same_changes(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    recruit(client, operator, w, 3)
    sell(client, operator, w, 10)
    first = evaluate(client, operator, w, "2026-03")
    before = row_counts(factory)
    again = evaluate(client, operator, w, "2026-03", status=200)
    preview = evaluate(client, operator, w, "2026-03", dry_run=True)
    assert row_counts(factory) == before
    assert again["already_evaluated"] is True
    assert again["changes"] == first["changes"]
    assert again["evaluation_id"] == first["evaluation_id"]
    assert preview["changes"] == first["changes"]
    stored = client.get(f"/api/v1/programs/{w.program_id}/tier-evaluations/2026-03", headers=operator)
    assert stored.status_code == 200
    assert stored.json()["changes"] == first["changes"]
    listed = client.get(f"/api/v1/programs/{w.program_id}/tier-evaluations", headers=operator).json()
    assert [(e["period"], e["changes"], e["members_evaluated"]) for e in listed] == [("2026-03", 1, 4)]


def test_dry_run_previews_and_writes_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    recruit(client, operator, w, 3)
    sell(client, operator, w, 10)
    before = row_counts(factory)
    preview = evaluate(client, operator, w, "2026-03", dry_run=True)
    assert row_counts(factory) == before
    assert preview["dry_run"] is True
    assert preview["evaluation_id"] is None
    assert [(c["member_id"], c["to"]) for c in preview["changes"]] == [(w.seller, "mentor")]
    assert current_tier(factory, w.seller) == "super_member"
    real = evaluate(client, operator, w, "2026-03")
    assert real["changes"] == preview["changes"]


def test_thresholds_are_inclusive_and_one_short_is_not_enough(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    recruit(client, operator, w, 3)
    sell(client, operator, w, 9)
    assert evaluate(client, operator, w, "2026-03", dry_run=True)["changes"] == []
    sell(client, operator, w, 1, prefix="TENTH")
    assert [c["to"] for c in evaluate(client, operator, w, "2026-03", dry_run=True)["changes"]] == ["mentor"]


def test_last_second_of_march_counts_for_march_and_midnight_april_does_not(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    recruit(client, operator, w, 3)
    sell(client, operator, w, 9)
    sell(client, operator, w, 1, at=APRIL_FIRST, prefix="APR")
    assert evaluate(client, operator, w, "2026-03", dry_run=True)["changes"] == []
    sell(client, operator, w, 1, at=datetime(2026, 3, 31, 23, 59, 59, tzinfo=SHANGHAI), prefix="LAST")
    assert [c["to"] for c in evaluate(client, operator, w, "2026-03", dry_run=True)["changes"]] == ["mentor"]


def test_recruits_count_only_when_they_joined_in_the_period(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    recruit(client, operator, w, 2)
    recruit(client, operator, w, 1, at=APRIL_FIRST)
    recruit(client, operator, w, 1, at=datetime(2026, 2, 28, 23, 59, 59, tzinfo=SHANGHAI))
    sell(client, operator, w, 10)
    assert evaluate(client, operator, w, "2026-03", dry_run=True)["changes"] == []
    recruit(client, operator, w, 1, at=datetime(2026, 3, 1, 0, 0, tzinfo=SHANGHAI))
    assert [c["to"] for c in evaluate(client, operator, w, "2026-03", dry_run=True)["changes"]] == ["mentor"]


def test_a_full_refund_before_evaluation_drops_the_member_below_the_threshold(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    recruit(client, operator, w, 3)
    orders = sell(client, operator, w, 10)
    partial = client.post(
        f"/api/v1/orders/{orders[0]['external_id']}/refunds",
        json={"refund_id": "R-1", "amount_fen": 5_000, "at": "2026-03-20T10:00:00+08:00"},
        headers=operator,
    )
    assert partial.status_code in {200, 201}, partial.text
    assert [c["to"] for c in evaluate(client, operator, w, "2026-03", dry_run=True)["changes"]] == ["mentor"]
    full = client.post(
        f"/api/v1/orders/{orders[1]['external_id']}/refunds",
        json={"refund_id": "R-2", "amount_fen": 10_000, "at": "2026-04-01T10:00:00+08:00"},
        headers=operator,
    )
    assert full.status_code in {200, 201}, full.text
    assert evaluate(client, operator, w, "2026-03")["changes"] == []
    assert current_tier(factory, w.seller) == "super_member"


def test_gmv_is_net_of_refunds(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    tiers = [
        PARTNER_TIERS[0],
        {**PARTNER_TIERS[1], "upgrade": {"period": "month", "all": [{"metric": "gmv_fen", "gte": 30_000}]}},
    ]
    w = build(client, operator, factory, tiers=tiers)
    orders = sell(client, operator, w, 3)
    refund = client.post(
        f"/api/v1/orders/{orders[0]['external_id']}/refunds",
        json={"refund_id": "R-1", "amount_fen": 1, "at": "2026-03-20T10:00:00+08:00"},
        headers=operator,
    )
    assert refund.status_code in {200, 201}, refund.text
    assert evaluate(client, operator, w, "2026-03", dry_run=True)["changes"] == []
    sell(client, operator, w, 1, paid_fen=1, prefix="TOPUP")
    change = evaluate(client, operator, w, "2026-03")["changes"][0]
    assert change["reasons"][0]["actual"] == 30_000
    assert change["reasons"][0]["zh"] == "成交额 ¥300.00（要求 ¥300.00）。"


def test_bad_periods_are_refused_and_change_nothing(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = build(client, operator, factory)
    before = row_counts(factory)
    path = f"/api/v1/programs/{w.program_id}/tier-evaluations"
    for period, dry_run, status, code in [
        ("2026-13", False, 422, "invalid_period"),
        ("2026/03", True, 422, "invalid_period"),
        ("2999-01", True, 422, "future_period"),
        # the last month of the calendar: refused as the future, never its end computed (a 500)
        ("9999-12", True, 422, "future_period"),
        ("9999-12", False, 422, "future_period"),
        ("２０２６-０３", True, 422, "invalid_period"),
        ("2026-03\n", True, 422, "invalid_period"),
    ]:
        response = client.post(path, json={"period": period, "dry_run": dry_run}, headers=operator)
        assert (response.status_code, response.json()["code"]) == (status, code)
        assert response.headers["content-type"] == "application/problem+json"
    now = datetime.now(SHANGHAI)
    monkeypatch.setattr(tier_endpoints, "utcnow", lambda: now)  # the month it calls current, at its turn too
    current = f"{now.year:04d}-{now.month:02d}"
    response = client.post(path, json={"period": current}, headers=operator)
    assert (response.status_code, response.json()["code"]) == (409, "period_not_over")
    assert client.post(path, json={"period": current, "dry_run": True}, headers=operator).status_code == 200
    missing = client.post(
        "/api/v1/programs/999/tier-evaluations", json={"period": "2026-03"}, headers=operator
    )
    assert missing.status_code == 404
    assert client.get(f"{path}/2026-03", headers=operator).status_code == 404
    assert client.get(f"{path}/9999-12", headers=operator).status_code == 404
    far = client.get(f"{path}/２０２６-０３", headers=operator)
    assert (far.status_code, far.json()["code"]) == (422, "invalid_period")
    assert row_counts(factory) == before
    evaluate(client, operator, w, "2026-03")
    earlier = client.post(path, json={"period": "2026-02"}, headers=operator)
    assert (earlier.status_code, earlier.json()["code"]) == (409, "later_period_evaluated")


def test_operator_override_is_dated_audited_and_pays_from_then(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    path = f"/api/v1/members/{w.seller}/tier"
    unknown = client.put(path, json={"tier": "ghost", "reason": "x"}, headers=operator)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_tier")
    same = client.put(path, json={"tier": "super_member", "reason": "x"}, headers=operator)
    assert (same.status_code, same.json()["code"]) == (409, "tier_unchanged")
    done = client.put(path, json={"tier": "mentor", "reason": "直播带货表现突出"}, headers=operator)
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["from"], body["to"], body["reason"]) == ("super_member", "mentor", "直播带货表现突出")
    assert current_tier(factory, w.seller) == "mentor"
    assert tiers_of(factory, w.seller)[-1][1:] == ("mentor", "manual: 直播带货表现突出")
    within = sell(client, operator, w, 1, at=datetime.now(UTC) + timedelta(seconds=5), prefix="SKEW")
    assert seller_commission(within[0], w.seller) == 400  # within the clock skew: the old rate
    after = sell(client, operator, w, 1, at=datetime.fromisoformat(body["effective_from"]), prefix="NOW")
    assert seller_commission(after[0], w.seller) == 600
    with factory() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "member.tier.override"))
        assert entry is not None
        assert (entry.before, entry.after) == (
            {"tier": "super_member"},
            {"tier": "mentor", "note": "直播带货表现突出"},
        )


def test_member_reads_own_progress(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    make_token: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """This month's figures at the endpoint's clock: pinned, since in the first half minute of a month (in
    Shanghai) a recruit and sales made half a minute before the real now belong to the month before."""
    w = build(client, operator, factory)
    now = MID_MARCH
    monkeypatch.setattr(tier_endpoints, "utcnow", lambda: now)
    recruit(client, operator, w, 1, at=now - timedelta(seconds=30))
    sell(client, operator, w, 2, at=now - timedelta(seconds=20), prefix="NOW")
    body = client.get(f"/api/v1/members/{w.seller}/tier-progress", headers=operator).json()
    assert body["period"] == "2026-03"
    assert (body["tier"], body["next_tier"], body["met"]) == ("super_member", "mentor", False)
    assert (body["direct_recruits"], body["orders"], body["gmv_fen"]) == (1, 2, 20_000)
    assert [(g["metric"], g["missing"]) for g in body["gaps"]] == [("direct_recruits", 2), ("orders", 8)]
    assert body["text_zh"] == "还差 2 位超级会员 · 8 单"
    assert body["text_en"] == "2 more 超级会员 recruits · 8 more orders to 导师"


def test_scheduled_tick_evaluates_last_month_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], jobs_runner: jobs.JobRunner
) -> None:
    w = build(client, operator, factory)
    recruit(client, operator, w, 3)
    sell(client, operator, w, 10)
    too_early = datetime(2026, 4, 1, 1, 30, tzinfo=SHANGHAI)
    assert jobs_runner.run(TICK_JOB, key="tick-1", payload={}, at=too_early)
    with factory() as session:
        assert session.scalar(select(TierEvaluation)) is None
    assert jobs_runner.run(
        TICK_JOB, key="tick-2", payload={}, at=datetime(2026, 4, 1, 2, 30, tzinfo=SHANGHAI)
    )
    with factory() as session:
        evaluation = session.scalar(select(TierEvaluation))
        assert evaluation is not None
        assert (evaluation.period, evaluation.actor_kind, evaluation.changes) == ("2026-03", "system", 1)
    assert current_tier(factory, w.seller) == "mentor"
    assert not jobs_runner.run(
        "tiers.evaluate_period",
        key=evaluation_key(w.program_id, "2026-03"),
        payload={"program_id": w.program_id, "period": "2026-03"},
        at=datetime(2026, 4, 2, tzinfo=UTC),
    )
