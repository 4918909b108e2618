"""``attribute_orders`` with a batch of one: touches from identified clicks and claims, the program's
model and window, the permanent binding of the locked model, the order's own link, self-purchase."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.ids import keyed_hash
from neigou.links import claims, clicks
from neigou.links.attribution import Basis
from neigou.links.models import ClaimSource
from neigou.links.order_attribution import OrderAttribution, OrderToAttribute, UnknownLink, attribute_orders
from neigou.links.touches import identify_visitor
from neigou.links.useragent import UaClass
from neigou.programs.models import Program
from tests.conftest import SECRET, TEST_ACTOR, TokenMaker
from tests.factories import create_member
from tests.links.builders import build, make_link

NOW = utcnow()
SHOPPER = "13900001111"
CUSTOMER = keyed_hash(SECRET, SHOPPER)


def _click(
    factory: sessionmaker[Session],
    link: dict[str, Any],
    at: datetime,
    *,
    visitor: str | None = None,
    known: bool = False,
) -> None:
    with transaction(factory) as session:
        clicks.store_clicks(
            session,
            [
                clicks.click_row(
                    ref=clicks.new_click_ref(),
                    link_id=link["id"],
                    program_id=link["program_id"],
                    member_id=link["member_id"],
                    clicked_at=at,
                    visitor_id=visitor,
                    ua_class=UaClass.WECHAT,
                    customer_ref_hash=CUSTOMER if known else None,
                )
            ],
        )


def _attribute(
    factory: sessionmaker[Session], program_id: int, at: datetime, link_code: str | None = None
) -> Any:
    with factory() as session:
        program = session.get(Program, program_id)
        assert program is not None
        [found] = attribute_orders(
            session, [OrderToAttribute(program_id, CUSTOMER, link_code, at)], {program_id: program}
        )
        return found.attribution if isinstance(found, OrderAttribution) else found


@pytest.mark.parametrize(
    ("model", "member", "basis"),
    [
        ("last_click", "second", Basis.LAST_TOUCH),
        ("first_click", "first", Basis.FIRST_TOUCH),
        ("locked", "first", Basis.LOCKED_BINDING),
    ],
)
def test_models_pick_among_identified_touches(
    *,
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    model: str,
    member: str,
    basis: Basis,
) -> None:
    world = build(client, operator, make_token, attribution={"model": model, "window_days": 15})
    first = make_link(client, operator, member_id=world.member_id, group_id=world.group_id)
    second = make_link(client, operator, member_id=world.other_member_id, coupon_id=world.hidden_id)
    # An anonymous click 10 days ago; the visitor identifies itself later by claiming through the second link.
    _click(factory, first, NOW - timedelta(days=10), visitor="visitor-aaaaaaaaaaaa")
    assert _attribute(factory, world.program_id, NOW).basis is Basis.NO_TOUCH
    with transaction(factory) as session:
        claims.claim_coupon(
            session,
            coupon_id=world.hidden_id,
            customer=claims.Customer.from_ref(SECRET, SHOPPER),
            link_code=second["code"],
            actor=TEST_ACTOR,
            source=ClaimSource.LANDING,
            visitor_id="visitor-aaaaaaaaaaaa",
            at=NOW - timedelta(days=2),
        )
    found = _attribute(factory, world.program_id, NOW)
    expected = {"first": (world.member_id, world.group_id), "second": (world.other_member_id, None)}[member]
    assert (found.member_id, found.group_id, found.basis) == (*expected, basis)
    assert found.self_purchase is False
    # Twenty days on, the first touch has left a 15-day window; the locked binding stays for good.
    later = _attribute(factory, world.program_id, NOW + timedelta(days=10))
    if model == "locked":
        assert (later.member_id, later.basis) == (world.member_id, Basis.LOCKED_BINDING)
    else:
        assert (later.member_id, later.basis) == (world.other_member_id, basis)
    assert _attribute(factory, world.program_id, NOW + timedelta(days=30)).member_id == (
        world.member_id if model == "locked" else None
    )


def test_order_link_wins_and_self_purchase_is_flagged(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    world = build(client, operator, make_token)
    buyer = create_member(client, operator, world.program_id, name="自购的会员", customer_ref=SHOPPER)
    own = make_link(client, operator, member_id=buyer["id"])
    other = make_link(client, operator, member_id=world.member_id, group_id=world.group_id)
    _click(factory, other, NOW - timedelta(hours=3), known=True)
    by_touch = _attribute(factory, world.program_id, NOW)
    assert (by_touch.member_id, by_touch.group_id, by_touch.basis, by_touch.link_code) == (
        world.member_id,
        world.group_id,
        Basis.LAST_TOUCH,
        other["code"],
    )
    by_link = _attribute(factory, world.program_id, NOW, link_code=own["code"])
    assert (by_link.member_id, by_link.basis, by_link.self_purchase) == (buyer["id"], Basis.ORDER_LINK, True)
    refused = _attribute(factory, world.program_id, NOW, link_code="nope0000")
    assert isinstance(refused, UnknownLink)
    assert (refused.code, refused.message.msgid, refused.message.values) == (
        "unknown_link",
        "{field} names no share link.",
        {"field": "link_code"},
    )


def test_a_batch_through_one_link_answers_each_order_as_alone(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    """Orders through the same link share the rule's answer per kind of buyer: the link's member buying
    is flagged, anyone else is not, whatever the time; each answer is the one it gets alone."""
    world = build(client, operator, make_token)
    buyer = create_member(client, operator, world.program_id, name="自购的会员", customer_ref=SHOPPER)
    own = make_link(client, operator, member_id=buyer["id"], coupon_id=world.hidden_id)
    stranger = keyed_hash(SECRET, "13900002222")
    orders = [
        OrderToAttribute(world.program_id, customer, own["code"], NOW + timedelta(hours=hours))
        for customer, hours in [(CUSTOMER, 0), (stranger, 1), (CUSTOMER, 2), (stranger, 3), (stranger, -5)]
    ]
    with factory() as session:
        program = session.get(Program, world.program_id)
        assert program is not None
        together = attribute_orders(session, orders, {world.program_id: program})
        alone = [attribute_orders(session, [order], {world.program_id: program})[0] for order in orders]
    assert together == alone
    flags = [found.attribution.self_purchase for found in together if isinstance(found, OrderAttribution)]
    assert flags == [True, False, True, False, False]
    assert {found.link_coupon_id for found in together if isinstance(found, OrderAttribution)} == {
        world.hidden_id
    }


def test_clicks_flushed_after_the_claim_still_become_touches(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    world = build(client, operator, make_token)
    link = make_link(client, operator, member_id=world.member_id)
    with transaction(factory) as session:
        earlier = identify_visitor(
            session,
            visitor_id="visitor-bbbbbbbbbbbb",
            customer_ref_hash=CUSTOMER,
            customer_ref_masked="139****1111",
            organization_id=_organization(session, world.program_id),
            at=NOW,
        )
    assert earlier == []  # the visitor's click is still in the recorder's buffer
    _click(factory, link, NOW - timedelta(minutes=5), visitor="visitor-bbbbbbbbbbbb")
    assert _attribute(factory, world.program_id, NOW).member_id == world.member_id


def _organization(session: Session, program_id: int) -> int:
    program = session.get(Program, program_id)
    assert program is not None
    return program.organization_id
