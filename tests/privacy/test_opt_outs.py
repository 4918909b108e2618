"""PIPL opt-out through the API: exactly what is erased or redacted, the ledger untouched, idempotency,
suppression of later touches, and refusals that write nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.auth.models import Role
from neigou.crm.models import Customer, PushMessage
from neigou.links.models import Binding, ClaimCounter, CouponClaim, LinkClick, Touch, Visitor
from neigou.orders.models import Order
from neigou.privacy.models import OptOut
from neigou.programs.models import Member
from tests.conftest import TokenMaker, bearer, row_counts
from tests.factories import create_program
from tests.links.builders import shop_secret, signed_path
from tests.orders import builders as orders
from tests.privacy.builders import SHOPPER, SHOPPER_HASH, Footprint, build, money, order_body, traces

PATH = "/api/v1/privacy/opt-outs"
ERASED = {
    "touches": 3,  # the click with the reference, the cookie's click, the claim
    "bindings": 1,
    "visitors": 1,
    "clicks": 1,  # only the click that carried the reference named the shopper
    "claims": 1,
    "claim_counters": 1,
    "orders": 1,
    "members": 1,
    "customers": 1,  # the seller's customer book: the row, its consent, the message pushed
    "consents": 1,
    "push_messages": 1,
    "audit_entries": 1,  # the customer's create entry: its masked reference redacted
    # Employee-purchase events: the footprint has none (tests/events/test_opt_out.py erases them).
    "event_reservations": 0,
    "event_counts": 0,
    "event_invitations": 0,
    "event_employees": 0,
}


@pytest.fixture
def footprint(
    client: TestClient, app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session]
) -> Footprint:
    return build(client, app, operator, factory)


def _opt_out(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post(
        PATH, json={"customer_ref": SHOPPER, "request_id": "shop-req-1", **body}, headers=headers
    )


def test_the_footprint_before_opting_out(footprint: Footprint, factory: sessionmaker[Session]) -> None:
    assert traces(factory) == ERASED
    assert footprint.order["member_id"] == footprint.world.seller
    assert sorted(c["amount_fen"] for c in footprint.order["commissions"]) == [49, 99, 199]


def test_opt_out_erases_exactly_the_shoppers_linkage(
    client: TestClient,
    make_token: TokenMaker,
    footprint: Footprint,
    factory: sessionmaker[Session],
) -> None:
    integration = bearer(make_token(Role.INTEGRATION))
    before_money = money(factory)
    before = row_counts(factory)
    with factory() as session:
        clicks_before = len(session.scalars(select(LinkClick)).all())
    response = _opt_out(client, integration)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["erased"] == ERASED
    assert (body["request_id"], body["program_id"], body["actor_kind"]) == ("shop-req-1", None, "integration")
    assert SHOPPER not in response.text
    assert SHOPPER_HASH not in response.text
    assert traces(factory) == dict.fromkeys(ERASED, 0)
    after = row_counts(factory)
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    assert changed == {
        "attribution_touches": (3, 0),
        "attribution_bindings": (1, 0),
        "link_visitors": (1, 0),
        "customer_consents": (1, 0),
        "opt_outs": (0, 1),
        "audit_entries": (before["audit_entries"], before["audit_entries"] + 1),
    }
    # The money facts and the ledger are exactly as they were.
    assert money(factory) == before_money
    orders.assert_ledger_balanced(factory)
    with factory() as session:
        assert len(session.scalars(select(LinkClick)).all()) == clicks_before
        claim = session.scalars(select(CouponClaim)).one()
        order = session.scalars(select(Order)).one()
        counter = session.scalars(select(ClaimCounter)).one()
        assert claim.customer_ref_masked == "已注销"
        assert claim.visitor_id is None
        assert claim.customer_ref_hash.startswith("erased:")
        # One tombstone per opt-out: orders and claims stay countable together, naming nobody.
        assert order.customer_ref_hash == claim.customer_ref_hash == counter.customer_ref_hash
        # The customer book keeps the row (a push's counts) with nothing personal in it.
        customer = session.scalars(select(Customer)).one()
        assert (customer.customer_ref_hash, customer.customer_ref_masked) == (
            order.customer_ref_hash,
            "已注销",
        )
        assert (customer.name, customer.tags, customer.erased_at is not None) == (None, [], True)
        assert session.scalars(select(PushMessage.text)).one() == "已注销"
        assert counter.claimed == 1
        shopper = session.get(Member, footprint.shopper_member_id)
        assert shopper is not None
        assert (shopper.customer_ref_hash, shopper.customer_ref_masked) == (None, None)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.opt_out")).one()
        assert entry.after is not None
        assert entry.after == {
            "program_id": None,
            "request_id": "shop-req-1",
            "at": entry.after["at"],  # the request's own date (now, none given)
            "erased": ERASED,
        }
        stored = session.scalars(select(OptOut)).one()
        assert stored.customer_ref_hash == SHOPPER_HASH  # the suppression list
        assert stored.requested_at.tzinfo is not None


def test_the_same_request_id_answers_the_first_opt_out(
    client: TestClient, operator: dict[str, str], footprint: Footprint, factory: sessionmaker[Session]
) -> None:
    first = _opt_out(client, operator)
    assert first.status_code == 201
    before = row_counts(factory)
    again = _opt_out(client, operator)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert row_counts(factory) == before
    reused = _opt_out(client, operator, customer_ref="13900000000")
    assert reused.status_code == 409
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["code"] == "request_id_reused"
    assert (reused.json()["field"], reused.json()["detail"]) == (
        "request_id",
        "request_id 已用于其他注销申请。",
    )
    assert "shop-req-1" not in reused.text
    assert row_counts(factory) == before
    listed = client.get(PATH, headers=operator)
    assert listed.status_code == 200
    assert listed.json() == [first.json()]
    assert SHOPPER_HASH not in listed.text


def test_after_opting_out_no_touch_is_recorded_but_claims_and_orders_work(
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    footprint: Footprint,
    factory: sessionmaker[Session],
) -> None:
    assert _opt_out(client, operator).status_code == 201
    world = footprint.world
    # A later click with the signed reference counts as an anonymous click and makes no touch or binding.
    signed = signed_path(footprint.shop_secret, world.link, SHOPPER)
    assert client.get(signed, follow_redirects=False).status_code == 302
    assert app.state.links.flush() == 1
    with factory() as session:
        latest = session.scalars(select(LinkClick).order_by(LinkClick.id.desc()).limit(1)).one()
        assert latest.customer_ref_hash is None
        assert session.scalars(select(Touch)).all() == []
        assert session.scalars(select(Binding)).all() == []
    # A later claim through a link works (the per-customer count started afresh) and touches nothing.
    claim = client.post(
        f"/api/v1/coupons/{footprint.coupon_id}/claims",
        json={"customer_ref": SHOPPER, "link_code": footprint.coupon_link},
        headers=operator,
    )
    assert claim.status_code == 201, claim.text
    # A later order works; the past touches no longer attribute it, a link on the order still does.
    unattributed = orders.post_order(client, operator, order_body(world, "JD-1002"))
    assert (unattributed["member_id"], unattributed["commissions"]) == (None, [])
    linked = orders.post_order(client, operator, order_body(world, "JD-1003", link=world.link))
    assert linked["member_id"] == world.seller
    with factory() as session:
        assert session.scalars(select(Touch)).all() == []
        assert session.scalars(select(Visitor)).all() == []
    orders.assert_ledger_balanced(factory)


def test_an_opt_out_of_one_program_leaves_the_others(
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    footprint: Footprint,
    factory: sessionmaker[Session],
) -> None:
    other = create_program(client, operator, code="brand-mall")
    member = client.post(
        f"/api/v1/programs/{other['id']}/members",
        json={"name": "导购", "customer_ref": SHOPPER},
        headers=operator,
    ).json()
    link = orders.make_link(factory, member["id"])
    secret = shop_secret(client, operator, other["id"])
    assert client.get(signed_path(secret, link, SHOPPER), follow_redirects=False).status_code == 302
    app.state.links.flush()
    response = _opt_out(client, operator, program_id=footprint.world.program_id)
    assert response.status_code == 201, response.text
    # Visitors are not tied to a program; coupons are shared, so their counters stay with the shopper.
    assert response.json()["erased"] == {**ERASED, "claim_counters": 0}
    assert traces(factory) == {
        **dict.fromkeys(ERASED, 0),
        "touches": 1,
        "bindings": 1,
        "clicks": 1,
        "claim_counters": 1,
        "members": 1,
    }
    # Touches in the other program are still recorded.
    assert client.get(signed_path(secret, link, SHOPPER), follow_redirects=False).status_code == 302
    app.state.links.flush()
    assert traces(factory)["touches"] == 2


@pytest.mark.parametrize(
    "case",
    [
        ({"request_id": "r-1"}, 422, "validation_error"),
        ({"customer_ref": "   ", "request_id": "r-1"}, 422, "validation_error"),
        ({"customer_ref": SHOPPER}, 422, "validation_error"),
        ({"customer_ref": SHOPPER, "request_id": "r-1", "program_id": 999_999}, 404, "program_not_found"),
        ({"customer_ref": "x" * 129, "request_id": "r-1"}, 422, "validation_error"),
        (
            {"customer_ref": SHOPPER, "request_id": "r-1", "at": "2026-03-01T12:00:00"},
            422,
            "validation_error",
        ),
        ({"customer_ref": SHOPPER, "request_id": "r-1", "program_id": 2**63}, 422, "validation_error"),
        ({"customer_ref": SHOPPER, "request_id": "r\x00-1"}, 422, "nul_character"),
    ],
)
def test_bad_requests_are_refused_and_write_nothing(
    client: TestClient,
    operator: dict[str, str],
    footprint: Footprint,
    factory: sessionmaker[Session],
    case: tuple[dict[str, Any], int, str],
) -> None:
    body, status, code = case
    before = row_counts(factory)
    response = client.post(PATH, json=body, headers=operator)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert SHOPPER not in response.text
    assert row_counts(factory) == before
    assert traces(factory) == ERASED
