"""A backdated inviter move and an order of the moved member priced at the same time on another
connection: the order pays the upline of its paid time as the move left it, or the move is refused.

Order intake reads its programs locked in shared mode (``FOR KEY SHARE``) before any upline, and a move
locks its program ``FOR UPDATE``: an order priced while a move is uncommitted waits for it and pays the
new upline; a move made while an order is being taken waits for it, sees it priced and is refused
(``inviter_change_before_priced_orders``). A file's batch prepared on one connection and written on
another is priced again at its write when a move came in between."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.errors import Conflict
from neigou.orders import row_writes
from neigou.orders.ingest import BatchResult, Prepared, Taken, finish, ingest, prepare
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import Commission, OrderSource
from neigou.programs import inviters
from tests.conftest import SECRET, TEST_ACTOR
from tests.factories import create_member
from tests.lock_waits import lock_waits, paused, two_sides
from tests.orders.builders import PAID_AT, SKU, World, build

MOVED = PAID_AT + timedelta(days=1)
PAID = MOVED + timedelta(hours=2)  # after the move's date: the new upline's order


def _world(client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]) -> tuple[World, int]:
    """The standard world (mentor → owner → seller) and "other", the seller's inviter to be."""
    world = build(client, operator, factory)
    joined = (PAID_AT - timedelta(days=9)).isoformat()
    other = create_member(client, operator, world.program_id, "other", tier="mentor", joined_at=joined)["id"]
    return world, other


def _order(world: World, external_id: str = "RACE-1") -> OrderIn:
    return OrderIn(external_id, world.program_id, "shopper-1", world.link, (ItemIn(SKU, 1, 10_000),), PAID)


def _uplines(factory: sessionmaker[Session]) -> list[list[tuple[int, int]]]:
    """Per stored order: the (level, member) its overrides pay."""
    with factory() as session:
        rows = session.execute(
            select(Commission.order_id, Commission.level, Commission.member_id).where(Commission.level > 1)
        ).all()
    orders = sorted({o for o, _, _ in rows})
    return [sorted((int(level), int(m)) for o, level, m in rows if o == order) for order in orders]


def _take(world: World) -> Callable[[Session], BatchResult]:
    def work(session: Session) -> BatchResult:
        return ingest(session, [_order(world)], secret_key=SECRET, source=OrderSource.API, now=utcnow())

    return work


def _move(world: World, other: int) -> Callable[[Session], int | None]:
    def work(session: Session) -> int | None:
        return inviters.change_inviter(
            session, member_id=world.seller, inviter_id=other, actor=TEST_ACTOR, at=MOVED
        ).inviter_id

    return work


@pytest.mark.postgres_only
def test_an_order_priced_during_an_uncommitted_move_waits_and_pays_the_new_upline(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, other = _world(client, operator, factory)
    waits = lock_waits(factory, 2)
    # The move holds once written, uncommitted; the order is taken meanwhile.
    monkeypatch.setattr(inviters, "_open_inviter_period", paused(inviters._open_inviter_period, waits))
    moved, taken = two_sides(factory, _move(world, other), _take(world), waits)
    assert moved == other
    assert isinstance(taken, BatchResult)
    assert all(isinstance(r, Taken) and r.created for r in taken.results)
    assert _uplines(factory) == [[(2, other)]], "the order paid after the move pays the new upline"


@pytest.mark.postgres_only
def test_a_move_made_while_an_order_is_taken_waits_and_is_refused(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, other = _world(client, operator, factory)
    waits = lock_waits(factory, 2)
    # The order holds once written, uncommitted; the move reaching back before it is made meanwhile.
    monkeypatch.setattr(row_writes, "write", paused(row_writes.write, waits))
    taken, moved = two_sides(factory, _take(world), _move(world, other), waits)
    assert isinstance(taken, BatchResult)
    assert isinstance(moved, Conflict)
    assert moved.code == "inviter_change_before_priced_orders"
    assert _uplines(factory) == [[(2, world.owner), (3, world.mentor)]]


def test_a_batch_prepared_before_a_move_and_written_after_it_is_priced_again(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A file's batch is prepared on one connection and written on another (``orders.importer``): a
    move committed in between is seen at the write, and the batch priced again with it."""
    world, other = _world(client, operator, factory)
    with factory() as session:
        prepared = prepare(
            session, [_order(world)], secret_key=SECRET, source=OrderSource.IMPORT, now=utcnow()
        )
    with transaction(factory) as session:
        _move(world, other)(session)
    with transaction(factory) as session:
        done = finish(session, prepared)
    assert all(isinstance(r, Taken) and r.created for r in done.results)
    assert _uplines(factory) == [[(2, other)]]


def test_a_batch_prepared_and_written_without_a_move_between_is_not_priced_again(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, _other = _world(client, operator, factory)
    with factory() as session:
        prepared = prepare(
            session, [_order(world)], secret_key=SECRET, source=OrderSource.IMPORT, now=utcnow()
        )
    assert prepared.redo is not None

    def again(_session: Session) -> Prepared:
        raise AssertionError("priced again without a move")

    monkeypatch.setattr(prepared, "redo", again)
    with transaction(factory) as session:
        finish(session, prepared)
    assert _uplines(factory) == [[(2, world.owner), (3, world.mentor)]]
