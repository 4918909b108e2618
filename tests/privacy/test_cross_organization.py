"""What one organization's operators and integration tokens may do to another organization's shoppers
through an opt-out (docs/privacy.md, Organizations): record one only for their own programs or for every
program of their own organization, erasing only rows of their organization (and the cookie linkage,
which belongs to no program); never name another organization's program."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.links.models import Visitor
from neigou.privacy.models import OptOut
from tests.conftest import TokenMaker, bearer, row_counts
from tests.factories import create_program
from tests.privacy.builders import SHOPPER, Footprint, build, default_organization, traces

PATH = "/api/v1/privacy/opt-outs"


@pytest.fixture
def footprint(
    client: TestClient, app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session]
) -> Footprint:
    return build(client, app, operator, factory)


def _other(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, role: Role
) -> dict[str, Any]:
    made = client.post("/api/v1/organizations", json={"code": "brand-b", "name": "B"}, headers=operator)
    assert made.status_code == 201, made.text
    organization = made.json()["id"]
    program = create_program(
        client, bearer(make_token(Role.OPERATOR, organization_id=organization)), code="b"
    )
    return {"headers": bearer(make_token(role, organization_id=organization)), "program": program}


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.INTEGRATION])
def test_another_organizations_program_is_not_found(
    *,
    role: Role,
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    footprint: Footprint,
) -> None:
    other = _other(client, operator, make_token, role)
    before = row_counts(factory)
    kept = traces(factory)
    body = {"customer_ref": SHOPPER, "request_id": "b-1", "program_id": footprint.world.program_id}
    refused = client.post(PATH, json=body, headers=other["headers"])
    assert (refused.status_code, refused.json()["code"]) == (404, "program_not_found"), refused.text
    assert row_counts(factory) == before
    assert traces(factory) == kept


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.INTEGRATION])
def test_an_opt_out_of_every_program_erases_only_the_organizations_own_rows(
    *,
    role: Role,
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    footprint: Footprint,
) -> None:
    """Another organization's opt-out of every program erases nothing of this one's, not even the
    cookie linkage this organization's claim made, and counts nothing: a count would tell it the
    shopper had been seen elsewhere. It still suppresses the shopper here (the doc's suppression)."""
    other = _other(client, operator, make_token, role)
    kept = traces(factory)
    assert kept["visitors"] == 1  # the footprint's claim identified the shopper's cookie
    made = client.post(PATH, json={"customer_ref": SHOPPER, "request_id": "b-all"}, headers=other["headers"])
    assert made.status_code == 201, made.text
    assert made.json()["platform_wide"] is False
    assert made.json()["erased"] == dict.fromkeys(made.json()["erased"], 0)
    assert traces(factory) == kept
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(OptOut)) == 1


@pytest.mark.usefixtures("footprint")
def test_an_organizations_own_opt_out_erases_the_linkage_its_claim_made(
    client: TestClient, make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    own = bearer(make_token(Role.INTEGRATION, organization_id=default_organization(factory)))
    made = client.post(PATH, json={"customer_ref": SHOPPER, "request_id": "a-all"}, headers=own)
    assert made.status_code == 201, made.text
    assert made.json()["erased"]["visitors"] == 1
    assert traces(factory)["visitors"] == 0


@pytest.mark.usefixtures("footprint")
def test_an_organizations_opt_out_erases_a_linkage_stored_before_organizations_were_recorded(
    client: TestClient, make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    """A linkage from before migration 0052 names no organization: the organization whose claim made it
    (its programs saw the cookie identified) still erases it, as before the column existed."""
    with factory() as session:
        session.execute(update(Visitor).values(organization_id=None))
        session.commit()
    own = bearer(make_token(Role.INTEGRATION, organization_id=default_organization(factory)))
    made = client.post(PATH, json={"customer_ref": SHOPPER, "request_id": "a-old"}, headers=own)
    assert made.status_code == 201, made.text
    assert made.json()["erased"]["visitors"] == 1
    assert traces(factory)["visitors"] == 0


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.INTEGRATION])
def test_another_organizations_opt_out_leaves_a_linkage_without_an_organization(
    *,
    role: Role,
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    footprint: Footprint,
) -> None:
    with factory() as session:
        session.execute(update(Visitor).values(organization_id=None))
        session.commit()
    other = _other(client, operator, make_token, role)
    made = client.post(PATH, json={"customer_ref": SHOPPER, "request_id": "b-old"}, headers=other["headers"])
    assert made.status_code == 201, made.text
    assert made.json()["erased"]["visitors"] == 0
    assert traces(factory)["visitors"] == 1


def test_a_platform_administrators_opt_out_of_one_program_leaves_other_organizations_linkages(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    footprint: Footprint,
) -> None:
    """A platform administrator's opt-out of organization B's program belongs to B (B's operators are
    shown its counts): it deletes B's cookie linkages only, not the one this organization's claim made,
    and counts none of this organization's."""
    del footprint  # the shopper's linkage, recorded for this organization
    other = _other(client, operator, make_token, Role.OPERATOR)
    made = client.post(
        PATH,
        json={"customer_ref": SHOPPER, "request_id": "p-b", "program_id": other["program"]["id"]},
        headers=operator,
    )
    assert made.status_code == 201, made.text
    assert made.json()["erased"]["visitors"] == 0
    assert traces(factory)["visitors"] == 1
    shown = client.get(PATH, headers=other["headers"])
    assert [row["erased"]["visitors"] for row in shown.json()] == [0]
