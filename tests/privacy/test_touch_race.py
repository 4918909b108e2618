"""A touch, or a customer added to a book by hand, written on another connection at the moment the
shopper opts out does not survive the opt-out, whichever of the two comes first.

Both take the customer's advisory lock (``privacy.repository.lock_customers``) before they look: a
writer that passed the suppression check first holds the opt-out back until it commits, and the
opt-out then erases what it wrote; an opt-out that came first holds the writer back until it commits,
and the writer then finds it and writes nothing. Each test holds one side open inside that window (a
hold after the suppression check, or after the erasure) until the other waits for its lock or ran to
its end (``tests.lock_waits``): without the lock the touch or the customer stays. On
SQLite the lock is the database's write lock (``kit.db.hold_write_lock``): without it the writer's
check ran outside any transaction, and its write came after the opt-out's commit all the same.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import erasure
from neigou.crm import service as crm
from neigou.crm.models import Customer, CustomerSource
from neigou.crm.schemas import CustomerCreate
from neigou.kit.clock import utcnow
from neigou.kit.errors import Conflict
from neigou.links.models import Binding, ShareLink, Touch, TouchKind
from neigou.links.touches import NewTouch, record_touches
from neigou.privacy import repository
from neigou.programs.models import Member
from tests.conftest import SECRET, TEST_ACTOR
from tests.lock_waits import LockWaits, lock_waits
from tests.orders import builders as orders
from tests.privacy.builders import SHOPPER, SHOPPER_HASH
from tests.privacy.races import opt_out, paused, race
from tests.sqlite_lock_waits import SqliteLockWaits


def _race(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    *,
    writes: str,
    writer_first: bool,
    waits: LockWaits | SqliteLockWaits,
) -> tuple[dict[str, int], object]:
    """A writer (of a touch, or of a customer) and an opt-out on two connections, the second started
    once the first reached its hold; the opt-out's counts and what the writer answered."""
    world = orders.build(client, operator, factory)
    with factory() as session:
        link_id = session.scalars(select(ShareLink.id).where(ShareLink.code == world.link)).one()

    def touch(session: Session) -> object:
        link = session.get(ShareLink, link_id)
        assert link is not None
        at = utcnow() - timedelta(minutes=1)
        record_touches(
            session, [NewTouch(world.program_id, SHOPPER_HASH, link, TouchKind.CLICK, "click:race", at)]
        )
        return "written"

    def customer(session: Session) -> object:
        seller = session.get(Member, world.seller)
        assert seller is not None
        try:
            crm.add_customer(
                session,
                member=seller,
                new=crm.NewCustomer.of(SECRET, CustomerCreate(customer_ref=SHOPPER, name="王女士")),
                source=CustomerSource.MANUAL,
                actor=TEST_ACTOR,
                at=utcnow(),
            )
        except Conflict as refused:
            return refused.code
        return "written"

    def opting_out(session: Session) -> dict[str, int]:
        return opt_out(session, secret_key=SECRET, customer_ref=SHOPPER, program_id=world.program_id)

    def write(session: Session) -> object:
        return touch(session) if writes == "touch" else customer(session)

    erased, written = race(factory, writer=write, opt_out=opting_out, writer_first=writer_first, waits=waits)
    with factory() as session:
        left = [
            session.scalar(
                select(func.count()).select_from(table).where(table.customer_ref_hash == SHOPPER_HASH)
            )
            for table in (Touch, Binding, Customer)
        ]
    assert left == [0, 0, 0]
    return erased, written


@pytest.mark.parametrize("writes", ["touch", "customer"])
def test_what_was_checked_before_the_opt_out_is_erased_by_it(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    writes: str,
) -> None:
    waits = lock_waits(factory, 2)
    monkeypatch.setattr(repository, "suppressed", paused(repository.suppressed, waits))
    erased, written = _race(client, operator, factory, writes=writes, writer_first=True, waits=waits)
    # The opt-out waited for the writer's commit and erased what it wrote.
    assert written == "written"
    counts = (erased["touches"], erased["bindings"], erased["customers"])
    assert counts == ((1, 1, 0) if writes == "touch" else (0, 0, 1))


@pytest.mark.parametrize("writes", ["touch", "customer"])
def test_what_is_written_during_the_opt_out_waits_and_is_refused(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    writes: str,
) -> None:
    waits = lock_waits(factory, 2)
    monkeypatch.setattr(erasure, "erase_customers", paused(erasure.erase_customers, waits))
    erased, written = _race(client, operator, factory, writes=writes, writer_first=False, waits=waits)
    # The writer waited for the opt-out's commit, then found it: nothing was there to erase.
    assert written == ("written" if writes == "touch" else "customer_opted_out")
    assert (erased["touches"], erased["bindings"], erased["customers"]) == (0, 0, 0)
