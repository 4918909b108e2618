"""When an evaluation's changes take effect: when it runs, never before the next month starts, so an
order's rate depends on when it was paid and never on when it was reported (before or after the run)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit import jobs
from neigou.tiers import endpoints as tier_endpoints
from neigou.tiers.jobs import EVALUATE_JOB, evaluation_key
from tests.tiers.builders import APRIL_FIRST, SHANGHAI, build, recruit, sell, seller_commission, tiers_of


def test_a_scheduled_run_takes_effect_when_it_runs(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], jobs_runner: jobs.JobRunner
) -> None:
    """The scheduler evaluates March at 02:30 on 1 April (Shanghai). Orders paid between midnight and the
    run pay the old rate whether they were taken before the run or reported after it; orders paid from
    the run on pay the new one."""
    w = build(client, operator, factory)
    recruit(client, operator, w, 3)
    sell(client, operator, w, 10)
    taken_before = sell(client, operator, w, 1, at=APRIL_FIRST + timedelta(minutes=30), prefix="EARLY")
    run_at = datetime(2026, 4, 1, 2, 30, tzinfo=SHANGHAI)
    assert jobs_runner.run(
        EVALUATE_JOB,
        key=evaluation_key(w.program_id, "2026-03"),
        payload={"program_id": w.program_id, "period": "2026-03"},
        at=run_at,
    )
    reported_after = sell(client, operator, w, 1, at=APRIL_FIRST + timedelta(minutes=40), prefix="LATE")
    effective = run_at + timedelta(minutes=5)  # the run plus the clock skew
    paid_after = sell(client, operator, w, 1, at=effective, prefix="RUN")
    assert [seller_commission(o[0], w.seller) for o in (taken_before, reported_after, paid_after)] == [
        400,  # 20% (super member), paid and taken before the run
        400,  # the same, paid before the run and reported after it
        600,  # 30% (mentor) from the run (plus the clock skew) on
    ]
    assert tiers_of(factory, w.seller)[-1] == (effective, "mentor", "evaluation 2026-03: upgrade")
    listed = client.get(f"/api/v1/programs/{w.program_id}/tier-evaluations", headers=operator).json()
    assert [datetime.fromisoformat(e["effective_from"]) for e in listed] == [effective]
    stored = client.get(f"/api/v1/programs/{w.program_id}/tier-evaluations/2026-03", headers=operator).json()
    assert datetime.fromisoformat(stored["effective_from"]) == effective


def test_a_preview_of_a_month_under_way_takes_effect_when_it_ends(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dry run of the current month answers its end: a run at the earliest takes effect then. The
    endpoint's clock is pinned mid-month (in the month's last minutes the clock skew would move the answer
    past the month's end, whatever the time of the run)."""
    w = build(client, operator, factory)
    now = datetime(2026, 3, 16, 12, 0, tzinfo=SHANGHAI)
    monkeypatch.setattr(tier_endpoints, "utcnow", lambda: now.astimezone(UTC))
    response = client.post(
        f"/api/v1/programs/{w.program_id}/tier-evaluations",
        json={"period": "2026-03", "dry_run": True},
        headers=operator,
    )
    assert response.status_code == 200, response.text
    assert datetime.fromisoformat(response.json()["effective_from"]) == APRIL_FIRST
