"""A shopper with a footprint everywhere: a click carrying their reference, an anonymous click of their
cookie, a claim on the landing page (which identifies the cookie), an attributed order with commission,
a member account of their own, and an entry in the seller's customer book with consent and a pushed
message; plus readers of what is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.crm.models import Consent, Customer, Push, PushChannel, PushMessage
from neigou.events.models import CustomerCount, EventEmployee, Invitation, Reservation
from neigou.kit.clock import utcnow
from neigou.kit.ids import keyed_hash
from neigou.ledger.models import Entry
from neigou.links.models import Binding, ClaimCounter, CouponClaim, LinkClick, Touch, Visitor
from neigou.orders.models import Commission, Order
from neigou.organizations.models import DEFAULT_ORGANIZATION_CODE, Organization
from neigou.programs.models import Member
from tests.conftest import SECRET
from tests.factories import create_member
from tests.links.builders import shop_secret, signed_path
from tests.orders import builders as orders

SHOPPER = "13912345678"
SHOPPER_HASH = keyed_hash(SECRET, SHOPPER)


@dataclass
class Footprint:
    """Where the shopper left traces."""

    world: orders.World
    coupon_link: str
    coupon_id: int
    order: dict[str, Any]
    shopper_member_id: int
    shop_secret: str  # the program's shop: signs the clicks that name the shopper


def order_body(world: orders.World, external_id: str, link: str | None = None) -> dict[str, Any]:
    """The shopper's order of one shampoo at ¥49.90, attributed by touches unless a link is given."""
    return {
        "external_id": external_id,
        "program_id": world.program_id,
        "customer_ref": SHOPPER,
        "link_code": link,
        "items": [{"sku": orders.SKU, "quantity": 1, "paid_fen": 4990}],
        "paid_at": utcnow().isoformat(),
    }


def build(
    client: TestClient, app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session]
) -> Footprint:
    """The standard world of the orders tests, and the shopper's footprint in it."""
    world = orders.build(client, operator, factory)
    opened, coupon_link = orders.coupon_link(client, operator, world, name="群内立减5元")
    shopper = create_member(client, operator, world.program_id, name="顾客也是会员", customer_ref=SHOPPER)
    # A click carrying the shopper's reference, signed by the shop (a touch), then an anonymous click of
    # their cookie.
    secret = shop_secret(client, operator, world.program_id)
    assert client.get(signed_path(secret, world.link, SHOPPER), follow_redirects=False).status_code == 302
    assert client.get(f"/l/{coupon_link}", follow_redirects=False).status_code == 302
    app.state.links.flush()
    # The claim on the landing page identifies the cookie: its click becomes a touch too.
    claimed = client.post(f"/p/{coupon_link}/claim", data={"phone": SHOPPER}, follow_redirects=False)
    assert claimed.status_code == 303
    assert "claimed=1" in claimed.headers["location"]
    order = orders.post_order(client, operator, order_body(world, "JD-1001"))
    customer = client.post(
        f"/api/v1/members/{world.seller}/customers",
        json={"customer_ref": SHOPPER, "name": "王女士", "consent": {"marketing": True}},
        headers=operator,
    )
    assert customer.status_code == 201, customer.text
    _pushed(factory, world, customer.json()["id"])
    return Footprint(world, coupon_link, opened["id"], order, shopper["id"], secret)


def _pushed(factory: sessionmaker[Session], world: orders.World, customer_id: int) -> None:
    """A message pushed to the shopper as a customer of the seller."""
    now = utcnow()
    with factory() as session, session.begin():
        push = Push(
            program_id=world.program_id,
            member_id=world.seller,
            skus=[orders.SKU],
            channel=PushChannel.TASK,
            created_at=now,
        )
        session.add(push)
        session.flush()
        session.add(
            PushMessage(
                push_id=push.id,
                program_id=world.program_id,
                member_id=world.seller,
                customer_id=customer_id,
                sku=orders.SKU,
                text="王女士，您好：洗发水群内价 ¥24.90",
                send_at=now,
            )
        )


def traces(factory: sessionmaker[Session], customer_hash: str = SHOPPER_HASH) -> dict[str, int]:
    """Rows of each kind still naming the customer's hash."""
    queries = {
        "touches": select(func.count()).where(Touch.customer_ref_hash == customer_hash),
        "bindings": select(func.count()).where(Binding.customer_ref_hash == customer_hash),
        "visitors": select(func.count()).where(Visitor.customer_ref_hash == customer_hash),
        "clicks": select(func.count()).where(LinkClick.customer_ref_hash == customer_hash),
        "claims": select(func.count()).where(CouponClaim.customer_ref_hash == customer_hash),
        "claim_counters": select(func.count()).where(ClaimCounter.customer_ref_hash == customer_hash),
        "orders": select(func.count()).where(Order.customer_ref_hash == customer_hash),
        "members": select(func.count()).where(Member.customer_ref_hash == customer_hash),
        "customers": select(func.count()).where(Customer.customer_ref_hash == customer_hash),
        "consents": select(func.count())
        .select_from(Consent)
        .join(Customer, Customer.id == Consent.customer_id)
        .where(Customer.customer_ref_hash == customer_hash),
        "push_messages": select(func.count())
        .select_from(PushMessage)
        .join(Customer, Customer.id == PushMessage.customer_id)
        .where(Customer.customer_ref_hash == customer_hash),
        "audit_entries": select(func.count()).where(
            AuditEntry.entity == "customer",
            AuditEntry.entity_id.in_(
                select(cast(Customer.id, String)).where(Customer.customer_ref_hash == customer_hash)
            ),
        ),
        "event_reservations": select(func.count()).where(Reservation.customer_ref_hash == customer_hash),
        "event_counts": select(func.count()).where(CustomerCount.customer_ref_hash == customer_hash),
        "event_invitations": select(func.count()).where(Invitation.customer_ref_hash == customer_hash),
        "event_employees": select(func.count()).where(EventEmployee.customer_ref_hash == customer_hash),
    }
    with factory() as session:
        return {kind: int(session.scalar(query) or 0) for kind, query in queries.items()}


def money(factory: sessionmaker[Session]) -> dict[str, Any]:
    """The money facts: order amounts, commissions, and every ledger entry."""
    with factory() as session:
        return {
            "orders": [
                tuple(r)
                for r in session.execute(
                    select(Order.external_id, Order.member_id, Order.paid_fen, Order.commission_fen).order_by(
                        Order.id
                    )
                )
            ],
            "commissions": [
                tuple(r)
                for r in session.execute(
                    select(Commission.member_id, Commission.level, Commission.amount_fen).order_by(
                        Commission.id
                    )
                )
            ],
            "entries": [
                tuple(r)
                for r in session.execute(
                    select(Entry.posting_id, Entry.member_id, Entry.account, Entry.amount_fen).order_by(
                        Entry.id
                    )
                )
            ],
        }


def default_organization(factory: sessionmaker[Session]) -> int:
    """The id of the organization the footprint is built in (the deployment's default one)."""
    with factory() as session:
        found = session.scalar(select(Organization.id).where(Organization.code == DEFAULT_ORGANIZATION_CODE))
    assert found is not None
    return int(found)
