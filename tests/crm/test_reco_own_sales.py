"""A salesperson's card reads only the customer's orders attributed to them: the last purchase, what
was just bought (never suggested) and the categories of the category reason come from the member's own
sales, never from what the same shopper bought through another salesperson of the program."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.groups.compliance import local_date
from neigou.orders.models import Order
from neigou.programs.models import Program
from tests.conftest import TokenMaker
from tests.crm import reco_builders
from tests.crm.builders import add_customer
from tests.crm.reco_builders import CUSTOMER_REF, RecoWorld
from tests.sign_in import member_sign_in


def _shared_shopper(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> tuple[RecoWorld, int]:
    """The reco world (the first member sold the shopper JUST five days ago, SNEAKER a hundred days
    ago), with the same shopper in the second member's book, who sold them COAT three days ago."""
    world = reco_builders.build(client, operator, factory, make_token)
    theirs = add_customer(client, operator, world.other_member_id, CUSTOMER_REF, tags=["通勤"])["id"]
    reco_builders.place_order(
        client, operator, factory, world, "theirs-coat", ref=CUSTOMER_REF, skus=["COAT"], days=3,
        member_id=world.other_member_id,
    )  # fmt: skip
    return world, theirs


def _paid_day(factory: sessionmaker[Session], world: RecoWorld, external_id: str) -> str:
    with factory() as session:
        paid_at: datetime = session.scalars(
            select(Order.paid_at).where(Order.external_id == external_id)
        ).one()
        zone = session.scalars(select(Program.timezone).where(Program.id == world.program_id)).one()
    return local_date(paid_at, zone).isoformat()


def test_suggestions_leave_out_and_reason_from_the_members_own_sales_only(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    world, theirs = _shared_shopper(client, operator, factory, make_token)
    mine = reco_builders.reasons(client, world.customer_id, world.member)
    # COAT was bought three days ago, but through the other member: nothing on this card says so.
    assert mine["COAT"] == ["合其喜好：羊毛 / 通勤", "常买品类：服饰", "价位合其消费力（高）"]
    assert "JUST" not in mine  # bought through this member five days ago
    other = reco_builders.reasons(client, theirs, world.other_member)
    assert "COAT" not in other  # bought through the other member: left out of their card
    # JUST was bought through the first member: the other member's card suggests it for its taste, and
    # no reason speaks of shoes, the category of SNEAKER, bought through the first member only.
    assert other["JUST"] == ["合其喜好：通勤", "常买品类：服饰"]
    assert not any("鞋靴" in r for reasons in other.values() for r in reasons), other


def test_the_last_purchase_and_categories_are_the_members_own(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    world, theirs = _shared_shopper(client, operator, factory, make_token)
    derived = client.post(f"/api/v1/programs/{world.program_id}/customers/derive", headers=operator)
    assert derived.status_code == 200, derived.text
    mine = client.get(f"/api/v1/customers/{world.customer_id}", headers=world.member).json()
    other = client.get(f"/api/v1/customers/{theirs}", headers=world.other_member).json()
    assert mine["last_purchase_at"][:10] < other["last_purchase_at"][:10]  # JUST, five days ago: not COAT
    assert (mine["preferred_categories"], other["preferred_categories"]) == (
        ["apparel", "shoes"],
        ["apparel"],
    )
    member_sign_in(client, world.member_token)
    card = client.get(f"/m/customers/{world.customer_id}").text
    last = card.split('data-testid="card-last-purchase">')[1].split("</dd>")[0]
    assert last == _paid_day(factory, world, "reco-1")  # JUST, through this member
    assert card.count('data-testid="card-order"') == 2  # JUST and SNEAKER, not the other member's COAT
    member_sign_in(client, make_token(Role.MEMBER, world.other_member_id))
    theirs_card = client.get(f"/m/customers/{theirs}").text
    last = theirs_card.split('data-testid="card-last-purchase">')[1].split("</dd>")[0]
    assert last == _paid_day(factory, world, "theirs-coat")
    assert client.get(f"/m/customers/{world.customer_id}").status_code == 404  # not their customer
