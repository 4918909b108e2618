"""Claims under concurrency: hundreds of parallel attempts against a small stock, exact counts.

On PostgreSQL every attempt runs in its own thread with its own connection and transaction, so the
conditional UPDATEs really race. SQLite serialises writers and aborts a transaction whose snapshot
went stale instead of waiting, so there the same attempts run one after another (the counts are
still checked, so these tests are not ``postgres_only``); the Redis gate alone is raced on every backend.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import transaction
from neigou.kit.errors import Conflict
from neigou.links import claims
from neigou.links.gate_types import GateAnswer
from neigou.links.models import ClaimCounter, ClaimSource, CouponClaim
from neigou.links.stock_gate import StockGate
from neigou.offers.models import CouponTemplate
from tests.conftest import BACKEND, SECRET, TEST_ACTOR
from tests.links.builders import limited_coupon
from tests.links.conftest import behind_gate
from tests.local_redis import local_redis
from tests.parallel import race
from tests.phone_forms import spread_forms

PARALLEL = BACKEND == "postgresql"
THREADS = 12 if PARALLEL else 1


@pytest.fixture
def behind() -> Iterator[StockGate]:
    yield from behind_gate()


@pytest.fixture
def gate() -> Iterator[StockGate]:
    client = local_redis()
    namespace = f"neigou-test:{uuid.uuid4().hex[:8]}"
    stock = StockGate(client, namespace)
    yield stock
    stock.close()
    for key in client.scan_iter(f"{namespace}:*"):
        client.delete(key)
    client.close()


def _race(factory: sessionmaker[Session], attempts: int, attempt: Callable[[int], str]) -> Counter[str]:
    """Run ``attempt(i)`` for every i on THREADS parallel connections released together; count the outcomes."""
    return race(factory, attempt, attempts, THREADS)


def _claimer(
    factory: sessionmaker[Session],
    coupon_id: int,
    customer: Callable[[int], str],
    gate: StockGate | None = None,
) -> Callable[[int], str]:
    def attempt(i: int) -> str:
        try:
            with transaction(factory) as session:
                result = claims.claim_coupon(
                    session,
                    coupon_id=coupon_id,
                    customer=claims.Customer.from_ref(SECRET, customer(i)),
                    actor=TEST_ACTOR,
                    source=ClaimSource.API,
                    gate=gate,
                )
                return "taken" if result.created else "replayed"
        except Conflict as exc:
            return exc.code

    return attempt


def _stored(factory: sessionmaker[Session], coupon_id: int) -> tuple[int, int, int]:
    """(claimed_quantity, claim rows, most claims by one customer)."""
    with factory() as session:
        claimed = session.scalar(
            select(CouponTemplate.claimed_quantity).where(CouponTemplate.id == coupon_id)
        )
        rows = session.scalar(select(func.count(CouponClaim.id)).where(CouponClaim.coupon_id == coupon_id))
        most = session.scalar(
            select(func.count(CouponClaim.id))
            .where(CouponClaim.coupon_id == coupon_id)
            .group_by(CouponClaim.customer_ref_hash)
            .order_by(func.count(CouponClaim.id).desc())
            .limit(1)
        )
    return int(claimed or 0), int(rows or 0), int(most or 0)


def test_no_oversell_under_parallel_claims(factory: sessionmaker[Session]) -> None:
    coupon = limited_coupon(factory, total=7, per_customer=2)
    outcomes = _race(factory, 300, _claimer(factory, coupon.id, lambda i: f"customer-{i % 40}"))
    assert outcomes["taken"] == 7
    assert outcomes["taken"] + outcomes["sold_out"] + outcomes["limit_reached"] == 300
    assert _stored(factory, coupon.id)[:2] == (7, 7)


def test_no_double_claim_by_one_customer(factory: sessionmaker[Session]) -> None:
    coupon = limited_coupon(factory, total=1000, per_customer=1)
    outcomes = _race(factory, 120, _claimer(factory, coupon.id, lambda _i: "13812345678"))
    assert outcomes == Counter({"taken": 1, "limit_reached": 119})
    assert _stored(factory, coupon.id) == (1, 1, 1)


def test_same_request_id_in_parallel_claims_once(factory: sessionmaker[Session]) -> None:
    coupon = limited_coupon(factory, total=1000, per_customer=5)
    ids: set[int] = set()

    def attempt(_i: int) -> str:
        with transaction(factory) as session:
            result = claims.claim_coupon(
                session,
                coupon_id=coupon.id,
                customer=claims.Customer.from_ref(SECRET, "openid-1"),
                actor=TEST_ACTOR,
                source=ClaimSource.API,
                request_id="retry-me",
            )
            ids.add(result.claim.id)
            return "taken" if result.created else "replayed"

    outcomes = _race(factory, 60, attempt)
    assert outcomes == Counter({"taken": 1, "replayed": 59})
    assert len(ids) == 1
    assert _stored(factory, coupon.id) == (1, 1, 1)


def test_parallel_claims_through_the_redis_gate(factory: sessionmaker[Session], gate: StockGate) -> None:
    coupon = limited_coupon(factory, total=9, per_customer=2)
    outcomes = _race(factory, 400, _claimer(factory, coupon.id, lambda i: f"customer-{i % 30}", gate))
    assert outcomes["taken"] == 9
    assert _stored(factory, coupon.id)[:2] == (9, 9)
    assert gate.counts(coupon, "")[0] == 9


def test_claims_serialised_on_any_backend(factory: sessionmaker[Session], gate: StockGate) -> None:
    """The same rules one attempt at a time (the SQLite run of the races above), with and without Redis."""
    for use_gate in (None, gate):
        coupon = limited_coupon(factory, total=5, per_customer=2)
        attempt = _claimer(factory, coupon.id, lambda i: f"customer-{i % 3}", use_gate)
        outcomes = Counter(attempt(i) for i in range(40))
        # the limit is checked before the stock: customers 0 and 1 hold two each, customer 2 finds it sold out
        assert outcomes == Counter({"taken": 5, "limit_reached": 23, "sold_out": 12})
        claimed, rows, most = _stored(factory, coupon.id)
        assert (claimed, rows, most) == (5, 5, 2)


def test_redis_gate_under_parallel_load(factory: sessionmaker[Session], gate: StockGate) -> None:
    """The Lua script alone, raced by 16 threads: stock and per-customer counts exact."""
    coupon = limited_coupon(factory, total=25, per_customer=3)

    def attempt(i: int) -> str:
        return gate.take(coupon, f"customer-{i % 10}", seeds=lambda _stream: (0, 0)).value

    outcomes = race(factory, attempt, 600, 16)
    assert outcomes[GateAnswer.TAKEN.value] == 25
    assert outcomes[GateAnswer.TAKEN.value] + outcomes["sold_out"] + outcomes["limit_reached"] == 600
    assert gate.counts(coupon, "customer-1")[0] == 25
    per_customer = [gate.counts(coupon, f"customer-{n}")[1] for n in range(10)]
    assert sum(per_customer) == 25
    assert max(per_customer) <= 3


@pytest.mark.parametrize("per_customer", [1, 5])
@pytest.mark.parametrize("gated", [None, "gate", "behind"])
def test_same_request_id_from_one_phone_in_its_other_forms_claims_once(
    factory: sessionmaker[Session], request: pytest.FixtureRequest, per_customer: int, gated: str | None
) -> None:
    """A retry of one claim (its key repeated) whose customer is the same phone written another way
    answers the first claim: one row, one unit of stock, one unit of the customer's limit, also when
    the retries race and when the Redis gate counts them first (it gives back what a replay took);
    ``behind`` is the gate as production runs it (unkeyed claims written behind, ``claim_stream``)."""
    stock_gate: StockGate | None = request.getfixturevalue(gated) if gated else None
    coupon = limited_coupon(factory, total=1000, per_customer=per_customer)
    forms = ["13812345678", *spread_forms("13812345678")]
    ids: set[int] = set()

    def attempt(i: int) -> str:
        with transaction(factory) as session:
            result = claims.claim_coupon(
                session,
                coupon_id=coupon.id,
                customer=claims.Customer.from_ref(SECRET, forms[i % len(forms)]),
                actor=TEST_ACTOR,
                source=ClaimSource.API,
                request_id="retry-me",
                gate=stock_gate,
            )
            ids.add(result.claim.id)
            return "taken" if result.created else "replayed"

    outcomes = _race(factory, 40, attempt)
    assert outcomes == Counter({"taken": 1, "replayed": 39})
    assert len(ids) == 1
    assert _stored(factory, coupon.id) == (1, 1, 1)
    with factory() as session:
        counted = session.scalars(
            select(ClaimCounter.claimed).where(ClaimCounter.coupon_id == coupon.id)
        ).all()
    assert counted == [1]
    if stock_gate is not None:  # the gate holds one unit of the coupon and of the customer, as stored
        again = _claimer(factory, coupon.id, lambda _i: "13812345678", stock_gate)(0)
        assert again == ("limit_reached" if per_customer == 1 else "taken")
