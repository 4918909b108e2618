"""The upline paid on an order is the upline of its paid time: an order paid before the seller moved to
another inviter and reported after the move pays the old upline, one paid after pays the new one, on
the API and through the bulk import (whose chain through a seller is computed once per batch only when
no inviter of the chain changes within the batch's paid times). Moves are dated: never in the future,
never before the current inviter took effect."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.links.attribution import Attribution, Basis
from neigou.orders import batch_rows, lookups
from neigou.orders.ingest import Taken, ingest
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import Commission, OrderSource
from neigou.programs.models import Program
from tests.conftest import SECRET
from tests.factories import create_member
from tests.orders.builders import PAID_AT, SKU, World, build, order_body, post_order

MOVED = PAID_AT + timedelta(days=1)


def _move(
    client: TestClient,
    operator: dict[str, str],
    member: int,
    inviter: int | None,
    at: Any,
    *,
    status: int = 200,
) -> dict[str, Any]:
    body: dict[str, Any] = {"inviter_id": inviter}
    if at is not None:
        body["effective_from"] = at.isoformat()
    response = client.put(f"/api/v1/members/{member}/inviter", json=body, headers=operator)
    assert response.status_code == status, response.text
    out: dict[str, Any] = response.json()
    return out


def _moved_world(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> tuple[World, int]:
    """The standard world, the seller moved from the owner to a new member ("other") at ``MOVED``."""
    world = build(client, operator, factory)
    other = create_member(
        client,
        operator,
        world.program_id,
        "other",
        tier="mentor",
        joined_at=(PAID_AT - timedelta(days=9)).isoformat(),
    )["id"]
    _move(client, operator, world.seller, other, MOVED)
    return world, other


def _uplines(order: dict[str, Any]) -> list[tuple[int, int]]:
    return [(c["level"], c["member_id"]) for c in order["commissions"] if c["level"] > 1]


def test_an_api_order_paid_before_the_move_pays_the_old_upline_and_one_paid_after_the_new(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world, other = _moved_world(client, operator, factory)
    before = post_order(client, operator, order_body(world, "BEFORE", at=MOVED - timedelta(hours=2)))
    after = post_order(client, operator, order_body(world, "AFTER", at=MOVED + timedelta(hours=2)))
    assert _uplines(before) == [(2, world.owner), (3, world.mentor)]
    assert _uplines(after) == [(2, other)]


def _order(world: World, n: int, at: Any) -> OrderIn:
    return OrderIn(f"IMP-{n}", world.program_id, f"shopper-{n}", world.link, (ItemIn(SKU, 1, 10_000),), at)


def _earned(factory: sessionmaker[Session], order_id: int) -> list[tuple[int, int]]:
    with factory() as session:
        rows = session.query(Commission.level, Commission.member_id).filter(Commission.order_id == order_id)
        return sorted((int(level), int(m)) for level, m in rows if level > 1)


def test_an_imported_batch_across_the_move_pays_each_order_the_upline_of_its_paid_time(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world, other = _moved_world(client, operator, factory)
    times = [MOVED - timedelta(hours=3), MOVED + timedelta(hours=1), MOVED - timedelta(minutes=1), MOVED]
    with transaction(factory) as session:
        done = ingest(
            session,
            [_order(world, n, at) for n, at in enumerate(times)],
            secret_key=SECRET,
            source=OrderSource.IMPORT,
            now=utcnow(),
        )
    assert all(isinstance(r, Taken) for r in done.results)
    old, new = [(2, world.owner), (3, world.mentor)], [(2, other)]
    assert [_earned(factory, r.order_id) for r in done.results if isinstance(r, Taken)] == [
        old,
        new,
        old,
        new,
    ]


def _chains(
    factory: sessionmaker[Session], world: World, span: tuple[Any, Any]
) -> tuple[batch_rows.Chains, list[list[int]]]:
    """A batch's chains over ``span`` and the members paid on an order at each end of it."""
    with factory() as session:
        program = session.get(Program, world.program_id)
        assert program is not None
        facts = lookups.member_facts(session, [world.seller], program.max_levels - 1)
        chains = batch_rows.Chains({program.id: program}, lookups.tiers(session, [program.id]), facts, span)
        seller = Attribution(world.seller, None, Basis.ORDER_LINK)
        paid = [[e.member_id for e in chains.of(program.id, seller, at)] for at in span]
    return chains, paid


def test_the_batch_keeps_a_sellers_chain_only_while_no_inviter_of_it_changes_within_the_batch(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world, other = _moved_world(client, operator, factory)
    steady, paid = _chains(factory, world, (PAID_AT, MOVED - timedelta(seconds=1)))
    assert steady.known != {}  # computed once for the batch
    assert paid == [[world.seller, world.owner, world.mentor]] * 2
    steady, paid = _chains(factory, world, (MOVED, MOVED + timedelta(days=1)))
    assert steady.known != {}  # the move opens the span: nothing changes within it
    assert paid == [[world.seller, other]] * 2
    across, paid = _chains(factory, world, (MOVED - timedelta(seconds=1), MOVED))
    assert across.known == {}  # per order
    assert paid == [[world.seller, world.owner, world.mentor], [world.seller, other]]


def test_a_move_is_never_dated_in_the_future_nor_before_the_current_inviter(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world, other = _moved_world(client, operator, factory)
    future = _move(client, operator, world.seller, world.owner, utcnow() + timedelta(hours=1), status=422)
    assert future["code"] == "inviter_change_in_future"
    early = _move(client, operator, world.seller, world.owner, MOVED - timedelta(seconds=1), status=422)
    assert early["code"] == "inviter_change_too_early"
    assert "effective_from" in early["detail"]
    now = _move(client, operator, world.seller, world.owner, None)
    assert now["inviter_id"] == world.owner
    late = post_order(client, operator, order_body(world, "LATE", at=MOVED + timedelta(hours=2)))
    assert _uplines(late) == [(2, other)]  # paid while under "other", reported after the move back


def test_a_move_dated_within_the_clock_skew_ahead_is_no_move_in_the_future(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A move without a date takes effect the clock skew after now; a date typed that far ahead is
    accepted too (the API never refuses a time its own default produces)."""
    world, _ = _moved_world(client, operator, factory)
    ahead = utcnow() + timedelta(minutes=4)
    assert _move(client, operator, world.seller, world.owner, ahead)["inviter_id"] == world.owner


def test_a_move_cannot_reach_back_past_the_sellers_orders_already_priced(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """Stored orders are never re-priced: a move dated before the latest one's ``paid_at`` would leave it
    on the old upline while a twin reported after the move pays the new one. Refused, nothing written,
    at its very instant too; a move dated after it goes through."""
    world = build(client, operator, factory)
    other = create_member(
        client, operator, world.program_id, "other", joined_at=(PAID_AT - timedelta(days=9)).isoformat()
    )["id"]
    post_order(client, operator, order_body(world, "PRICED", at=MOVED))
    refused = _move(client, operator, world.seller, other, MOVED - timedelta(seconds=1), status=409)
    assert refused["code"] == "inviter_change_before_priced_orders"
    assert "effective_from" in refused["detail"]
    assert MOVED.isoformat() not in refused["detail"]
    zh = client.put(
        f"/api/v1/members/{world.seller}/inviter",
        json={"inviter_id": other, "effective_from": (MOVED - timedelta(hours=1)).isoformat()},
        headers={**operator, "Accept-Language": "zh-CN"},
    )
    assert zh.status_code == 409
    assert "已计佣" in zh.json()["detail"]
    # at the order's very instant: an order paid then takes the new period (``effective_from <= at``),
    # so the stored one would differ from its twin reported later
    _move(client, operator, world.seller, other, MOVED, status=409)
    after = MOVED + timedelta(seconds=1)
    assert _move(client, operator, world.seller, other, after)["inviter_id"] == other
    later = post_order(client, operator, order_body(world, "LATER", at=after))
    assert _uplines(later) == [(2, other)]
