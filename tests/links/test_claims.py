"""Coupon claims through the API: hidden coupons only through their link, limits, stock, idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.kit.clock import utcnow
from neigou.kit.ids import keyed_hash
from neigou.links.models import ClaimSource, CouponClaim, Touch
from neigou.offers.models import CouponTemplate
from tests.conftest import SECRET, TokenMaker, row_counts
from tests.links.builders import LinkWorld, build, claim, make_link
from tests.offers.factories import coupon
from tests.phone_forms import written_forms


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> LinkWorld:
    return build(client, operator, make_token)


def _claimed(factory: sessionmaker[Session], coupon_id: int) -> int:
    with factory() as session:
        row = session.get(CouponTemplate, coupon_id)
        assert row is not None
        return row.claimed_quantity


def test_hidden_coupon_needs_a_link_that_carries_it(
    client: TestClient, operator: dict[str, str], world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    plain = make_link(client, operator, member_id=world.member_id)
    before = row_counts(factory)
    for body in ({}, {"link_code": plain["code"]}):
        refused = claim(client, world.integration, world.hidden_id, customer_ref="13812345678", **body)
        assert (refused.status_code, refused.json()["code"]) == (409, "link_required")
    unknown = claim(client, world.integration, world.hidden_id, customer_ref="13812345678", link_code="zz")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_link")
    assert row_counts(factory) == before
    carrying = make_link(
        client, operator, member_id=world.member_id, coupon_id=world.hidden_id, group_id=world.group_id
    )
    made = claim(
        client, world.integration, world.hidden_id, customer_ref="13812345678", link_code=carrying["code"]
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["customer_ref_masked"], body["link_code"], body["member_id"]) == (
        "138****5678",
        carrying["code"],
        world.member_id,
    )
    assert _claimed(factory, world.hidden_id) == 1
    with factory() as session:
        stored = session.get(CouponClaim, body["id"])
        assert stored is not None
        assert stored.customer_ref_hash == keyed_hash(SECRET, "13812345678")
        assert "13812345678" not in stored.customer_ref_masked
        assert (stored.source, stored.group_id, stored.program_id) == (
            ClaimSource.API,
            world.group_id,
            world.program_id,
        )
        touch = session.scalars(select(Touch)).one()
        assert (touch.member_id, touch.group_id, touch.kind.value) == (
            world.member_id,
            world.group_id,
            "claim",
        )
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "coupon.claim")).one()
        assert audit.actor_kind == "integration"


def test_limit_and_stock(
    client: TestClient, operator: dict[str, str], world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    assert (
        claim(client, operator, world.hidden_id, customer_ref="c-1", link_code=link["code"]).status_code
        == 201
    )
    again = claim(client, operator, world.hidden_id, customer_ref="c-1", link_code=link["code"])
    assert (again.status_code, again.json()["code"]) == (409, "limit_reached")
    for n in range(2, 6):
        assert (
            claim(
                client, operator, world.hidden_id, customer_ref=f"c-{n}", link_code=link["code"]
            ).status_code
            == 201
        )
    before = row_counts(factory)
    sold = claim(client, operator, world.hidden_id, customer_ref="c-6", link_code=link["code"])
    assert (sold.status_code, sold.json()["code"]) == (409, "sold_out")
    assert row_counts(factory) == before
    assert _claimed(factory, world.hidden_id) == 5


def test_one_phone_written_seven_ways_is_one_customer(
    client: TestClient, operator: dict[str, str], world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    first = claim(client, operator, world.hidden_id, customer_ref="13812345678", link_code=link["code"])
    assert first.status_code == 201, first.text
    before = row_counts(factory)
    for written in (
        "+8613812345678",
        "+86 138 1234 5678",
        "138-1234-5678",
        "１３８１２３４５６７８",
        "0086 138 1234 5678",
        "86 13812345678",
        "(+86) 138.1234.5678",
    ):
        again = claim(client, operator, world.hidden_id, customer_ref=written, link_code=link["code"])
        assert (again.status_code, again.json()["code"]) == (409, "limit_reached"), written
    assert row_counts(factory) == before
    assert _claimed(factory, world.hidden_id) == 1


def test_one_phone_spread_out_or_dotted_is_one_customer(
    client: TestClient, operator: dict[str, str], world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    first = claim(client, operator, world.hidden_id, customer_ref="13812345678", link_code=link["code"])
    assert first.status_code == 201, first.text
    before = row_counts(factory)
    for written in written_forms("13812345678"):
        again = claim(client, operator, world.hidden_id, customer_ref=written, link_code=link["code"])
        assert (again.status_code, again.json()["code"]) == (409, "limit_reached"), written
    assert row_counts(factory) == before
    assert _claimed(factory, world.hidden_id) == 1


def test_not_active_and_disabled_link(
    client: TestClient, operator: dict[str, str], world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    later = coupon(
        client,
        operator,
        100,
        starts_at=(utcnow() + timedelta(days=3)).isoformat(),
        ends_at=(utcnow() + timedelta(days=4)).isoformat(),
    )
    response = claim(client, world.integration, later["id"], customer_ref="c-1")
    assert (response.status_code, response.json()["code"]) == (409, "not_active")
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    client.patch(f"/api/v1/links/{link['code']}", json={"active": False}, headers=operator)
    disabled = claim(client, world.integration, world.hidden_id, customer_ref="c-1", link_code=link["code"])
    assert (disabled.status_code, disabled.json()["code"]) == (409, "link_disabled")
    assert (
        client.post("/api/v1/coupons/999999/claims", json={"customer_ref": "x"}, headers=operator).status_code
        == 404
    )


def test_public_coupon_without_link_and_idempotent_retries(
    client: TestClient, world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    first = claim(client, world.integration, world.public_id, customer_ref="openid-1", request_id="req-1")
    assert first.status_code == 201
    retry = claim(client, world.integration, world.public_id, customer_ref="openid-1", request_id="req-1")
    assert retry.status_code == 200
    assert (retry.json()["id"], retry.json()["replayed"]) == (first.json()["id"], True)
    by_header = client.post(
        f"/api/v1/coupons/{world.public_id}/claims",
        json={"customer_ref": "openid-1"},
        headers={**world.integration, "Idempotency-Key": "req-1"},
    )
    assert (by_header.status_code, by_header.json()["id"]) == (200, first.json()["id"])
    stolen = claim(client, world.integration, world.public_id, customer_ref="openid-2", request_id="req-1")
    assert (stolen.status_code, stolen.json()["code"]) == (422, "request_id_reused")
    assert _claimed(factory, world.public_id) == 1


def test_members_may_not_claim(client: TestClient, world: LinkWorld, factory: sessionmaker[Session]) -> None:
    before = row_counts(factory)
    response = claim(client, world.member_token, world.public_id, customer_ref="c-1")
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert row_counts(factory) == before


def test_a_blank_idempotency_key_is_refused_not_shared(
    client: TestClient, world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    """An empty ``Idempotency-Key`` is refused as the events endpoints refuse it (422, its field named in
    the reader's language), never taken as the key "" every such claim would share: the second customer
    would get ``request_id_reused``."""
    before = row_counts(factory)
    for customer in ("openid-1", "openid-2"):
        response = client.post(
            f"/api/v1/coupons/{world.public_id}/claims",
            json={"customer_ref": customer},
            headers={**world.integration, "Idempotency-Key": ""},
        )
        assert (response.status_code, response.json()["code"]) == (422, "validation_error"), response.text
        assert "idempotency-key" in response.json()["detail"].lower()
        assert response.json()["title"] != "Unprocessable Entity"
    assert row_counts(factory) == before
    english = client.post(
        f"/api/v1/coupons/{world.public_id}/claims",
        json={"customer_ref": "openid-1"},
        headers={**world.integration, "Idempotency-Key": "", "Accept-Language": "en"},
    )
    assert english.json()["detail"] != response.json()["detail"]  # the message is translated
    assert _claimed(factory, world.public_id) == 0
