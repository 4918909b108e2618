"""A shopper recorded under a reference hiding an invisible mark (accepted and hashed as given before such
references were refused where customers are recorded) is erased by an opt-out sending it again, and so is
one recorded under a reference of Hangul fillers or variation selectors (blank since); a reference hashed as
the empty one is still refused."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.ids import customer_ref_hash, keyed_hash
from neigou.orders.models import Order
from tests.conftest import SECRET
from tests.privacy.builders import SHOPPER_HASH, build, traces
from tests.sign_in import console_sign_in

MARKED = "oUopenid\u00ad-1"
MARKED_HASH = keyed_hash(SECRET, MARKED)


def test_a_shopper_stored_under_a_marked_reference_can_still_opt_out(
    client: TestClient, app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    build(client, app, operator, factory)
    with factory() as session, session.begin():  # the order as it was stored before the refusal
        session.execute(
            update(Order).where(Order.customer_ref_hash == SHOPPER_HASH).values(customer_ref_hash=MARKED_HASH)
        )
    assert traces(factory, MARKED_HASH)["orders"] == 1
    response = client.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": MARKED, "request_id": "erase-marked-1"},
        headers=operator,
    )
    assert response.status_code == 201, response.json()
    assert traces(factory, MARKED_HASH)["orders"] == 0


def test_the_consoles_opt_out_takes_a_marked_reference(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory, next_page="/console")
    response = client.post(
        "/console/privacy",
        data={"request_id": "console-marked-0001", "customer_ref": "openid\u200b-1", "confirm": "yes"},
    )
    assert response.status_code in (200, 303), response.text
    assert 'data-testid="privacy-error"' not in response.text


# Blank by today's rule (``kit.ids.blank``), refused where customers are recorded since, yet each hashes
# as itself, not as the empty reference: a shopper recorded under one before is someone an opt-out erases.
BLANK_BUT_HASHED = ["\u3164", "\uffa0\u3164", "\ufe0f", "\u3164\ufe0f"]


@pytest.mark.parametrize("ref", BLANK_BUT_HASHED)
def test_a_shopper_stored_under_a_reference_blank_only_by_todays_rule_can_still_opt_out(
    client: TestClient, app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session], ref: str
) -> None:
    build(client, app, operator, factory)
    stored = customer_ref_hash(SECRET, ref)  # the hash is what it always was for this reference
    assert stored == keyed_hash(SECRET, ref) != keyed_hash(SECRET, "")
    with factory() as session, session.begin():  # the order as it was stored before the refusal
        session.execute(
            update(Order).where(Order.customer_ref_hash == SHOPPER_HASH).values(customer_ref_hash=stored)
        )
    assert traces(factory, stored)["orders"] == 1
    response = client.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": ref, "request_id": "erase-blank-1"},
        headers=operator,
    )
    assert response.status_code == 201, response.json()
    assert response.json()["erased"]["orders"] == 1
    assert traces(factory, stored)["orders"] == 0


@pytest.mark.parametrize("ref", ["", " ", "\u3000", "\u200b", "\ufeff\u200e", "\u00a0 \u2060"])
def test_an_opt_out_still_refuses_a_reference_hashed_as_the_empty_one(
    client: TestClient, operator: dict[str, str], ref: str
) -> None:
    response = client.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": ref, "request_id": "erase-empty-1"},
        headers=operator,
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("ref", ["\u200b", "\ufeff \u2060"])
def test_the_consoles_opt_out_refuses_a_reference_hashed_as_the_empty_one(
    client: TestClient, factory: sessionmaker[Session], ref: str
) -> None:
    console_sign_in(client, factory, next_page="/console")
    response = client.post(
        "/console/privacy", data={"request_id": "console-empty-0001", "customer_ref": ref, "confirm": "yes"}
    )
    assert response.status_code == 422, response.text
    assert 'data-testid="privacy-error"' in response.text


def test_the_consoles_opt_out_takes_a_reference_blank_only_by_todays_rule(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory, next_page="/console")
    response = client.post(
        "/console/privacy",
        data={"request_id": "console-blank-0001", "customer_ref": "\u3164", "confirm": "yes"},
    )
    assert response.status_code in (200, 303), response.text
    assert 'data-testid="privacy-error"' not in response.text
