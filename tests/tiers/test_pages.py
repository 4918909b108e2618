"""Console pages of tiers (ladder editor with inline errors, evaluation preview and run, override) and
the member's tier page."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.programs.models import Member, Tier
from neigou.tiers.models import TierEvaluation
from tests.conftest import TokenMaker, row_counts
from tests.sign_in import console_sign_in, member_sign_in
from tests.tiers.builders import build, recruit, sell


def _ladder_form(rows: list[dict[str, Any]]) -> dict[str, str]:
    form: dict[str, str] = {"rows": str(len(rows))}
    for i, row in enumerate(rows):
        for key, value in row.items():
            form[f"t{i}_{key}"] = str(value)
    return form


SUPER = {"code": "super_member", "name": "超级会员", "rank": 1, "share_pct": "20", "override_pct": "5"}
MENTOR = {
    "code": "mentor",
    "name": "导师",
    "rank": 2,
    "share_pct": "30",
    "override_pct": "10",
    "c0_metric": "direct_recruits",
    "c0_gte": 3,
    "c0_tier": "super_member",
    "c1_metric": "orders",
    "c1_gte": 10,
}


def test_ladder_editor_saves_and_shows_errors_beside_the_tier(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    console_sign_in(client, factory)
    program_page = client.get(f"/console/programs/{w.program_id}")
    assert f"/console/programs/{w.program_id}/tiers" in program_page.text
    page = client.get(f"/console/programs/{w.program_id}/tiers")
    assert page.status_code == 200
    assert 'value="mentor"' in page.text
    before = row_counts(factory)
    greedy = {**MENTOR, "share_pct": "96"}
    refused = client.post(f"/console/programs/{w.program_id}/tiers", data=_ladder_form([SUPER, greedy]))
    assert refused.status_code == 422
    assert "shares_exceed_pool" in refused.text
    assert 'value="96"' in refused.text  # the operator's input is kept
    keep_on_lowest = {
        **SUPER,
        "c0_metric": "orders",
        "c0_gte": 1,
        "k0_metric": "orders",
        "k0_gte": 1,
        "keep_periods": 1,
    }
    refused = client.post(
        f"/console/programs/{w.program_id}/tiers", data=_ladder_form([keep_on_lowest, MENTOR])
    )
    assert refused.status_code == 422
    assert 'data-testid="row-errors"><li><code>keep_on_lowest_tier</code>' in refused.text
    bad_number = client.post(
        f"/console/programs/{w.program_id}/tiers", data=_ladder_form([{**SUPER, "rank": "x"}])
    )
    assert bad_number.status_code == 422
    assert "invalid_field" in bad_number.text
    assert "字段无效：rank。 此处应填写整数。" in bad_number.text  # never pydantic's English
    assert "should" not in bad_number.text
    for tampered in ("abc", "1.999", "9" * 400):
        answer = client.post(
            f"/console/programs/{w.program_id}/tiers", data={**_ladder_form([SUPER]), "rows": tampered}
        )
        assert answer.status_code == 422, tampered
        assert "empty_ladder" in answer.text
    assert row_counts(factory) == before
    keep = {**MENTOR, "keep_periods": 3, "k0_metric": "orders", "k0_gte": 5}
    saved = client.post(
        f"/console/programs/{w.program_id}/tiers", data=_ladder_form([SUPER, keep]), follow_redirects=False
    )
    assert saved.status_code == 303
    with factory() as session:
        mentor = session.scalar(select(Tier).where(Tier.program_id == w.program_id, Tier.code == "mentor"))
        assert mentor is not None
        assert mentor.upgrade == {
            "period": "month",
            "all": [
                {"metric": "direct_recruits", "gte": 3, "tier": "super_member"},
                {"metric": "orders", "gte": 10, "tier": None},
            ],
            "keep": {"periods": 3, "all": [{"metric": "orders", "gte": 5, "tier": None}]},
        }


def test_evaluation_page_previews_runs_and_overrides(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    recruits = recruit(client, operator, w, 3)
    sell(client, operator, w, 10)
    console_sign_in(client, factory)
    path = f"/console/programs/{w.program_id}/tier-evaluations"
    assert client.get(path).status_code == 200
    before = row_counts(factory)
    preview = client.post(path, data={"period": "2026-03", "action": "preview"})
    assert preview.status_code == 200
    assert "直推超级会员及以上 3 人（要求 3 人）。" in preview.text
    assert "预览（未保存）" in preview.text
    assert row_counts(factory) == before
    bad = client.post(path, data={"period": "2026-3", "action": "run"})
    assert bad.status_code == 422
    assert "invalid_period" in bad.text
    run = client.post(path, data={"period": "2026-03", "action": "run"})
    assert run.status_code == 200
    assert "考核已完成" in run.text
    assert "已执行" in run.text
    with factory() as session:
        assert session.scalar(select(TierEvaluation.changes)) == 1
    english = client.get(f"{path}?period=2026-03&lang=en")
    assert "Direct recruits at 超级会员 or higher: 3 (needs 3)." in english.text
    done = client.post(
        f"/console/programs/{w.program_id}/tier-overrides",
        data={"member_id": str(recruits[0]), "tier": "mentor", "reason": "线下活动组织"},
    )
    assert done.status_code == 200
    assert "等级已调整" in done.text
    with factory() as session:
        member = session.get(Member, recruits[0])
        assert member is not None
        assert member.tier_code == "mentor"
    stranger = client.post(
        f"/console/programs/{w.program_id}/tier-overrides",
        data={"member_id": "99999", "tier": "mentor", "reason": "x"},
    )
    assert stranger.status_code == 404


def test_member_tier_page_shows_progress(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory)
    token = make_token(Role.MEMBER, w.seller)
    member_sign_in(client, token)
    home = client.get("/m/")
    assert 'href="/m/tier"' in home.text
    page = client.get("/m/tier")
    assert page.status_code == 200
    assert 'data-testid="current-tier">超级会员<' in page.text
    assert "还差 3 位超级会员 · 10 单" in page.text
    english = client.get("/m/tier?lang=en")
    assert "3 more 超级会员 recruits · 10 more orders to 导师" in english.text


def test_ladder_editor_speaks_percent_and_yuan(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    console_sign_in(client, factory)
    gold = {**MENTOR, "share_pct": "30.5", "c1_metric": "gmv_fen", "c1_gte": "50000"}
    saved = client.post(
        f"/console/programs/{w.program_id}/tiers", data=_ladder_form([SUPER, gold]), follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    tiers = {
        t["code"]: t for t in client.get(f"/api/v1/programs/{w.program_id}/tiers", headers=operator).json()
    }
    assert tiers["mentor"]["share_bp"] == 3050
    assert {"metric": "gmv_fen", "gte": 5_000_000} in [
        {k: c[k] for k in ("metric", "gte")} for c in tiers["mentor"]["upgrade"]["all"]
    ]
    page = client.get(f"/console/programs/{w.program_id}/tiers").text
    assert 'name="t1_share_pct" value="30.5"' in page
    assert 'name="t1_c1_gte" value="50000"' in page
    assert "超级会员+" in page  # recruit tiers by name, not code
    program = client.get(f"/console/programs/{w.program_id}").text
    assert "¥50,000.00" in program
    assert "super_member+" not in program
    bad = client.post(
        f"/console/programs/{w.program_id}/tiers", data=_ladder_form([{**SUPER, "share_pct": "abc"}])
    )
    assert bad.status_code == 422
    assert 'value="abc"' in bad.text
