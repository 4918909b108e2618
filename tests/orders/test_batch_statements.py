"""A batch of orders costs the same statements whatever its size: programs, links, touches, bindings
and buyers are loaded once per batch, never per order (counted with a ``before_cursor_execute``
listener on the engine)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.columns import RowError
from neigou.kit.db import transaction
from neigou.kit.ids import keyed_hash
from neigou.links.clicks import click_row, new_click_ref, store_clicks
from neigou.links.models import ShareLink
from neigou.links.useragent import UaClass
from neigou.orders.ingest import BatchResult, Taken, ingest
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import Order, OrderSource
from tests.conftest import SECRET
from tests.factories import create_member, create_program
from tests.orders.builders import PAID_AT, SKU, World, build, make_link
from tests.statements import statements

CLICKED = PAID_AT - timedelta(days=2)


def _touch(factory: sessionmaker[Session], code: str, customer_ref: str) -> None:
    """A click that named its shopper: a touch of that customer."""
    with transaction(factory) as session:
        link = session.scalars(select(ShareLink).where(ShareLink.code == code)).one()
        store_clicks(
            session,
            [
                click_row(
                    ref=new_click_ref(),
                    link_id=link.id,
                    program_id=link.program_id,
                    member_id=link.member_id,
                    clicked_at=CLICKED,
                    visitor_id=None,
                    ua_class=UaClass.WECHAT,
                    customer_ref_hash=keyed_hash(SECRET, customer_ref),
                )
            ],
        )


def _batch(world: World, locked: tuple[int, str], size: int, tag: str) -> list[OrderIn]:
    """``size`` orders of each kind: through a link, by a touched shopper, by an unknown shopper, by
    the seller themselves, in the locked program; plus an unknown link, one repeat and a stored order."""
    locked_program, locked_link = locked
    orders: list[OrderIn] = []
    for n in range(size):
        at = PAID_AT + timedelta(minutes=n)
        item = (ItemIn(SKU, 1, 4990),)
        orders += [
            OrderIn(f"{tag}-link-{n}", world.program_id, f"shopper-{tag}-{n}", world.link, item, at),
            OrderIn(f"{tag}-touch-{n}", world.program_id, f"touched-{n % 3}", None, item, at),
            OrderIn(f"{tag}-none-{n}", world.program_id, f"stranger-{tag}-{n}", None, item, at),
            OrderIn(f"{tag}-self-{n}", world.program_id, "13800000001", world.link, item, at),
            OrderIn(f"{tag}-locked-{n}", locked_program, f"touched-{n % 3}", None, item, at),
            OrderIn(f"{tag}-lockedlink-{n}", locked_program, f"shopper-{tag}-{n}", locked_link, item, at),
        ]
    orders += [
        OrderIn(f"{tag}-badlink", world.program_id, "someone", "nope0000", (ItemIn(SKU, 1, 4990),), PAID_AT),
        orders[0],  # the same order twice in one batch
        OrderIn("stored-before", world.program_id, "someone", None, (ItemIn(SKU, 1, 4990),), PAID_AT),
    ]
    return orders


def _ingest(factory: sessionmaker[Session], orders: list[OrderIn]) -> BatchResult:
    with transaction(factory) as session:
        return ingest(session, orders, secret_key=SECRET, source=OrderSource.IMPORT, now=utcnow())


def test_a_batch_costs_the_same_statements_whatever_its_size(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], engine: Engine
) -> None:
    world = build(client, operator, factory, attribution={"model": "last_click", "window_days": 15})
    other = create_program(client, operator, code="brand", attribution={"model": "locked", "window_days": 15})
    salesperson = create_member(client, operator, other["id"], "salesperson")
    locked_link = make_link(factory, salesperson["id"])
    for n in range(3):
        _touch(factory, world.owner_link, f"touched-{n}")
        _touch(factory, locked_link, f"touched-{n}")
    _ingest(factory, [_batch(world, (other["id"], locked_link), 1, "warm")[-1]])  # "stored-before"

    counts: dict[int, int] = {}
    for size in (12, 48):  # 75 and 291 orders: both above the size that checks for stored orders first
        orders = _batch(world, (other["id"], locked_link), size, f"s{size}")
        with statements(engine) as seen:
            result = _ingest(factory, orders)
        counts[size] = len(seen)
        assert len(result.created) == 6 * size
        assert [(e.key, e.code) for e in result.errors] == [(f"s{size}-badlink", "unknown_link")]
        assert result.duplicates == 2
        assert isinstance(result.results[-2], Taken)
        assert not isinstance(result.results[-1], RowError)
    assert counts[48] == counts[12]

    with factory() as session:
        orders_by_id = {o.external_id: o for o in session.scalars(select(Order))}
    for size in (12, 48):
        for n in (0, size - 1):
            assert orders_by_id[f"s{size}-link-{n}"].member_id == world.seller
            assert orders_by_id[f"s{size}-link-{n}"].attribution_basis == "order_link"
            assert (
                orders_by_id[f"s{size}-touch-{n}"].member_id,
                orders_by_id[f"s{size}-touch-{n}"].attribution_basis,
            ) == (world.owner, "last_touch")
            assert (
                orders_by_id[f"s{size}-none-{n}"].member_id,
                orders_by_id[f"s{size}-none-{n}"].attribution_basis,
            ) == (None, "no_touch")
            assert orders_by_id[f"s{size}-self-{n}"].self_purchase is True
            assert (
                orders_by_id[f"s{size}-locked-{n}"].member_id,
                orders_by_id[f"s{size}-locked-{n}"].attribution_basis,
            ) == (salesperson["id"], "locked_binding")
            assert orders_by_id[f"s{size}-lockedlink-{n}"].member_id == salesperson["id"]
            assert orders_by_id[f"s{size}-touch-{n}"].self_purchase is False


def test_small_batches_cost_the_same_statements_too(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], engine: Engine
) -> None:
    # Below 50 orders a batch first looks for stored orders (the API's batch of one among them).
    world = build(client, operator, factory)
    _touch(factory, world.owner_link, "touched-0")
    counts = []
    for size in (2, 40):
        orders = [
            OrderIn(
                f"small{size}-{n}",
                world.program_id,
                "touched-0",
                world.link if n % 2 else None,
                (ItemIn(SKU, 1, 4990),),
                PAID_AT + timedelta(minutes=n),
            )
            for n in range(size)
        ]
        with statements(engine) as seen:
            result = _ingest(factory, orders)
        assert len(result.created) == size
        counts.append(len(seen))
    assert counts[1] == counts[0]
