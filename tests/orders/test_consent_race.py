"""Retries of one order carrying the shopper's marketing consent, at the same moment on real PostgreSQL
connections: the consent is recorded once. Each retry takes the order as ``POST /api/v1/orders`` does and
then holds its transaction open until every other retry waits for a lock of theirs, reached that point
too, or ended (``tests.lock_waits``), so without the customer's lock the order's ingest holds
(``privacy.repository.lock_customers``) every retry would find no decision in the book and record a
grant (a shopper new to the book is also kept apart by the book's unique customer, not one already in
it)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.models import Consent, Customer
from neigou.kit.clock import utcnow
from neigou.orders import service
from neigou.orders.consent import OrderConsent, record_order_consent
from neigou.orders.models import Order, OrderSource
from neigou.orders.schemas import OrderBody
from neigou.orders.views import order_in
from tests.conftest import SECRET, TEST_ACTOR
from tests.lock_waits import LockWaits, lock_waits
from tests.orders.builders import World, build, order_body, post_order
from tests.parallel import in_parallel
from tests.phone_forms import spread_forms
from tests.sqlite_lock_waits import SqliteLockWaits

PARALLEL = 4
SHOPPER = "13800000171"


def _retry(
    w: World, external_id: str, waits: LockWaits | SqliteLockWaits, forms: Sequence[str] = (SHOPPER,)
) -> Callable[[Session], bool]:
    consent = OrderConsent(at=utcnow() - timedelta(minutes=1), source="checkout")
    turns = itertools.count()

    def take(session: Session) -> bool:
        waits.join(session)
        form = forms[next(turns) % len(forms)]  # the shopper's phone as this retry writes it
        body = OrderBody.model_validate(order_body(w, external_id, customer=form))
        now = utcnow()
        order, created = service.take_order(
            session, data=order_in(body), secret_key=SECRET, source=OrderSource.API, actor=TEST_ACTOR, now=now
        )
        record_order_consent(
            session, order=order, created=created, customer_ref=form, consent=consent, at=now
        )
        waits.hold()  # before the commit, until the other retries wait or passed their look-up
        return created

    return take


def _counts(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with factory() as session:
        return (
            int(session.scalar(select(func.count(Order.id))) or 0),
            int(session.scalar(select(func.count(Customer.id))) or 0),
            int(session.scalar(select(func.count(Consent.id)).where(Consent.granted)) or 0),
        )


@pytest.mark.postgres_only
@pytest.mark.parametrize("in_book", [False, True], ids=["new_to_the_book", "in_the_book_undecided"])
def test_parallel_retries_of_an_order_taken_without_consent_record_it_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], in_book: bool
) -> None:
    w = build(client, operator, factory)
    if in_book:  # no customer insert to collide on: only the lock keeps the retries apart
        added = client.post(
            f"/api/v1/members/{w.seller}/customers", json={"customer_ref": SHOPPER}, headers=operator
        )
        assert added.status_code == 201, added.text
    post_order(client, operator, order_body(w, "RACE-C1", customer=SHOPPER))  # without consent
    assert _counts(factory) == (1, int(in_book), 0)
    results = in_parallel(factory, _retry(w, "RACE-C1", LockWaits(factory, PARALLEL)), PARALLEL)
    assert results == [False] * PARALLEL
    assert _counts(factory) == (1, 1, 1)


@pytest.mark.postgres_only
def test_parallel_first_takings_and_retries_with_consent_record_it_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    results = in_parallel(factory, _retry(w, "RACE-C2", LockWaits(factory, PARALLEL)), PARALLEL)
    assert sorted(r is True for r in results) == [False] * (PARALLEL - 1) + [True]
    assert all(isinstance(r, bool) for r in results), results
    assert _counts(factory) == (1, 1, 1)


def test_parallel_retries_in_other_phone_forms_record_the_consent_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """The first taking and its retries at once (both databases), each writing the shopper's phone
    another way: one order, one customer in the book, one grant."""
    w = build(client, operator, factory)
    forms = [SHOPPER, *spread_forms(SHOPPER)][:PARALLEL]
    results = in_parallel(factory, _retry(w, "RACE-C3", lock_waits(factory, PARALLEL), forms), PARALLEL)
    assert all(isinstance(r, bool) for r in results), results
    assert sorted(r is True for r in results) == [False] * (PARALLEL - 1) + [True]
    assert _counts(factory) == (1, 1, 1)
