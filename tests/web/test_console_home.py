"""The console's home (today, this month, money by state, queues, a 30-day trend) and the new-program
form that creates a program with its tier ladder in one step."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from neigou.kit.money import parse_percent, yuan_text
from neigou.offers.amounts import bp_to_percent_text
from tests.conftest import TokenMaker, row_counts
from tests.orders.builders import SKU, build, order_body, post_order
from tests.sign_in import console_sign_in, member_sign_in


def _testid(page: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', page)
    assert match is not None, testid
    return match.group(1).strip()


def test_home_shows_today_month_money_and_the_trend(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    post_order(
        client, operator, order_body(w, "OLD-1", (SKU, 1, 30_000))
    )  # March: outside today and this month
    today = post_order(client, operator, order_body(w, "NOW-1", (SKU, 2, 50_000), at=utcnow()))
    console_sign_in(client, factory)
    page = client.get(f"/console?program={w.program_id}").text
    assert _testid(page, "today-gmv") == "¥500.00"
    assert _testid(page, "today-orders") == "1"
    assert _testid(page, "month-gmv") == "¥500.00"
    assert (
        _testid(page, "today-commission")
        == f"¥{today['commission_fen'] // 100}.{today['commission_fen'] % 100:02d}"
    )
    # both orders' commission is still pending: ¥300 and ¥500 at the same rates
    pending = _testid(page, "money-pending")
    assert pending.startswith("¥")
    assert pending != "¥0.00"
    trend = re.search(r"data-gmv='([^']*)'", page)
    assert trend is not None
    gmv = json.loads(trend.group(1))
    assert len(gmv) == 30
    assert gmv[-1] == 50_000
    assert sum(gmv) == 50_000
    assert 'data-testid="program-card"' in page
    assert 'href="/console/programs/new"' in page
    assert "Last 30 days" in client.get("/console?lang=en").text


def test_new_program_with_its_ladder_in_one_form(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory)
    form = client.get("/console/programs/new")
    assert form.status_code == 200
    assert 'data-testid="tier-rows"' in form.text
    before = row_counts(factory)
    body = {
        "code": "Bad Code",
        "name": "",
        "timezone": "Asia/Shanghai",
        "attribution_model": "last_click",
        "window_days": "15",
        "freeze_days": "7",
        "max_levels": "2",
        "tier_code_0": "super_member",
        "tier_name_0": "超级会员",
        "tier_share_0": "120",
        "tier_override_0": "5",
    }
    refused = client.post("/console/programs", data=body)
    assert refused.status_code == 422
    for key in ("error-code", "error-name", "error-tier_0"):
        assert f'data-testid="{key}"' in refused.text
    assert 'value="Bad Code"' in refused.text  # what was typed stays in the form
    no_tiers = client.post(
        "/console/programs",
        data={
            **body,
            "code": "ok",
            "name": "好",
            "tier_code_0": "",
            "tier_name_0": "",
            "tier_share_0": "",
            "tier_override_0": "",
        },
    )
    assert no_tiers.status_code == 422
    assert 'data-testid="error-tiers"' in no_tiers.text
    too_deep = client.post(
        "/console/programs",
        data={**body, "code": "deep", "name": "深", "max_levels": "4", "tier_share_0": "20"},
    )
    assert too_deep.status_code == 422
    assert row_counts(factory) == before, "a refused form writes nothing"
    made = client.post(
        "/console/programs",
        data={
            **body,
            "code": "spring",
            "name": "春季内购",
            "tier_share_0": "20",
            "tier_code_1": "mentor",
            "tier_name_1": "导师",
            "tier_share_1": "30.5",
            "tier_override_1": "10",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    program_id = int(made.headers["location"].split("/")[3].split("?")[0])
    tiers = client.get(f"/api/v1/programs/{program_id}/tiers", headers=operator).json()
    assert [(t["code"], t["share_bp"], t["override_bp"]) for t in tiers] == [
        ("super_member", 2000, 500),
        ("mentor", 3050, 1000),
    ]
    assert 'data-testid="no-tiers"' not in client.get(made.headers["location"]).text


def test_console_home_and_forms_need_an_operator(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    for path in ("/console", "/console/programs/new"):
        assert client.get(path, follow_redirects=False).headers["location"].startswith("/console/login")
    anonymous = client.post("/console/programs", data={"code": "x"}, follow_redirects=False)
    assert anonymous.status_code in (303, 401)
    w = build(client, operator, factory)
    member_sign_in(client, make_token(Role.MEMBER, w.seller))
    before = row_counts(factory)
    for path in ("/console", "/console/programs/new"):
        assert client.get(path, follow_redirects=False).status_code == 403
    denied = client.post("/console/programs", data={"code": "x", "name": "x", "tier_share_0": "20"})
    assert denied.status_code == 403
    assert row_counts(factory) == before


def test_percentages_become_basis_points_without_floats() -> None:
    assert [
        parse_percent(v) for v in ("20", "12.5", "12.55%", " 0 ", "100", "100.01", "-1", "abc", "1.234")
    ] == [
        2000,
        1250,
        1255,
        0,
        10_000,
        None,
        None,
        None,
        None,
    ]


def test_form_texts_round_trip() -> None:
    assert [yuan_text(f) for f in (500_000, 1250, 1205, 1, 0, -150)] == [
        "5000",
        "12.5",
        "12.05",
        "0.01",
        "0",
        "-1.5",
    ]
    assert [bp_to_percent_text(b) for b in (2000, 1250, 1255, 0)] == ["20", "12.5", "12.55", "0"]


def test_edit_a_program_from_the_console(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory)
    path = f"/console/programs/{w.program_id}/edit"
    assert client.get(path, follow_redirects=False).status_code in {303, 401}
    member_sign_in(client, make_token(Role.MEMBER, w.seller))
    assert client.get(path).status_code == 403
    console_sign_in(client, factory)
    assert f'href="{path}"' in client.get(f"/console/programs/{w.program_id}").text
    form = client.get(path)
    assert form.status_code == 200
    assert 'value="partners"' in form.text  # the code, shown and never posted
    body = {
        "name": "春季内购",
        "timezone": "Asia/Tokyo",
        "attribution_model": "last_click",
        "window_days": "7",
        "freeze_days": "abc",
        "max_levels": "3",
        "self_purchase": "on",
    }
    before = row_counts(factory)
    refused = client.post(path, data=body)
    assert refused.status_code == 422
    assert 'data-testid="error-freeze_days"' in refused.text
    assert 'value="春季内购"' in refused.text  # what was typed stays
    too_deep = client.post(path, data={**body, "freeze_days": "14", "max_levels": "4"})
    assert too_deep.status_code == 422
    assert 'data-code="too_many_levels"' in too_deep.text
    assert row_counts(factory) == before, "a refused form writes nothing"
    saved = client.post(path, data={**body, "freeze_days": "14"}, follow_redirects=False)
    assert saved.status_code == 303
    stored = client.get(f"/api/v1/programs/{w.program_id}", headers=operator).json()
    assert (stored["name"], stored["timezone"], stored["freeze_days"], stored["max_levels"]) == (
        "春季内购",
        "Asia/Tokyo",
        14,
        3,
    )
    assert stored["attribution"]["window_days"] == 7
