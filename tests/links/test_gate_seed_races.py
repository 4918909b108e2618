"""A seed is read from the database (and the stream) between two runs of the gate's script: what
changes the counts in between (another claim seeding and taking, the claim writer refusing a claim and
deleting the counters it counted, a counter evicted) makes the seed stale. The scripts keep an epoch
per coupon that each seeding and each deletion of a counter bumps; a seed read under another epoch than
the one the script finds is not set, and the claim reads its seeds again (``links.gate_seeds``). These
tests interleave the steps deterministically: the seeder of the claim under test runs the competing
step right after its read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.dead_letters import dead_key
from neigou.kit.errors import Conflict, Unavailable
from neigou.links import claim_stream, claims, gate_scripts, gate_seeds
from neigou.links.stock_gate import Seeder, StockGate
from tests.conftest import SECRET
from tests.links.builders import limited_coupon
from tests.links.conftest import behind_gate
from tests.links.test_gate_seeds import _claim
from tests.links.test_stock_caps import edit

X, Y, Z = "13800000001", "13800000002", "13800000003"


@pytest.fixture
def gate() -> Iterator[StockGate]:
    yield from behind_gate()


def _ref(phone: str) -> str:
    return claims.Customer.from_ref(SECRET, phone).ref_hash


def _drain(factory: sessionmaker[Session], gate: StockGate) -> None:
    assert gate.stream is not None
    claim_stream.ClaimWriter(gate.client, gate.stream, factory).drain()


def _between_read_and_set(
    monkeypatch: pytest.MonkeyPatch, step: Callable[[], object], times: int = 1
) -> list[int]:
    """The next claims' seeders run ``step`` right after each of their first ``times`` reads; the
    reads counted."""
    reads = [0]
    original = gate_seeds.seeder

    def seeder(*args: object) -> Seeder:
        seeds = original(*args)  # type: ignore[arg-type]

        def read_then_step(with_stream: bool) -> tuple[int, int]:
            found = seeds(with_stream)
            reads[0] += 1
            if reads[0] <= times:
                step()
            return found

        return read_then_step

    monkeypatch.setattr(gate_seeds, "seeder", seeder)
    return reads


def test_a_refusal_of_the_writer_between_read_and_set_does_not_leave_the_stock_counting_it(
    factory: sessionmaker[Session], gate: StockGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stock counter is seeded from the stream while it holds a claim past its customer's limit; the
    writer refuses that claim before the seed is set: set anyway, the counter would count a claim that
    holds no unit, and the coupon would sell out one too early."""
    assert gate.stream is not None
    coupon = limited_coupon(factory, total=3, per_customer=1)
    assert _claim(factory, gate, coupon.id, X) == "taken"
    gate.client.delete(gate.keys(coupon, _ref(X)).customer)  # evicted alone: X's next claim passes
    assert _claim(factory, gate, coupon.id, X) == "taken"  # in the stream, past X's limit
    gate.client.delete(gate.keys(coupon, "").stock)  # the stock counter evicted
    reads = _between_read_and_set(monkeypatch, lambda: _drain(factory, gate))
    assert _claim(factory, gate, coupon.id, Y) == "taken"  # its seed read counted X's two claims
    read_for_y = reads[0]
    assert gate.client.xlen(dead_key(gate.stream)) == 1  # X's second claim refused by the writer
    assert gate.counts(coupon, "")[0] == 2  # X's first and Y's
    assert _claim(factory, gate, coupon.id, Z) == "taken"  # the third unit is still there
    assert read_for_y == 2  # the stale seed refused, read again


def test_a_competing_claim_and_an_eviction_between_read_and_set_do_not_pass_the_limit(
    factory: sessionmaker[Session], gate: StockGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The customer's seed is read, then another claim of theirs seeds the counter, takes the last unit
    the limit allows and is stored, and the counter is evicted: the first seed, set now, would let the
    claim pass the limit."""
    coupon = limited_coupon(factory, total=10, per_customer=1)
    assert _claim(factory, gate, coupon.id, Y) == "taken"  # the stock counter is there

    def competing() -> None:
        assert _claim(factory, gate, coupon.id, X) == "taken"
        _drain(factory, gate)
        gate.client.delete(gate.keys(coupon, _ref(X)).customer)

    reads = _between_read_and_set(monkeypatch, competing)
    assert _claim(factory, gate, coupon.id, X) == "limit_reached"
    assert reads[0] == 3  # the competing claim's read, the stale one's, its second read
    assert gate.counts(coupon, _ref(X)) == (2, 1)
    _drain(factory, gate)
    assert gate.client.xlen(dead_key(claim_stream_key(gate))) == 0


def test_a_stock_counter_evicted_after_a_customers_seed_is_read_is_seeded_with_the_stream(
    factory: sessionmaker[Session], gate: StockGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the customer's counter was missing, so only the database was read (not the stream); the
    stock counter is evicted before the seed is set: it is not set from that read (which misses the
    claims in the stream), the claim reads the stream too."""
    coupon = limited_coupon(factory, total=2, per_customer=1)
    assert _claim(factory, gate, coupon.id, Y) == "taken"  # in the stream, not stored
    reads = _between_read_and_set(monkeypatch, lambda: gate.client.delete(gate.keys(coupon, "").stock))
    assert _claim(factory, gate, coupon.id, X) == "taken"
    read_for_x = reads[0]
    assert gate.counts(coupon, "")[0] == 2
    assert _claim(factory, gate, coupon.id, Z) == "sold_out"
    assert read_for_x == 2


def test_seeds_stale_again_and_again_answer_503_overloaded(
    factory: sessionmaker[Session], gate: StockGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    coupon = limited_coupon(factory, total=10, per_customer=1)
    assert _claim(factory, gate, coupon.id, Y) == "taken"
    gate.client.delete(gate.keys(coupon, "").stock)
    keys = gate.keys(coupon, "")

    def churn() -> None:  # another process seeds the counter, and it is evicted again
        gate.client.set(keys.stock, 1)
        gate.client.hincrby(keys.epochs, "s", 1)
        gate.client.delete(keys.stock)

    reads = _between_read_and_set(monkeypatch, churn, times=100)
    with pytest.raises(Unavailable) as refused:
        _claim(factory, gate, coupon.id, X)
    assert refused.value.code == "overloaded"
    assert refused.value.status == 503
    assert refused.value.retry_after == 1
    assert reads[0] == gate_scripts.SEED_READS
    assert gate.client.exists(keys.stock) == 0
    monkeypatch.undo()
    assert _claim(factory, gate, coupon.id, X) == "taken"


def claim_stream_key(gate: StockGate) -> str:
    assert gate.stream is not None
    return gate.stream


def test_a_lowering_of_stock_does_not_set_a_seed_gone_stale(
    factory: sessionmaker[Session], gate: StockGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lowering finds the stock counter missing and reads its seed; another claim then seeds the counter
    and takes a unit, and the counter is evicted: set from the first read, the lowering would pass below
    the claims taken."""
    coupon = limited_coupon(factory, total=5, per_customer=1)
    assert [_claim(factory, gate, coupon.id, p) for p in (X, Y)] == ["taken", "taken"]
    gate.client.delete(gate.keys(coupon, "").stock)
    original, reads = gate_seeds.read, [0]

    def read(*args: Any) -> tuple[int, int]:
        found = original(*args)
        reads[0] += 1
        if reads[0] == 1:
            assert _claim(factory, gate, coupon.id, Z) == "taken"
            gate.client.delete(gate.keys(coupon, "").stock)
        return found

    monkeypatch.setattr(gate_seeds, "read", read)
    with pytest.raises(Conflict) as refused:
        edit(factory, coupon.id, total_quantity=2)
    assert refused.value.extra == {"claimed_quantity": 3}
    assert reads[0] == 3  # the lowering's, the competing claim's, the lowering's again
