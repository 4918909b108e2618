"""An order written on another connection at the moment its shopper opts out: whichever
comes first, the order is kept (money) and nothing the opt-out erases survives it.

The order paths take the customer's advisory lock (``privacy.repository.lock_customers``) before
their first write: ``ingest`` before it reads, a file's batch in the transaction that writes it
(``finish``), a large batch the wide lock. An order that came first holds the opt-out back until it
commits, and the opt-out then erases its customer hash and the customer its consent added; an opt-out
that came first holds the order back, which is then taken like any order after an opt-out (it keeps
the hash, docs/privacy.md "Afterwards") without adding the shopper to a book. Each test holds the
first side's transaction open after its work until the other side waits for its lock or ran to its
end (``tests.lock_waits``): without the lock the order keeps the hash, or the customer stays. On
SQLite the lock is the database's write lock (``kit.db.hold_write_lock``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.models import Customer
from neigou.kit.clock import utcnow
from neigou.kit.ids import customer_ref_mask, is_tombstone
from neigou.links.consent import announce_consent
from neigou.orders import service as orders_service
from neigou.orders.ingest import finish, prepare
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import Order, OrderSource
from tests.conftest import SECRET, TEST_ACTOR
from tests.lock_waits import lock_waits
from tests.orders import builders as orders
from tests.privacy.builders import SHOPPER, SHOPPER_HASH
from tests.privacy.races import lock_width, opt_out, race  # noqa: F401 - fixtures

EXTERNAL_ID = "race-1"


def _order_in(world: orders.World) -> OrderIn:
    return OrderIn(
        external_id=EXTERNAL_ID,
        program_id=world.program_id,
        customer_ref=SHOPPER,
        link_code=world.link,
        items=(ItemIn(orders.SKU, 1, 4990),),
        paid_at=utcnow() - timedelta(minutes=1),
    )


def _race(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    *,
    writes: str,
    writer_first: bool,
) -> dict[str, int]:
    """An order (``api``: with the shopper's marketing consent, as ``POST /orders`` takes it;
    ``file``: a batch prepared on a connection of its own and written on this one) and an opt-out on
    two connections; the second starts once the first did its work, which then holds its transaction
    open until the second waits for it (or ended). The opt-out's counts; the order is stored either way."""
    world = orders.build(client, operator, factory)
    waits = lock_waits(factory, 2)

    def order(session: Session) -> str:
        data = _order_in(world)
        if writes == "file":
            with factory() as reader:
                prepared = prepare(reader, [data], secret_key=SECRET, source=OrderSource.IMPORT, now=utcnow())
            assert len(finish(session, prepared).created) == 1
            return "written"
        taken, created = orders_service.take_order(
            session, data=data, secret_key=SECRET, source=OrderSource.API, actor=TEST_ACTOR, now=utcnow()
        )
        assert created
        assert taken.member_id == world.seller
        announce_consent(
            session,
            program_id=world.program_id,
            member_id=world.seller,
            link_id=None,
            customer_ref_hash=taken.customer_ref_hash,
            customer_ref_masked=customer_ref_mask(SHOPPER),
            via="order",
            consented_at=utcnow() - timedelta(minutes=1),
            source=None,
            at=utcnow(),
        )
        return "written"

    def opting_out(session: Session) -> dict[str, int]:
        return opt_out(session, secret_key=SECRET, customer_ref=SHOPPER, program_id=world.program_id)

    erased, _ = race(
        factory,
        writer=order,
        opt_out=opting_out,
        writer_first=writer_first,
        waits=waits,
        pause_after_first=True,
    )
    with factory() as session:
        stored = session.scalars(select(Order).where(Order.external_id == EXTERNAL_ID)).one()
        assert stored.paid_fen == 4990  # the money is kept
        assert stored.commission_fen > 0
        kept = stored.customer_ref_hash
        customers = session.scalar(
            select(func.count()).select_from(Customer).where(Customer.customer_ref_hash == SHOPPER_HASH)
        )
    assert customers == 0
    # An order that came first lost its hash to the opt-out; one that waited is an order after it.
    assert is_tombstone(kept) if writer_first else kept == SHOPPER_HASH
    return erased


@pytest.mark.usefixtures("lock_width")
@pytest.mark.parametrize("writes", ["api", "file"])
def test_an_order_taken_before_the_opt_out_is_erased_by_it(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    writes: str,
) -> None:
    erased = _race(client, operator, factory, writes=writes, writer_first=True)
    # The opt-out waited for the order's commit and erased its hash and the customer it added.
    assert (erased["orders"], erased["customers"]) == (1, 1 if writes == "api" else 0)


@pytest.mark.usefixtures("lock_width")
def test_an_order_taken_during_the_opt_out_waits_and_adds_no_customer(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
) -> None:
    erased = _race(client, operator, factory, writes="api", writer_first=False)
    # The order waited for the opt-out's commit, then found it: the consent added nobody.
    assert (erased["orders"], erased["customers"]) == (0, 0)
