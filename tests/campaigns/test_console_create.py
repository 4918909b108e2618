"""The console publishes campaigns with the form the merchant portal uses (``web.campaign_pages``):
boost in percent, times in the program's time zone, every refusal shown at once beside its field with
what was typed kept and nothing written, an unknown program the API's 404 ``program_not_found``; only
an operator's session opens it."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from tests.campaigns import builders as b
from tests.conftest import TokenMaker, row_counts
from tests.sign_in import console_sign_in, member_sign_in, merchant_sign_in

LOCAL = "%Y-%m-%dT%H:%M"
NEW = "/console/campaigns/new"


def _typed(program_id: int, zone: ZoneInfo, /, **typed: str) -> dict[str, str]:
    """The create form as an operator fills it in, with ``typed`` changed."""
    now = utcnow()
    return {
        "program_id": str(program_id),
        "brand_id": "",
        "name": "双旦囤货节",
        "skus": f"{b.SHAMPOO}\n{b.TEE}",
        "coupon_id": "",
        "boost_percent": "2.5",
        "starts_at": (now + timedelta(days=1)).astimezone(zone).strftime(LOCAL),
        "ends_at": (now + timedelta(days=4)).astimezone(zone).strftime(LOCAL),
        "copy_text": "两件更划算",
        **typed,
    }


def _zone(client: TestClient, operator: dict[str, str], program_id: int) -> ZoneInfo:
    found = client.get(f"/api/v1/programs/{program_id}", headers=operator)
    return ZoneInfo(found.json()["timezone"])


def test_an_operator_publishes_a_campaign_from_the_shared_form(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    world = b.build(client, operator, make_token)
    zone = _zone(client, operator, world.program_id)
    console_sign_in(client, factory)
    listing = client.get("/console/campaigns").text
    assert f'href="{NEW}"' in listing
    assert 'action="/console/campaigns"' not in listing  # no form of its own any more
    form = client.get(NEW)
    assert form.status_code == 200
    assert f'action="{NEW}"' in form.text
    assert f'<option value="{world.program_id}"' in form.text
    made = client.post(NEW, data=_typed(world.program_id, zone), follow_redirects=False)
    assert (made.status_code, made.headers["location"]) == (
        303,
        f"/console/campaigns?program={world.program_id}",
    )
    shown = client.get(made.headers["location"]).text
    new_id = max(int(i) for i in re.findall(r'data-campaign-id="(\d+)"', shown))
    stored = client.get(f"/api/v1/campaigns/{new_id}", headers=operator).json()
    assert (stored["name"], stored["skus"], stored["commission_boost_bp"], stored["copy"]) == (
        "双旦囤货节",
        [b.SHAMPOO, b.TEE],
        250,
        "两件更划算",
    )
    assert stored["merchant_id"] is None
    audit = client.get(
        "/api/v1/audit-log", params={"entity": "campaign", "entity_id": new_id}, headers=operator
    ).json()
    assert [a["action"] for a in audit] == ["campaign.create"]
    # The old address of the inline form is gone: nothing answers a post there.
    assert client.post("/console/campaigns", data=_typed(world.program_id, zone)).status_code == 405


def test_a_refused_campaign_shows_every_error_at_once_and_writes_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    world = b.build(client, operator, make_token)
    zone = _zone(client, operator, world.program_id)
    console_sign_in(client, factory)
    before = row_counts(factory)
    typed = _typed(world.program_id, zone, name="", boost_percent="五", starts_at="2026-02-30T10:00", skus="")
    refused = client.post(NEW, data=typed)
    assert refused.status_code == 422
    codes = dict(re.findall(r'data-testid="error-([a-z_]+)" data-code="([a-z_]+)"', refused.text))
    assert set(codes) == {"name", "boost_percent", "starts_at", "skus"}, codes
    assert 'value="五"' in refused.text  # what was typed stays
    assert "两件更划算</textarea>" in refused.text
    assert 'data-testid="campaign-edit-name" autofocus' in refused.text  # the first field to fix
    # The service's refusals (the API's) come beside their fields too, with the API's status.
    for change, field, code, status in (
        ({"boost_percent": "95"}, "boost_percent", "boost_too_high", 422),
        ({"skus": "NO-SUCH-SKU"}, "skus", "unknown_sku", 422),
        ({"ends_at": "2026-01-01T10:00"}, "ends_at", "invalid_window", 422),
        ({"program_id": "999999"}, "program_id", "program_not_found", 404),
    ):
        answer = client.post(NEW, data=_typed(world.program_id, zone, **change))
        assert answer.status_code == status, (change, answer.status_code)
        found = re.search(rf'data-testid="error-{field}" data-code="([a-z_]+)"', answer.text)
        assert found is not None, change
        assert found.group(1) == code, (change, found.group(1))
        assert 'value="双旦囤货节"' in answer.text
    assert row_counts(factory) == before, "a refused form writes nothing"


def test_only_an_operators_session_opens_the_create_form(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    world = b.build(client, operator, make_token)
    zone = _zone(client, operator, world.program_id)
    before = row_counts(factory)
    anonymous = client.get(NEW, follow_redirects=False)
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, f"/console/login?next={NEW}")
    posted = client.post(NEW, data=_typed(world.program_id, zone), follow_redirects=False)
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/console/login")
    member_sign_in(client, make_token(Role.MEMBER, world.owner))
    assert client.get(NEW, follow_redirects=False).status_code == 403
    assert client.post(NEW, data=_typed(world.program_id, zone), follow_redirects=False).status_code == 403
    shop = client.post("/api/v1/merchants", json={"code": "shop", "name": "店"}, headers=operator).json()
    merchant_sign_in(client, factory, shop["id"])  # a merchant has its own form in its portal
    assert client.get(NEW, follow_redirects=False).status_code == 403
    assert client.post(NEW, data=_typed(world.program_id, zone), follow_redirects=False).status_code == 403
    after = row_counts(factory)
    assert (after["campaigns"], after["campaign_items"]) == (before["campaigns"], before["campaign_items"])
    console_sign_in(client, factory)
    assert client.get(NEW, follow_redirects=False).status_code == 200
