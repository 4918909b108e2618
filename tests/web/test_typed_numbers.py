"""Numbers typed into the console's forms and pickers (ids, counts) are read as ASCII digits only
(``kit.ids.whole_number``): ``²``, ``①`` and other characters ``str.isdigit`` holds for, which ``int``
refuses, are no number — the form refuses them in place or the picker searches them as text, never a 500."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from tests.campaigns import builders as b
from tests.conftest import TokenMaker
from tests.factories import create_program
from tests.sign_in import console_sign_in

NOT_NUMBERS = ("²", "①", "１２", "٣")
LOCAL = "%Y-%m-%dT%H:%M"


def test_the_campaign_forms_and_coupon_picker_take_no_unicode_digits(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    world = b.build(client, operator, make_token)
    console_sign_in(client, factory)
    now = utcnow()
    typed = {
        "program_id": str(world.program_id),
        "name": "双旦囤货节",
        "skus": b.TEE,
        "boost_percent": "1",
        "starts_at": (now + timedelta(days=1)).strftime(LOCAL),
        "ends_at": (now + timedelta(days=3)).strftime(LOCAL),
    }
    for text in NOT_NUMBERS:
        picked = client.get(
            "/console/campaigns/coupon-options", params={"program_id": world.program_id, "coupon_id": text}
        )
        assert picked.status_code == 200, text
        for field in ("coupon_id", "brand_id"):
            made = client.post("/console/campaigns/new", data={**typed, field: text}, follow_redirects=False)
            assert made.status_code == 422, (field, text)
        edited = client.post(
            f"/console/campaigns/{world.campaign_id}/edit",
            data={"name": "a", "skus": b.TEE, "coupon_id": text, "boost_percent": "1"},
            follow_redirects=False,
        )
        assert edited.status_code in {409, 422}, text


def test_member_and_group_forms_take_no_unicode_digits(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="fx", name="芬香")
    console_sign_in(client, factory)
    for text in NOT_NUMBERS:
        member = client.post(
            f"/console/programs/{program['id']}/members",
            data={"name": "李小美", "inviter_id": text},
            follow_redirects=False,
        )
        assert member.status_code == 422, text
        group = client.post(
            f"/console/programs/{program['id']}/groups",
            data={"owner_member_id": text, "name": "内购群"},
            follow_redirects=False,
        )
        assert group.status_code == 303, text
        assert "owner_not_in_program" in group.headers["location"]
        listed = client.get(f"/console/programs/{program['id']}/groups", params={"owner": text})
        assert listed.status_code == 200, text
