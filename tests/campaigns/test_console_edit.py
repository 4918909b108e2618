"""The console's campaign form: boost in percent, times in the program's time zone, errors beside their
fields with what was typed kept and nothing written; a live campaign keeps its start, its products and
its boost (read-only, by the rule the API applies), an ended one is shown read-only; anonymous callers
and members refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.campaigns import service
from neigou.kit.clock import utcnow
from tests.campaigns import builders as b
from tests.conftest import TokenMaker, row_counts
from tests.sign_in import console_sign_in, member_sign_in

LOCAL = "%Y-%m-%dT%H:%M"


def _form(campaign: dict[str, Any], zone: ZoneInfo, **typed: str) -> dict[str, str]:
    """The form as the console fills it in, with ``typed`` changed."""

    def local(value: str) -> str:
        return datetime.fromisoformat(value).astimezone(zone).strftime(LOCAL)

    return {
        "name": campaign["name"],
        "skus": "\n".join(campaign["skus"]),
        "coupon_id": str(campaign["coupon_id"] or ""),
        "boost_percent": str(campaign["commission_boost_bp"] / 100),
        "starts_at": local(campaign["starts_at"]),
        "ends_at": local(campaign["ends_at"]),
        "copy_text": campaign["copy"] or "",
        **typed,
    }


def test_edit_a_campaign_from_the_console(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    world = b.build(client, operator, make_token)
    zone = ZoneInfo(client.get(f"/api/v1/programs/{world.program_id}", headers=operator).json()["timezone"])
    now = utcnow().replace(second=0, microsecond=0)
    body = b.campaign_body(
        world.program_id,
        coupon_id=world.coupon_id,
        starts_at=(now - timedelta(hours=3)).isoformat(),
        ends_at=(now + timedelta(days=2)).isoformat(),
    )
    campaign = b.create_campaign(client, operator, body)
    path = f"/console/campaigns/{campaign['id']}/edit"
    assert client.get(path, follow_redirects=False).status_code in {303, 401}
    member_sign_in(client, make_token(Role.MEMBER, world.owner))
    assert client.get(path).status_code == 403
    console_sign_in(client, factory)
    listing = client.get(f"/console/campaigns?program={world.program_id}")
    assert f'href="{path}"' in listing.text
    assert f'href="/console/campaigns/{world.campaign_id}/edit"' not in listing.text  # ended in March
    form = client.get(path)
    assert form.status_code == 200
    starts_local = datetime.fromisoformat(campaign["starts_at"]).astimezone(zone).strftime(LOCAL)
    assert f'value="{starts_local}"' in form.text
    assert 'value="5"' in form.text  # 500 bp shown as percent
    assert _read_only(form.text) == {"starts", "skus", "boost"}  # started: as the API decides
    assert 'data-testid="campaign-terms-locked"' in form.text
    before = row_counts(factory)
    bad = client.post(path, data=_form(campaign, zone, boost_percent="五", name="周中洗护节"))
    assert bad.status_code == 422
    assert 'data-testid="error-boost_percent"' in bad.text
    assert 'value="周中洗护节"' in bad.text  # what was typed stays
    for typed, field in (({"skus": "LQ-SHAMPOO"}, "skus"), ({"boost_percent": "0"}, "boost_percent")):
        locked = client.post(path, data=_form(campaign, zone, **typed))
        assert locked.status_code == 409, typed
        assert f'data-testid="error-{field}" data-code="terms_locked"' in locked.text
        assert _read_only(locked.text) == {"starts", "skus", "boost"}
        assert 'value="5"' in locked.text  # the fixed boost is shown as stored, not as typed
    moved = (now + timedelta(hours=1)).astimezone(zone).strftime(LOCAL)
    started = client.post(path, data=_form(campaign, zone, starts_at=moved))
    assert started.status_code == 409
    assert 'data-testid="error-starts_at"' in started.text
    assert row_counts(factory) == before, "a refused form writes nothing"
    # A rate raised since the start (20% → 96%, over 100% with the 5% boost) locks nothing.
    shampoo = client.get("/api/v1/products", params={"sku": b.SHAMPOO}, headers=operator).json()[0]
    raised = client.patch(
        f"/api/v1/products/{shampoo['id']}", json={"commission_rate_bp": 9600}, headers=operator
    )
    assert raised.status_code == 200, raised.text
    ends = (now + timedelta(days=5)).astimezone(zone).replace(tzinfo=None)
    saved = client.post(
        path,
        data=_form(campaign, zone, name="周中洗护节", ends_at=ends.strftime(LOCAL), copy_text=""),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    stored = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=operator).json()
    assert (stored["name"], stored["commission_boost_bp"], stored["copy"]) == ("周中洗护节", 500, None)
    assert stored["skus"] == campaign["skus"]
    assert stored["starts_at"] == campaign["starts_at"]  # the start shown to the minute was not moved
    assert datetime.fromisoformat(stored["ends_at"]) == ends.replace(tzinfo=zone)
    audit = client.get(
        "/api/v1/audit-log", params={"entity": "campaign", "entity_id": campaign["id"]}, headers=operator
    ).json()
    assert audit[0]["action"] == "campaign.update"
    ended = client.get(f"/console/campaigns/{world.campaign_id}/edit")
    assert ended.status_code == 200
    assert 'data-testid="campaign-ended"' in ended.text
    assert 'data-testid="campaign-edit-save"' not in ended.text
    march = client.get(f"/api/v1/campaigns/{world.campaign_id}", headers=operator).json()
    refused = client.post(
        f"/console/campaigns/{world.campaign_id}/edit", data=_form(march, zone, name="不能改")
    )
    assert refused.status_code == 409
    assert 'data-code="campaign_ended"' in refused.text
    assert client.get("/console/campaigns/999999/edit").status_code == 404


def _read_only(page: str) -> set[str]:
    """The form's fields marked read-only, by their test ids' last word."""
    return {
        name
        for name in ("name", "coupon", "skus", "boost", "starts", "ends", "copy")
        if f'readonly data-testid="campaign-edit-{name}"' in page
    }


def test_an_upcoming_campaign_is_edited_whole_from_the_console(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    world = b.build(client, operator, make_token)
    zone = ZoneInfo(client.get(f"/api/v1/programs/{world.program_id}", headers=operator).json()["timezone"])
    now = utcnow().replace(second=0, microsecond=0)
    body = b.campaign_body(
        world.program_id,
        coupon_id=world.coupon_id,
        starts_at=(now + timedelta(hours=3)).isoformat(),
        ends_at=(now + timedelta(days=2)).isoformat(),
    )
    campaign = b.create_campaign(client, operator, body)
    path = f"/console/campaigns/{campaign['id']}/edit"
    console_sign_in(client, factory)
    form = client.get(path)
    assert _read_only(form.text) == set()
    assert 'data-testid="campaign-terms-locked"' not in form.text
    unknown = client.post(path, data=_form(campaign, zone, skus="LQ-SHAMPOO\nNO-SUCH-SKU"))
    assert unknown.status_code == 422
    assert 'data-testid="error-skus"' in unknown.text
    assert "NO-SUCH-SKU" in unknown.text  # what was typed stays
    saved = client.post(path, data=_form(campaign, zone, boost_percent="3.5"), follow_redirects=False)
    assert saved.status_code == 303, saved.text
    stored = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=operator).json()
    assert stored["commission_boost_bp"] == 350


def test_the_form_locks_by_the_rule_the_api_applies(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    make_token: TokenMaker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One rule, ``campaigns.service.terms_locked``, decides for the API and the form alike."""
    world = b.build(client, operator, make_token)
    now = utcnow().replace(second=0, microsecond=0)
    body = b.campaign_body(
        world.program_id,
        starts_at=(now + timedelta(hours=3)).isoformat(),
        ends_at=(now + timedelta(days=2)).isoformat(),
    )
    campaign = b.create_campaign(client, operator, body)
    monkeypatch.setattr(service, "terms_locked", lambda _campaign, _at: True)
    console_sign_in(client, factory)
    assert _read_only(client.get(f"/console/campaigns/{campaign['id']}/edit").text) == {
        "starts",
        "skus",
        "boost",
    }
    refused = client.patch(
        f"/api/v1/campaigns/{campaign['id']}", json={"commission_boost_bp": 0}, headers=operator
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "terms_locked")
