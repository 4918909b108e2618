"""A platform's order rows applied to a program: new orders taken in, later rows moving them forward.

Rows arrive in any order and any number of times. Each line keeps the newest thing the platform said
about it (by modification time, then by how far along it is), and the effects only ever move forward:
an order is created once (``orders.ingest``, idempotent on the platform's order id), completed once,
and a line's refund grows to its target (all of it when invalid, the returned share otherwise) with a
refund id naming that target, so a repeat posts nothing.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.integrations.models import Integration
from neigou.kit.actor import Actor
from neigou.kit.columns import RowError
from neigou.kit.i18n import Message, Text
from neigou.orders import service as orders_service
from neigou.orders.ingest import ingest
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import Order, OrderLine, OrderSource
from neigou.platforms.adapters import read_rows
from neigou.platforms.models import PlatformOrder, PlatformOrderLine
from neigou.platforms.rows import DONE, PAID, RANK, LineStatus, Platform, PlatformLine, Skip, refund_target
from neigou.platforms.stored_keys import Written, lock_orders, stored_key

NOT_PAID = Message("The order is not paid yet, so it is not an order.")
TAKEN = Message("Another order of the program already has this id.")
LATE_LINE = Message("The order was taken in without this line; a line cannot be added to it later.")
NEVER_PAID = Message("The platform says the order is invalid and it was never seen paid.")
REFUND_ID_LENGTH = 64  # orders.models.Refund.refund_id

log = structlog.get_logger(__name__)


@dataclass
class FeedResult:
    """What a batch of rows did: orders created, existing ones moved forward, refunds, rows skipped."""

    created: int = 0
    updated: int = 0
    refunds: int = 0
    skipped: list[Skip] = field(default_factory=list)


def _merge(lines: Sequence[PlatformLine]) -> dict[str, dict[str, PlatformLine]]:
    """Per order, per line, the newest row of this batch."""
    out: dict[str, dict[str, PlatformLine]] = {}
    for line in lines:
        known = out.setdefault(line.external_id, {}).get(line.line_key)
        if known is None or line.newer_than(known):
            out[line.external_id][line.line_key] = line
    return out


def _stored_lines(
    session: Session, orders: dict[str, PlatformOrder]
) -> dict[int, dict[str, PlatformOrderLine]]:
    out: dict[int, dict[str, PlatformOrderLine]] = {}
    ids = [row.id for row in orders.values()]
    for line in session.scalars(
        select(PlatformOrderLine).where(PlatformOrderLine.platform_order_id.in_(ids))
    ):
        out.setdefault(line.platform_order_id, {})[line.line_key] = line
    return out


def _apply_line(stored: PlatformOrderLine, line: PlatformLine) -> bool:
    """Take the row when it says more than what is stored (``PlatformLine.newer_than``); returns
    whether anything changed."""
    if not line.newer_than(stored):
        return False
    stored.status, stored.quantity, stored.returned = line.status, line.quantity, line.returned
    stored.paid_fen, stored.estimate_fee_fen = line.paid_fen, line.estimate_fee_fen
    stored.actual_fee_fen, stored.modified_at = line.actual_fee_fen, line.modified_at
    stored.completed_at = stored.completed_at or line.completed_at
    stored.settled_at = stored.settled_at or line.settled_at
    return True


def _refresh(
    order: PlatformOrder,
    incoming: Collection[PlatformLine],
    have: Collection[PlatformOrderLine],
    coded: PlatformLine | None,
) -> None:
    """While a platform order is not a neigou order yet, what it will be taken in with follows the
    rows: paid when its first paid row says (an order first seen unpaid was created earlier, maybe in
    another month), through the link code of ``coded``, the batch's newest row carrying one, unless the
    order has a code from a newer row (an earlier row may have lacked it, a row without one takes
    nothing away)."""
    paid = [line.paid_at for line in incoming if line.status in PAID]
    if paid:
        seen_paid = any(line.status in PAID for line in have)
        order.paid_at = min(order.paid_at, *paid) if seen_paid else min(paid)
    if coded is not None:
        known = max(((line.modified_at, RANK[line.status]) for line in have), default=None)
        if order.link_code is None or known is None or (coded.modified_at, RANK[coded.status]) >= known:
            order.link_code = coded.link_code


def _new_line(order: PlatformOrder, line: PlatformLine) -> PlatformOrderLine:
    return PlatformOrderLine(
        platform_order_id=order.id,
        line_key=line.line_key,
        status=line.status,
        quantity=line.quantity,
        returned=line.returned,
        paid_fen=line.paid_fen,
        estimate_fee_fen=line.estimate_fee_fen,
        actual_fee_fen=line.actual_fee_fen,
        refunded_fen=0,
        completed_at=line.completed_at,
        settled_at=line.settled_at,
        modified_at=line.modified_at,
    )


def order_status(lines: Sequence[PlatformOrderLine]) -> LineStatus:
    """An order's status from its lines: invalid when every line is, else the furthest valid line."""
    valid = [line.status for line in lines if line.status is not LineStatus.INVALID]
    return max(valid, key=RANK.__getitem__) if valid else LineStatus.INVALID


@dataclass
class _Feed:
    """One batch of rows being applied, with what was looked up for it."""

    session: Session
    integration: Integration
    platform: Platform
    secret_key: str
    now: datetime
    actor: Actor
    result: FeedResult = field(default_factory=FeedResult)
    orders: dict[str, PlatformOrder] = field(default_factory=dict)
    stored: dict[int, dict[str, PlatformOrderLine]] = field(default_factory=dict)
    indexes: dict[str, list[int]] = field(default_factory=dict)
    coded: dict[str, PlatformLine] = field(default_factory=dict)  # per order, its newest row with a code
    written: Written = field(default_factory=Written)  # the forms rows wrote ids in, if not the one

    def store(self, merged: dict[str, dict[str, PlatformLine]]) -> set[str]:
        """Record each line's newest row; returns the orders something changed on."""
        changed: set[str] = set()
        stored_before = {order.id: set(self.stored.get(order.id, {})) for order in self.orders.values()}
        for external_id, incoming in merged.items():
            order = self.orders[external_id]
            have = self.stored.setdefault(order.id, {})
            if order.order_id is None:
                _refresh(order, incoming.values(), have.values(), self.coded.get(external_id))
            for one, line in incoming.items():
                key = stored_key(have, one, self.written.keys.get((external_id, one), ()))
                # a line the neigou order was taken in without is kept as the platform reports it (the
                # platform pays on it: reconciliation counts it, cause ``missing_line``), its row skipped
                late = order.order_id is not None and (key not in have or have[key].taken_fen is None)
                if key in have:
                    if _apply_line(have[key], line) and not late:
                        changed.add(external_id)
                else:
                    have[key] = _new_line(order, line)
                    self.session.add(have[key])
                    if not late:
                        changed.add(external_id)
                if late and (key not in stored_before[order.id] or line.status in PAID):
                    self.result.skipped.append(Skip(line.index, "line_after_order", LATE_LINE))
        self.session.flush()
        return changed

    def skip(self, external_id: str, code: str, message: Text) -> None:
        """Skip every row of an order, with one reason."""
        self.orders[external_id].skip_code = code
        self.result.skipped.extend(Skip(i, code, message) for i in self.indexes[external_id])

    def order_in(self, external_id: str, order: PlatformOrder, paid: list[PlatformOrderLine]) -> OrderIn:
        """The neigou order a platform order becomes: a line per paid line, its pool the platform's fee."""
        items = tuple(
            ItemIn(
                line_sku(self.platform, line.line_key),
                line.quantity,
                line.paid_fen,
                pool_fen=_fee(line),
            )
            for line in sorted(paid, key=lambda line: line.line_key)
        )
        return OrderIn(
            external_id=external_id,
            program_id=self.integration.program_id,
            customer_ref=f"{self.platform.value}:{external_id}",
            link_code=order.link_code,
            items=items,
            paid_at=order.paid_at,
        )

    def create_orders(self) -> set[int]:
        """Take in, in one batch, the platform orders that have a paid line and no neigou order yet."""
        wanted: list[tuple[str, PlatformOrder, list[PlatformOrderLine], OrderIn]] = []
        for external_id, order in self.orders.items():
            if order.order_id is not None:
                continue
            lines = list(self.stored[order.id].values())
            paid = [line for line in lines if line.status in PAID]
            if paid:  # under the order's stored id (a form written before the one form, maybe)
                wanted.append((external_id, order, paid, self.order_in(order.external_id, order, paid)))
            elif any(line.status is LineStatus.UNPAID for line in lines):
                self.skip(external_id, "not_paid", NOT_PAID)
            else:
                self.skip(external_id, "invalid", NEVER_PAID)
        if not wanted:
            return set()
        batch = ingest(
            self.session,
            [o for _, _, _, o in wanted],
            secret_key=self.secret_key,
            source=OrderSource.PLATFORM,
            now=self.now,
        )
        created: set[int] = set()
        for (external_id, order, paid, _), outcome in zip(wanted, batch.results, strict=True):
            if isinstance(outcome, RowError):
                self.skip(external_id, outcome.code, outcome.message)
            elif not outcome.created:
                self.skip(external_id, "external_id_taken", TAKEN)
            else:
                order.order_id, order.skip_code = outcome.order_id, None
                for line in paid:
                    line.taken_fen = line.paid_fen
                created.add(outcome.order_id)
        self.result.created += len(created)
        self.session.flush()
        return created


def apply_rows(
    session: Session,
    *,
    integration: Integration,
    platform: Platform,
    rows: Sequence[object],
    secret_key: str,
    now: datetime,
    latest: datetime,
    actor: Actor,
    nul_rows: Collection[int] = (),
    nul_orders: Collection[str] = (),
    skips: Mapping[int, Skip] = MappingProxyType({}),
) -> FeedResult:
    """Apply a platform's order rows to the integration's program (times after ``latest`` are refused).
    A row holding a NUL skips its whole order (``adapters.read_rows``: ``nul_rows`` and ``nul_orders``
    say what a file's reader found, the rest is found in ``rows``)."""
    feed = _Feed(session, integration, platform, secret_key, now, actor)
    lines: list[PlatformLine] = []
    for item in read_rows(platform, rows, latest, nul_rows=nul_rows, nul_orders=nul_orders, skips=skips):
        if isinstance(item, Skip):
            feed.result.skipped.append(item)
        else:
            lines.append(item)
            feed.indexes.setdefault(item.external_id, []).append(item.index)
            feed.written.add(item)
            coded = feed.coded.get(item.external_id)
            if item.link_code is not None and (coded is None or item.newer_than(coded)):
                feed.coded[item.external_id] = item
    merged = _merge(lines)
    if merged:
        feed.orders = lock_orders(session, integration, platform, merged, written=feed.written, now=now)
        feed.stored = _stored_lines(session, feed.orders)
        changed = feed.store(merged)
        created = feed.create_orders()
        for order_id in sorted(created):
            orders_service.announce_taken(
                session, orders_service.get(session, order_id), actor=actor, now=now
            )
        for external_id, order in feed.orders.items():
            order_lines = list(feed.stored[order.id].values())
            order.status = order_status(order_lines)
            if external_id in changed:
                order.updated_at = now
            if order.order_id is None:
                continue
            moved = _move_forward(session, order, order_lines, actor=actor, result=feed.result)
            if order.order_id not in created and (moved or external_id in changed):
                feed.result.updated += 1
        session.flush()
    feed.result.skipped.sort(key=lambda skip: skip.index)
    _log_skips(integration, platform, len(rows), feed.result.skipped)
    return feed.result


def _log_skips(integration: Integration, platform: Platform, rows: int, skipped: Sequence[Skip]) -> None:
    """Log a batch's skipped rows by reason, and each row no rule could read by its index and the
    exception's class: never a row's values (an order id, a link code, an amount)."""
    if not skipped:
        return
    where = {
        "integration_id": integration.id,
        "program_id": integration.program_id,
        "platform": platform.value,
    }
    reasons = dict(sorted(Counter(skip.code for skip in skipped).items()))
    log.info("platforms.rows_skipped", **where, rows=rows, skipped=len(skipped), reasons=reasons)
    for skip in skipped:
        if skip.error is not None:
            log.warning("platforms.row_unreadable", **where, index=skip.index, error=skip.error)


def refund_id(platform: Platform, external_id: str, line_key: str, target: int) -> str:
    """The id of the refund that brings a line to ``target``: refund ids are unique within a program
    and a sku is a line of many orders, so it names the order too (hashed when it would not fit)."""
    named = f"{platform.value}:{external_id}:{line_key}:{target}"
    if len(named) <= REFUND_ID_LENGTH:
        return named
    digest = hashlib.sha256(f"{external_id}\x00{line_key}".encode()).hexdigest()[:32]
    return f"{platform.value}:{digest}:{target}"


def line_sku(platform: Platform, line_key: str) -> str:
    """The sku a platform's line is taken in under: the platform and the line's key (its first 64
    characters, ``OrderLine.sku``); a line's refunds find its order line by it."""
    return f"{platform.value}:{line_key}"[:64]


def _fee(line: PlatformOrderLine) -> int:
    """The line's commission pool: the settled fee once settled, the estimate before."""
    if line.status is LineStatus.SETTLED and line.actual_fee_fen is not None:
        return line.actual_fee_fen
    return line.estimate_fee_fen


def _line_numbers(session: Session, order_id: int) -> dict[str, int]:
    query = select(OrderLine.sku, OrderLine.line_no).where(OrderLine.order_id == order_id)
    return {row.sku: row.line_no for row in session.execute(query)}


def _move_forward(
    session: Session, row: PlatformOrder, lines: list[PlatformOrderLine], *, actor: Actor, result: FeedResult
) -> bool:
    """Refund each line up to its target, complete the order once a line completed. Each refund names
    its line: it takes back that line's share of the commission (its fee's), not the order's."""
    assert row.order_id is not None
    order = session.get_one(Order, row.order_id, with_for_update={"key_share": True}, populate_existing=True)
    numbers: dict[str, int] = {}  # the order's line numbers by sku, read at its first refund
    moved = False
    for line in sorted(lines, key=lambda line: line.line_key):
        if line.taken_fen is None:
            continue
        target = refund_target(
            status=line.status,
            quantity=line.quantity,
            returned=line.returned,
            paid_fen=line.paid_fen,
            taken_fen=line.taken_fen,
        )
        if target <= line.refunded_fen:
            continue
        amount = min(target - line.refunded_fen, order.paid_fen - order.refunded_fen)
        if amount > 0:
            at = max(line.modified_at, order.paid_at)
            numbers = numbers or _line_numbers(session, order.id)
            orders_service.refund(
                session,
                order=order,
                # named by what the line reaches: its target, unless the order had less left
                refund_id=refund_id(row.platform, row.external_id, line.line_key, line.refunded_fen + amount),
                amount_fen=amount,
                at=at,
                actor=actor,
                line=orders_service.RefundedLine(
                    numbers[line_sku(row.platform, line.line_key)], line.refunded_fen
                ),
            )
            result.refunds += 1
            moved = True
            line.refunded_fen += amount  # what was refunded: less than the target when the order ran out
    finished = [
        line.completed_at
        for line in lines
        if line.taken_fen is not None and line.status in DONE and line.completed_at is not None
    ]
    if finished and order.completed_at is None:
        orders_service.complete(session, order=order, at=max(min(finished), order.paid_at), actor=actor)
        moved = True
    return moved
