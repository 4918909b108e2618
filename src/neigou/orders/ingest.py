"""Order ingestion, set-based: a batch of orders (one for the API, thousands for a file) is checked,
attributed, priced, paid commission and posted to the ledger in a few statements per batch.

Idempotent on (program, external_id): an order stored before is returned and nothing is posted; an
order inserted by a concurrent request meanwhile is skipped by ``ON CONFLICT DO NOTHING``.

Serialized with an opt-out of the batch's customers (``privacy.repository.lock_customers``): the
transaction that writes the orders takes their locks, one statement per batch, before its first write,
so an opt-out either waits and then erases the committed orders' customer hash, or commits first and
the batch, waiting for it, is written after it (an order after an opt-out, see docs/privacy.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.orm import Session

from neigou.kit.bulk import next_ids
from neigou.kit.columns import RowError
from neigou.kit.i18n import Message
from neigou.kit.ids import customer_ref_hash
from neigou.kit.instants import DEFAULT_SKEW, future_message
from neigou.links.order_attribution import OrderAttribution, OrderToAttribute, UnknownLink, attribute_orders
from neigou.orders import batch_build, batch_rows, commission, lookups, row_writes, set_writes
from neigou.orders.inputs import OrderIn, reused, shape_error, terms_of
from neigou.orders.models import Order, OrderSource
from neigou.privacy import repository as privacy

PRECHECK_BELOW = 50
# From this many new orders on, PostgreSQL writes them set-based (``orders.set_writes``).
SET_BASED_FROM = 50


@dataclass(frozen=True)
class Taken:
    """An order stored now (``created``) or found stored before."""

    order_id: int
    created: bool


@dataclass
class BatchResult:
    """Per input order, in input order: what happened to it."""

    results: list[Taken | RowError] = field(default_factory=list)

    @property
    def created(self) -> list[int]:
        """Ids of the orders stored by this batch."""
        return [r.order_id for r in self.results if isinstance(r, Taken) and r.created]

    @property
    def errors(self) -> list[RowError]:
        """The orders refused."""
        return [r for r in self.results if isinstance(r, RowError)]

    @property
    def duplicates(self) -> int:
        """Orders that were stored before."""
        return sum(1 for r in self.results if isinstance(r, Taken) and not r.created)


# A new order's answer until it is written (``_fill_duplicates`` replaces it): one, shared.
_PENDING = Taken(0, created=False)

NO_TIERS = Message(
    "The program has no tier ladder yet, so it would pay no commission: set its tiers before it takes links or orders."
)


def _hashes(secret_key: str, refs: list[str]) -> list[str]:
    """The refs' stored forms, each distinct ref hashed once (a batch repeats its shoppers)."""
    known: dict[str, str] = {}
    for ref in refs:
        if ref not in known:
            known[ref] = customer_ref_hash(secret_key, ref)
    return [known[ref] for ref in refs]


class _Batch:
    """Everything looked up once for a batch."""

    def __init__(
        self,
        session: Session,
        orders: Sequence[OrderIn],
        secret_key: str,
        *,
        clock: datetime | None,
        skew: timedelta,
        lock: bool,
    ) -> None:
        self.session = session
        self.clock = clock
        self.latest = None if clock is None else clock + skew
        self.hashes = _hashes(secret_key, [o.customer_ref for o in orders])
        if lock:  # before anything is read, so an opt-out that came first is seen by every look-up
            privacy.lock_customers(session, self.hashes)
        self.programs = lookups.programs(session, {o.program_id for o in orders})
        # Only the programs' organizations' products, scoped or not: another one's sku is unknown here.
        self.organizations = {p.organization_id for p in self.programs.values()}
        self.products = lookups.product_terms(
            session, {i.sku for o in orders for i in o.items}, self.organizations
        )
        # A big batch (a file) rarely repeats itself: its duplicates are found by the insert's
        # ON CONFLICT and looked up afterwards, instead of checking every key first.
        keys = [(o.program_id, o.external_id) for o in orders]
        self.existing = lookups.existing_orders(session, keys) if len(orders) < PRECHECK_BELOW else {}
        self.tiers = lookups.tiers(session, self.programs.keys())
        self.laddered = {program_id for program_id, _code in self.tiers}
        self.events = lookups.event_programs(session, {o.event_id for o in orders if o.event_id is not None})
        # Per program, the skus of its organization's products (another's sku is unknown to it).
        self.sellable = {
            program_id: frozenset(self.products.get(p.organization_id, {}))
            for program_id, p in self.programs.items()
        }

    def attribute(
        self, indexes: Sequence[int], orders: Sequence[OrderIn]
    ) -> dict[int, OrderAttribution | UnknownLink]:
        """The attribution of these orders (checked, so their programs are known), by index."""
        found = attribute_orders(
            self.session,
            [
                OrderToAttribute(orders[i].program_id, self.hashes[i], orders[i].link_code, orders[i].paid_at)
                for i in indexes
            ],
            self.programs,
        )
        return dict(zip(indexes, found, strict=True))

    def check(self, order: OrderIn) -> RowError | None:
        problem = shape_error(order) or self._timely(order)
        if problem is not None:
            return problem
        if order.program_id not in self.programs:
            return RowError(
                order.row,
                order.external_id,
                "program_not_found",
                Message("This program does not exist."),
            )
        if order.program_id not in self.laddered:
            return RowError(order.row, order.external_id, "no_tiers", NO_TIERS)
        if order.event_id is not None and self.events.get(order.event_id) != order.program_id:
            return RowError(
                order.row,
                order.external_id,
                "event_not_found",
                Message("{field} names no event of this program.", field="event_id"),
            )
        sellable = self.sellable[order.program_id]
        missing = [n for n, i in enumerate(order.items) if i.pool_fen is None and i.sku not in sellable]
        if missing:
            return RowError(
                order.row,
                order.external_id,
                "unknown_sku",
                Message("{field}[{index}] names no product.", field="items", index=missing[0]),
            )
        return None

    def _timely(self, order: OrderIn) -> RowError | None:
        """A paid time past the clock (and its skew) is refused where money moves."""
        if self.clock is not None and self.latest is not None and order.paid_at > self.latest:
            return RowError(
                order.row,
                order.external_id,
                "time_in_future",
                future_message("paid_at", self.clock),
            )
        return None


@dataclass
class Prepared:
    """A batch checked, attributed and priced, its new orders ready to be written (``finish``)."""

    orders: Sequence[OrderIn]
    hashes: list[str]
    result: BatchResult
    seen: dict[tuple[int, str], int]
    todo: list[row_writes.NewOrder]
    ids: list[int] | None
    # Prepared to be written on another connection: the invite history's mark and how to price again.
    mark: int | None = None
    redo: Callable[[Session], Prepared] | None = None


def ingest(
    session: Session,
    orders: Sequence[OrderIn],
    *,
    secret_key: str,
    source: OrderSource,
    now: datetime,
    clock: datetime | None = None,
    skew: timedelta = DEFAULT_SKEW,
) -> BatchResult:
    """Take a batch of paid orders; returns, per order, its id (new or stored) or why it was refused.

    ``now`` is when they are recorded. ``clock``, when given, is the real time: a ``paid_at`` more
    than ``skew`` after it is refused ``time_in_future`` (files; the API checks before calling, and
    the demo records simulated days). The batch's customer locks are taken first, in this transaction."""
    prepared = prepare(
        session, orders, secret_key=secret_key, source=source, now=now, clock=clock, skew=skew, lock=True
    )
    return _write(session, prepared)


def prepare(
    session: Session,
    orders: Sequence[OrderIn],
    *,
    secret_key: str,
    source: OrderSource,
    now: datetime,
    clock: datetime | None = None,
    skew: timedelta = DEFAULT_SKEW,
    lock: bool = False,
) -> Prepared:
    """Everything ``ingest`` does before it writes: it only reads (and takes ids from the sequence), so
    a file's next batch is prepared while the previous one is written by another connection; nothing
    it reads is written by an order batch (links, touches, bindings, members, tiers, offers).

    ``lock`` takes the batch's customer locks first (``ingest``, which writes in this transaction);
    a batch prepared on its own connection takes them in ``finish``, where it is written."""
    batch = _Batch(session, orders, secret_key, clock=clock, skew=skew, lock=lock)
    mark = None if lock else lookups.moves_mark(session)  # read with the programs locked (``_Batch``)
    problems = {
        index: batch.check(order)
        for index, order in enumerate(orders)
        if (order.program_id, order.external_id) not in batch.existing
    }
    attributions = batch.attribute([i for i, problem in problems.items() if problem is None], orders)
    chains = _chains(session, batch, orders, attributions)
    result = BatchResult()
    pending: dict[int, tuple[OrderIn, str, OrderAttribution, list[commission.Earner]]] = {}
    seen: dict[tuple[int, str], int] = {}
    for index, (order, ref_hash) in enumerate(zip(orders, batch.hashes, strict=True)):
        key = (order.program_id, order.external_id)
        if key in batch.existing:
            result.results.append(Taken(batch.existing[key], created=False))
            continue
        problem = problems[index]
        if problem is not None:
            result.results.append(problem)
            continue
        if key in seen:
            result.results.append(_PENDING)  # the same order twice in one batch
            continue
        attributed = attributions[index]
        if isinstance(attributed, UnknownLink):
            result.results.append(RowError(order.row, order.external_id, attributed.code, attributed.message))
            continue
        try:
            earners = chains.of(order.program_id, attributed.attribution, order.paid_at)
        except batch_rows.UnpricedTier:
            result.results.append(batch_rows.unpriced(order.row, order.external_id))
            continue
        result.results.append(_PENDING)  # filled in once inserted
        seen[key] = index
        pending[index] = (order, ref_hash, attributed, earners)
    todo = (
        batch_build.build(session, pending, batch.programs, batch.products, source=source, now=now)
        if pending
        else []
    )
    ids = next_ids(session, Order, len(todo)) if len(todo) >= SET_BASED_FROM else None
    again = partial(
        prepare, orders=orders, secret_key=secret_key, source=source, now=now, clock=clock, skew=skew
    )
    return Prepared(orders, batch.hashes, result, seen, todo, ids, mark, None if lock else again)


def finish(session: Session, prepared: Prepared) -> BatchResult:
    """Write a batch prepared on another connection, in this transaction: the locks of the customers
    of its new orders first (one statement), then :func:`_write`. A member of its programs moved to
    another inviter since it was prepared (``lookups.moved_since``, which locks the programs until the
    commit) has it priced again here, with the uplines as they are now."""
    privacy.lock_customers(session, (todo.head.customer_ref_hash for todo in prepared.todo))
    programs = {o.program_id for o in prepared.orders}
    if prepared.redo is not None and lookups.moved_since(session, prepared.mark or 0, programs):
        prepared = prepared.redo(session)
    return _write(session, prepared)


def _write(session: Session, prepared: Prepared) -> BatchResult:
    """Write a prepared batch's new orders (set-based on PostgreSQL for a large batch, with the ids
    taken beforehand, row by row otherwise) and answer for every order of the batch."""
    inserted: dict[tuple[int, str], int] = {}
    if prepared.ids is not None:
        inserted = _write_set_based(session, prepared.todo, prepared.ids)
    elif prepared.todo:
        inserted = row_writes.write(session, prepared.todo)
    _fill_duplicates(session, prepared, inserted)
    _refuse_reused(session, prepared)
    return prepared.result


def _chains(
    session: Session,
    batch: _Batch,
    orders: Sequence[OrderIn],
    attributions: dict[int, OrderAttribution | UnknownLink],
) -> batch_rows.Chains:
    """The batch's chains, from the facts of the attributed orders' sellers and their uplines (every
    inviter they had), as deep as their programs pay."""
    sellers = {
        i: a.attribution.member_id
        for i, a in attributions.items()
        if isinstance(a, OrderAttribution) and a.attribution.member_id is not None
    }
    depth = max((batch.programs[orders[i].program_id].max_levels for i in sellers), default=1) - 1
    facts = lookups.member_facts(session, set(sellers.values()), depth) if sellers else {}
    return batch_rows.Chains(batch.programs, batch.tiers, facts, batch_rows.span_of(orders))


def _write_set_based(
    session: Session, todo: list[row_writes.NewOrder], ids: list[int]
) -> dict[tuple[int, str], int]:
    heads = [
        (i, *o.head, batch_rows.commission_total(o.lines, o.chain), 0) for i, o in zip(ids, todo, strict=True)
    ]
    staged = [(i, *line) for i, o in zip(ids, todo, strict=True) for line in o.lines]
    earners = [
        (i, o.head.program_id, e.member_id, e.level, e.tier_code, e.bp)
        for i, o in zip(ids, todo, strict=True)
        for e in o.chain
    ]
    return set_writes.write(session, heads, staged, earners)


def _fill_duplicates(session: Session, prepared: Prepared, inserted: dict[tuple[int, str], int]) -> None:
    result, orders, seen = prepared.result, prepared.orders, prepared.seen
    late = [k for k in seen if k not in inserted]
    stored = lookups.existing_orders(session, late) if late else {}
    for index, entry in enumerate(result.results):
        if not isinstance(entry, Taken) or entry.order_id:
            continue
        key = (orders[index].program_id, orders[index].external_id)
        if key in inserted and seen.get(key) == index:
            result.results[index] = Taken(inserted[key], created=True)
        else:
            result.results[index] = Taken(inserted.get(key) or stored[key], created=False)


def _refuse_reused(session: Session, prepared: Prepared) -> None:
    """A repeated external id is a retry only with the same terms; with others it is refused
    (``external_id_reused``) instead of silently answering the first order."""
    result, orders = prepared.result, prepared.orders
    repeated = {i: r.order_id for i, r in enumerate(result.results) if isinstance(r, Taken) and not r.created}
    if not repeated:
        return
    stored = lookups.stored_terms(session, repeated.values())
    for index, order_id in repeated.items():
        terms = stored.get(order_id)
        if terms is not None and not terms_of(orders[index], prepared.hashes[index]).same_as(terms):
            result.results[index] = reused(orders[index])
