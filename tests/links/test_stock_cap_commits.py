"""A lowering of a coupon's stock at its commit: when the connection drops during the COMMIT (the
lowering may have committed), the gate keeps the lower cap until it expires or the next change of stock
sets it; only a known rollback lifts it. A transaction that outlived its cap (``CAP_PENDING_SECONDS``)
is refused at its commit, 503 ``stock_unconfirmed``, since processes holding the old terms may have
claimed up to the old stock meanwhile."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import psycopg.errors
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.errors import Conflict
from neigou.links import stock_gate
from neigou.links.gate_scripts import StockUnconfirmed
from neigou.links.stock_gate import StockGate
from neigou.offers import offer_edit
from neigou.offers.offer_schemas import CouponUpdate
from tests.conftest import TEST_ACTOR
from tests.links.conftest import behind_gate
from tests.links.test_claim_stream import _claim, _coupon
from tests.links.test_stock_caps import cap_of, edit, other_process, stored
from tests.offers.factories import coupon

NEARLY_LAPSED_S = 100  # what is left of a pending cap at the commit


@pytest.fixture
def gate() -> Iterator[StockGate]:
    yield from behind_gate()


def _commit_fails(engine: Engine, *, reached: bool) -> Any:
    """The next COMMIT's connection drops: after the database committed (``reached``), or before."""
    fired: list[bool] = []

    def drop(conn: Any) -> None:
        if fired:
            return
        fired.append(True)
        if reached:
            conn.connection.dbapi_connection.commit()
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    event.listen(engine, "commit", drop)
    return drop


@pytest.mark.parametrize("reached", [True, False], ids=["committed", "not_committed"])
def test_a_lowering_whose_commit_fails_keeps_the_lower_cap(
    factory: sessionmaker[Session], engine: Engine, gate: StockGate, reached: bool
) -> None:
    coupon_id = _coupon(factory, total=5)
    other = other_process(gate)
    assert _claim(factory, other, coupon_id, "13800000001").startswith("taken:")  # it holds stock 5
    drop = _commit_fails(engine, reached=reached)
    try:
        with pytest.raises(OperationalError):
            edit(factory, coupon_id, total_quantity=2)
    finally:
        event.remove(engine, "commit", drop)
    cap, seconds = cap_of(factory, gate, coupon_id)
    assert cap == 2  # the lower stock, whatever the database did
    assert seconds > stock_gate.CAP_KEPT_SECONDS  # pending: it ends at its expiry
    outcomes = [_claim(factory, other, coupon_id, f"1380000001{i}") for i in range(3)]
    assert [o.split(":")[0] for o in outcomes] == ["taken", "sold_out", "sold_out"]
    assert stored(factory, gate, coupon_id) == (2, 2 if reached else 5)
    edit(factory, coupon_id, total_quantity=4)  # the next change sets the cap from the database
    assert cap_of(factory, gate, coupon_id)[0] == 4
    assert _claim(factory, other, coupon_id, "13800000021").startswith("taken:")


def _busy() -> DBAPIError:
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = 5  # SQLITE_BUSY, as SQLite's own errors carry it
    return OperationalError("COMMIT", {}, locked)


def _deferred_constraint() -> DBAPIError:
    return IntegrityError("COMMIT", {}, psycopg.errors.ForeignKeyViolation("deferred constraint"))


@pytest.mark.parametrize("refusal", [_busy, _deferred_constraint], ids=["busy", "deferred_constraint"])
def test_a_lowering_whose_commit_the_database_refuses_lifts_the_cap(
    factory: sessionmaker[Session], engine: Engine, gate: StockGate, refusal: Any
) -> None:
    """The database answered the COMMIT with an error over a live connection: nothing was committed,
    so the cap goes back to the stock kept, for the short ``CAP_KEPT_SECONDS``, as on any rollback."""
    coupon_id = _coupon(factory, total=5)
    other = other_process(gate)
    assert _claim(factory, other, coupon_id, "13800000001").startswith("taken:")

    def refuse(_conn: Any) -> None:
        raise refusal()

    event.listen(engine, "commit", refuse, once=True)
    with pytest.raises(DBAPIError):
        edit(factory, coupon_id, total_quantity=2)
    cap, seconds = cap_of(factory, gate, coupon_id)
    assert (cap, seconds <= stock_gate.CAP_KEPT_SECONDS) == (5, True)
    outcomes = [_claim(factory, other, coupon_id, f"1380000001{i}") for i in range(5)]
    assert [o.split(":")[0] for o in outcomes] == ["taken"] * 4 + ["sold_out"]
    assert stored(factory, gate, coupon_id) == (5, 5)


def test_a_lowering_rolled_back_before_its_commit_lifts_the_cap(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    """A failure before the COMMIT (here: the stock CHECK at the commit's flush) is a known rollback."""
    coupon_id = _coupon(factory, total=5)

    def lower_then_fail() -> None:
        with factory() as session, session.begin():
            coupon = offer_edit.update_coupon(
                session, coupon_id=coupon_id, data=CouponUpdate(total_quantity=2), actor=TEST_ACTOR
            )
            coupon.claimed_quantity = 3  # flushed by the commit, refused there

    with pytest.raises(IntegrityError):
        lower_then_fail()
    assert cap_of(factory, gate, coupon_id)[0] == 5


def test_a_lowering_that_outlived_its_cap_is_refused_at_its_commit(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=5)
    other = other_process(gate)
    assert _claim(factory, other, coupon_id, "13800000001").startswith("taken:")
    assert _claim(factory, other, coupon_id, "13800000002").startswith("taken:")

    def lower_and_outlive_the_cap() -> None:
        with factory() as session, session.begin():
            lowered = offer_edit.update_coupon(
                session, coupon_id=coupon_id, data=CouponUpdate(total_quantity=2), actor=TEST_ACTOR
            )
            assert _claim(factory, other, coupon_id, "13800000003") == "sold_out"  # the cap holds ...
            # ... until it lapses: its CAP_PENDING_SECONDS made to pass now, not on the clock, which a
            # loaded machine could let pass before the claim above
            gate.client.pexpire(gate.keys(lowered, "").cap, 1)
            deadline = time.monotonic() + 5
            while cap_of(factory, gate, coupon_id)[0] is not None:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            # then claims on the old terms (stock 5) get through
            assert _claim(factory, other, coupon_id, "13800000004").startswith("taken:")
            assert _claim(factory, other, coupon_id, "13800000005").startswith("taken:")

    with pytest.raises(StockUnconfirmed) as refused:
        lower_and_outlive_the_cap()
    assert (refused.value.status, refused.value.code, refused.value.retry_after) == (
        503,
        "stock_unconfirmed",
        5,
    )
    assert stored(factory, gate, coupon_id) == (4, 5)  # the stock kept: every answered claim stored
    with pytest.raises(Conflict):
        edit(factory, coupon_id, total_quantity=2)  # tried again: checked against the claims since


def test_a_lowering_confirmed_at_its_commit_keeps_its_cap_longer(
    factory: sessionmaker[Session], gate: StockGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit's confirmation keeps the pending cap another ``CAP_PENDING_SECONDS``, so the COMMIT
    after it never finds it lapsed."""
    coupon_id = _coupon(factory, total=5)
    monkeypatch.setattr(stock_gate, "_settle", lambda *_a, **_k: None)  # the cap as the COMMIT left it
    with factory() as session, session.begin():
        coupon = offer_edit.update_coupon(
            session, coupon_id=coupon_id, data=CouponUpdate(total_quantity=3), actor=TEST_ACTOR
        )
        key = gate.keys(coupon, "").cap
        gate.client.expire(key, NEARLY_LAPSED_S)  # nearly lapsed, and no race with a loaded machine's clock
    assert (gate.stock_cap(coupon), gate.client.ttl(key) > NEARLY_LAPSED_S) == (3, True)


def test_the_api_answers_a_lapsed_cap_at_the_commit_with_503_and_keeps_the_stock(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    gate: StockGate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = coupon(client, operator, 100, total_quantity=10)
    monkeypatch.setattr(StockGate, "settle_cap", lambda *_a, **_k: False)  # the cap found gone
    answer = client.patch(f"/api/v1/coupons/{made['id']}", json={"total_quantity": 4}, headers=operator)
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert (answer.json()["code"], answer.headers["retry-after"]) == ("stock_unconfirmed", "5")
    assert stored(factory, gate, made["id"]) == (0, 10)
