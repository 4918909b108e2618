"""Opt-outs across organizations: suppression honours every opt-out of the shopper whoever recorded
it, also in an organization's requests; an organization's operators list their own opt-outs and
those recorded platform-wide, never another organization's, and never a reference."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.crm.models import Customer
from neigou.kit.db import transaction
from neigou.kit.ids import keyed_hash
from neigou.links.models import Touch
from neigou.privacy.models import OptOut
from tests.conftest import SECRET, TEST_ACTOR, TokenMaker, bearer
from tests.factories import create_program
from tests.orders import builders as orders
from tests.privacy.builders import Footprint, build, default_organization, order_body
from tests.sign_in import PASSWORD

PATH = "/api/v1/privacy/opt-outs"
NEWCOMER = "13955550000"  # a shopper first seen after opting out


@pytest.fixture
def footprint(
    client: TestClient, app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session]
) -> Footprint:
    return build(client, app, operator, factory)


def _other_organization(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> dict[str, Any]:
    made = client.post("/api/v1/organizations", json={"code": "brand-b", "name": "B"}, headers=operator)
    assert made.status_code == 201, made.text
    headers = bearer(make_token(Role.OPERATOR, organization_id=made.json()["id"]))
    return {"id": made.json()["id"], "headers": headers, "program": create_program(client, headers, code="b")}


def _opt_out(client: TestClient, headers: dict[str, str], ref: str, key: str, **body: Any) -> Any:
    answer = client.post(PATH, json={"customer_ref": ref, "request_id": key, **body}, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _touches(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(Touch)) or 0)


@pytest.mark.parametrize("recorder", ["platform", "other_organization"])
def test_an_organizations_requests_honour_every_opt_out_of_the_shopper(
    *,
    recorder: str,
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    footprint: Footprint,
) -> None:
    headers = (
        operator if recorder == "platform" else _other_organization(client, operator, make_token)["headers"]
    )
    _opt_out(client, headers, NEWCOMER, "gone-1")
    with factory() as session:
        row = session.scalars(select(OptOut)).one()
    assert row.organization_id is None if recorder == "platform" else row.organization_id is not None
    touched = _touches(factory)
    own = default_organization(factory)
    scoped_operator = bearer(make_token(Role.OPERATOR, organization_id=own))
    scoped_shop = bearer(make_token(Role.INTEGRATION, organization_id=own))
    # A claim through a member's link, made in the organization's own request: no touch.
    claim = client.post(
        f"/api/v1/coupons/{footprint.coupon_id}/claims",
        json={"customer_ref": NEWCOMER, "link_code": footprint.coupon_link},
        headers=scoped_operator,
    )
    assert claim.status_code == 201, claim.text
    assert _touches(factory) == touched
    # An order carrying the shopper's marketing consent, sent by the organization's shop: the
    # shopper does not come back into the member's customer book.
    body = {
        **order_body(footprint.world, "JD-2001", link=footprint.world.link),
        "customer_ref": NEWCOMER,
        "consent": {"marketing": True},
    }
    orders.post_order(client, scoped_shop, body)
    with factory() as session:
        assert (
            session.scalar(
                select(func.count()).where(Customer.customer_ref_hash == keyed_hash(SECRET, NEWCOMER))
            )
            == 0
        )


def _listed(client: TestClient, headers: dict[str, str], query: str = "") -> list[tuple[str, bool, bool]]:
    answer = client.get(f"{PATH}{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-total-count"] == str(len(answer.json()))
    return [(o["request_id"], o["platform_wide"], o["erased"] is not None) for o in answer.json()]


def test_an_organizations_operators_see_their_own_and_platform_wide_opt_outs(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    footprint: Footprint,
) -> None:
    own = default_organization(factory)
    mine = bearer(make_token(Role.OPERATOR, organization_id=own))
    other = _other_organization(client, operator, make_token)
    program = footprint.world.program_id
    everywhere = _opt_out(client, operator, "13900000001", "platform-all")
    _opt_out(client, operator, "13900000002", "platform-mine", program_id=program)
    _opt_out(client, other["headers"], "13900000003", "other-all")
    _opt_out(client, operator, "13900000004", "platform-other", program_id=other["program"]["id"])
    with factory() as session:
        owners = dict(session.execute(select(OptOut.request_id, OptOut.organization_id)).all())
    # A platform administrator's opt-out of one program belongs to the program's organization.
    assert owners == {
        "platform-all": None,
        "platform-mine": own,
        "other-all": other["id"],
        "platform-other": other["id"],
    }
    # (request id, recorded platform-wide, counts shown)
    assert _listed(client, mine) == [("platform-mine", False, True), ("platform-all", True, False)]
    assert _listed(client, mine, f"?program_id={program}") == [("platform-mine", False, True)]
    assert _listed(client, other["headers"]) == [
        ("platform-other", False, True),
        ("other-all", False, True),
        ("platform-all", True, False),
    ]
    assert _listed(client, operator) == [
        ("platform-other", False, True),
        ("other-all", False, True),
        ("platform-mine", False, True),
        ("platform-all", True, True),
    ]
    assert everywhere["erased"] is not None
    # Another organization's key is refused as used, never answered with its opt-out.
    reused = client.post(PATH, json={"customer_ref": "13900000003", "request_id": "other-all"}, headers=mine)
    assert (reused.status_code, reused.json()["code"]) == (409, "request_id_reused")

    with transaction(factory) as session:
        auth.create_user(
            session, username="ops-default", password=PASSWORD, actor=TEST_ACTOR, organization_id=own
        )
    signed = client.post("/console/login", data={"username": "ops-default", "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    page = client.get("/console/privacy?lang=en")
    assert page.text.count('data-testid="opt-out-row"') == 2
    assert page.text.count('data-testid="platform-wide"') == 1
    assert "other-all" not in page.text
    assert "platform-other" not in page.text
    assert "1390000000" not in page.text  # neither a reference nor its masked form
    assert "****" not in page.text
    shown = client.get(f"/console/privacy?done={everywhere['id']}&lang=en")
    assert 'data-testid="counts-hidden"' in shown.text
    assert 'data-kind="touches"' not in shown.text
    with factory() as session:
        foreign = session.scalar(select(OptOut.id).where(OptOut.request_id == "other-all"))
    assert 'data-testid="opt-out-result"' not in client.get(f"/console/privacy?done={foreign}").text
