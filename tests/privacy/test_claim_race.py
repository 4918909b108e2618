"""A landing-page claim queued behind the stock gate with the shopper's marketing consent, stored by the
claim writer on another connection at the moment the shopper opts out: whichever comes
first, the shopper is not left in the member's customer book.

The queued claim carries its consent to the claim writer (``links.claim_stream``), which takes the
locks of its batch's customers (``privacy.repository.lock_customers``, one statement; the wide lock for
a large batch) before its first write, and announces the consent (``crm.capture``) under them. A
batch that passed the capture's suppression check first holds the opt-out back until it commits, and
the opt-out then erases the customer it added; an opt-out that came first holds the batch back until
it commits, and the capture then finds it and adds nobody. Each test holds one side open inside that
window (a hold after the capture's suppression check, or after the erasure) until the other waits for
its lock or ran to its end (``tests.lock_waits``): without the lock the customer stays. Either way the
claim row ends up holding no hash or masked phone of the shopper. On
SQLite the lock is the database's write lock, which the claim writer's batch takes before its first
write anyway, so there these pass without the customers' lock too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import capture, erasure
from neigou.crm.models import Customer
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.ids import ERASED
from neigou.links import claim_stream, claims
from neigou.links.consent import GivenConsent
from neigou.links.models import ClaimSource, CouponClaim, Touch
from neigou.links.stock_gate import StockGate
from neigou.privacy import repository
from tests.conftest import SECRET, TEST_ACTOR
from tests.links.conftest import behind_gate
from tests.lock_waits import LockWaits, lock_waits
from tests.orders import builders as orders
from tests.privacy.builders import SHOPPER, SHOPPER_HASH
from tests.privacy.races import lock_width, opt_out, paused, race  # noqa: F401 - fixtures
from tests.sqlite_lock_waits import SqliteLockWaits


@pytest.fixture
def gate() -> Iterator[StockGate]:
    yield from behind_gate()


def _queued_claim(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], gate: StockGate
) -> tuple[orders.World, list[Any]]:
    """A landing-page claim of the seller's coupon link with the marketing tick, taken behind the gate:
    the world and the claim stream's entries (nothing of the shopper is in the database yet)."""
    world = orders.build(client, operator, factory)
    now = utcnow()
    opened, code = orders.coupon_link(client, operator, world)
    with transaction(factory) as session:
        made = claims.claim_coupon(
            session,
            coupon_id=opened["id"],
            customer=claims.Customer.from_ref(SECRET, SHOPPER),
            actor=TEST_ACTOR,
            source=ClaimSource.LANDING,
            link_code=code,
            gate=gate,
            consent=GivenConsent(at=now, source="landing"),
        )
    assert made.queued
    assert gate.stream is not None
    entries: Any = gate.client.xrange(gate.stream)
    assert len(entries) == 1
    return world, entries


def _race(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    gate: StockGate,
    *,
    writer_first: bool,
    waits: LockWaits | SqliteLockWaits,
) -> dict[str, int]:
    """The claim writer storing the queued claim and an opt-out on two connections, the second started
    once the first reached its hold; the opt-out's counts. The claim is stored either way."""
    world, entries = _queued_claim(client, operator, factory, gate)
    erased, stored = race(
        factory,
        writer=lambda session: claim_stream.store_entries(session, entries),
        opt_out=lambda session: opt_out(
            session, secret_key=SECRET, customer_ref=SHOPPER, program_id=world.program_id
        ),
        writer_first=writer_first,
        waits=waits,
    )
    assert stored == 1  # the claim was stored
    with factory() as session:
        left = [
            session.scalar(
                select(func.count()).select_from(table).where(table.customer_ref_hash == SHOPPER_HASH)
            )
            for table in (Customer, Touch)
        ]
        assert session.scalar(select(func.count()).select_from(CouponClaim)) == 1
        # Stored before or after the opt-out, the claim names the shopper no more: the opt-out
        # tombstoned it, or the batch found the opt-out and stored it so.
        claim = session.execute(
            select(CouponClaim.customer_ref_hash, CouponClaim.customer_ref_masked, CouponClaim.visitor_id)
        ).one()
        assert (claim[0] != SHOPPER_HASH, claim[1], claim[2]) == (True, ERASED, None)
    assert left == [0, 0]
    return erased


@pytest.mark.usefixtures("lock_width")
def test_a_queued_claim_stored_before_the_opt_out_loses_its_customer_to_it(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    gate: StockGate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits = lock_waits(factory, 2)
    monkeypatch.setattr(capture, "suppressed", paused(repository.suppressed, waits))
    erased = _race(client, operator, factory, gate, writer_first=True, waits=waits)
    # The opt-out waited for the batch's commit and erased the customer its consent added.
    assert (erased["customers"], erased["touches"]) == (1, 1)


@pytest.mark.usefixtures("lock_width")
def test_a_queued_claim_stored_during_the_opt_out_waits_and_adds_no_customer(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    gate: StockGate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits = lock_waits(factory, 2)
    monkeypatch.setattr(erasure, "erase_customers", paused(erasure.erase_customers, waits))
    erased = _race(client, operator, factory, gate, writer_first=False, waits=waits)
    # The batch waited for the opt-out's commit, then found it: the consent added nobody.
    assert (erased["customers"], erased["touches"]) == (0, 0)
