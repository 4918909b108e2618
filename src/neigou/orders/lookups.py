"""Set-based look-ups for a batch of orders: one query per chunk, never one per order."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neigou.events.models import Event
from neigou.kit.bulk import chunks
from neigou.kit.pg_arrays import one_of
from neigou.offers.models import Product
from neigou.orders.commission import as_of, changes_within, tier_at
from neigou.orders.inputs import ItemIn, Terms
from neigou.orders.models import Order, OrderLine, SkuCommission
from neigou.programs.models import Member, MemberInviterPeriod, MemberTierPeriod, Program, Tier


def programs(session: Session, ids: Iterable[int]) -> dict[int, Program]:
    """The programs with these ids, read locked in shared mode (``FOR KEY SHARE``, PostgreSQL) until the
    transaction ends, before the batch reads any upline: a move of a member to another inviter
    (``programs.inviters.change_inviter``) locks its program ``FOR UPDATE``, so a batch pricing orders
    meanwhile waits for the move's commit and reads the new upline, and a move that comes second waits
    for the batch's commit and sees its orders (``orders.priced``). Batches do not wait for each other,
    nor for anything but a change that locks the program ``FOR UPDATE``."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = select(Program).where(Program.id.in_(wanted)).order_by(Program.id)
    return {p.id: p for p in session.scalars(query.with_for_update(read=True, key_share=True))}


def moves_mark(session: Session) -> int:
    """How far the invite history's ids have gone (0: none yet): a batch prepared on one connection and
    written on another (``ingest.finish``) checks at its write that no move was made since
    (``moved_since``). Read with the programs locked (``programs``): no move of theirs is uncommitted
    then, and the id of any later one is past the mark."""
    return int(session.scalar(select(func.max(MemberInviterPeriod.id))) or 0)


def moved_since(session: Session, mark: int, program_ids: Iterable[int]) -> bool:
    """Whether a member of these programs was moved to another inviter after ``mark`` was read; the
    programs are locked first (``programs``), so no move can commit after the answer until the
    transaction ends."""
    wanted = programs(session, program_ids)
    if not wanted:
        return False
    moved = (
        select(MemberInviterPeriod.id)
        .join(Member, Member.id == MemberInviterPeriod.member_id)
        .where(
            MemberInviterPeriod.id > mark,
            MemberInviterPeriod.reason == "moved",
            Member.program_id.in_(sorted(wanted)),
        )
        .limit(1)
    )
    return session.scalar(moved) is not None


def tiers(session: Session, program_ids: Collection[int]) -> dict[tuple[int, str], Tier]:
    """Every tier of these programs by (program, code)."""
    if not program_ids:
        return {}
    rows = session.scalars(select(Tier).where(Tier.program_id.in_(sorted(program_ids))))
    return {(t.program_id, t.code): t for t in rows}


@dataclass(frozen=True)
class ProductTerms:
    """What a sku pays in commission: its rate, or a fixed pool per unit."""

    sku: str
    price_fen: int
    commission_rate_bp: int
    fixed_commission_fen: int | None
    # The product's organization: an order takes only its program's organization's skus.
    organization_id: int


def product_terms(
    session: Session, skus: Iterable[str], organization_ids: Collection[int]
) -> dict[int, dict[str, ProductTerms]]:
    """Commission terms of these skus among these organizations' products, by organization and sku
    (unknown skus, and other organizations', are left out), whatever the session's scope: a signed
    webhook's or a job's has none. A sku is unique within an organization only: two organizations of
    one batch may each sell it, each at its own price and rate."""
    wanted = sorted(set(skus))
    found: dict[int, dict[str, ProductTerms]] = {}
    if not organization_ids:
        return found
    for part in chunks(wanted):
        rows = session.execute(
            select(
                Product.sku,
                Product.price_fen,
                Product.commission_rate_bp,
                SkuCommission.fixed_commission_fen,
                Product.organization_id,
            )
            .outerjoin(
                SkuCommission,
                (SkuCommission.organization_id == Product.organization_id)
                & (SkuCommission.sku == Product.sku),
            )
            .where(Product.sku.in_(part), Product.organization_id.in_(sorted(organization_ids)))
        )
        for sku, price, rate, fixed, organization_id in rows:
            found.setdefault(int(organization_id), {})[sku] = ProductTerms(
                sku, int(price), int(rate), None if fixed is None else int(fixed), int(organization_id)
            )
    return found


def by_program(keys: Iterable[tuple[int, str]]) -> dict[int, list[str]]:
    """(program, value) pairs grouped per program, so each query hits one program's index range."""
    grouped: dict[int, set[str]] = {}
    for program_id, value in keys:
        grouped.setdefault(program_id, set()).add(value)
    return {p: sorted(values) for p, values in grouped.items()}


def existing_orders(session: Session, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Ids of the orders already stored under these (program, external_id) keys."""
    found: dict[tuple[int, str], int] = {}
    for program_id, external_ids in by_program(keys).items():
        for part in chunks(external_ids):
            rows = session.execute(
                select(Order.external_id, Order.id).where(
                    Order.program_id == program_id, Order.external_id.in_(part)
                )
            )
            found.update({(program_id, e): int(i) for e, i in rows})
    return found


def stored_terms(session: Session, order_ids: Iterable[int]) -> dict[int, Terms]:
    """The terms of these stored orders (two queries per chunk: the orders, then their lines)."""
    found: dict[int, Terms] = {}
    for part in chunks(sorted(set(order_ids))):
        heads = session.execute(
            select(Order.id, Order.customer_ref_hash, Order.link_code, Order.paid_at, Order.event_id).where(
                Order.id.in_(part)
            )
        )
        items: dict[int, list[ItemIn]] = {}
        for order_id, sku, quantity, paid_fen in session.execute(
            select(OrderLine.order_id, OrderLine.sku, OrderLine.quantity, OrderLine.paid_fen)
            .where(OrderLine.order_id.in_(part))
            .order_by(OrderLine.order_id, OrderLine.line_no)
        ):
            items.setdefault(int(order_id), []).append(ItemIn(sku, int(quantity), int(paid_fen)))
        for order_id, ref_hash, link_code, paid_at, event_id in heads:
            lines = tuple(items.get(int(order_id), ()))
            found[int(order_id)] = Terms(ref_hash, link_code, paid_at, lines, event_id)
    return found


@dataclass(frozen=True)
class MemberFacts:
    """What commission needs of a member: current inviter and tier, and their dated histories."""

    member_id: int
    inviter_id: int | None
    tier_code: str | None
    periods: tuple[tuple[datetime, str], ...]
    inviters: tuple[tuple[datetime, int | None], ...] = ()

    def tier_at(self, at: datetime) -> str | None:
        """The tier held at ``at``."""
        return tier_at(self.periods, at, self.tier_code)

    def inviter_at(self, at: datetime) -> int | None:
        """The inviter at ``at`` (the current one for a member stored without inviter periods)."""
        return as_of(self.inviters, at, self.inviter_id)

    def steady(self, start: datetime, end: datetime) -> bool:
        """Whether the member's inviter is the same at every instant of ``[start, end]``."""
        return not changes_within(self.inviters, start, end)


def member_facts(session: Session, seller_ids: Iterable[int], depth: int) -> dict[int, MemberFacts]:
    """The sellers and their uplines ``depth`` levels up, every inviter they ever had included, with tier
    and inviter histories: one query per level, and one for the tiers."""
    members: dict[int, tuple[int | None, str | None]] = {}
    inviters: dict[int, list[tuple[datetime, int | None]]] = {}
    frontier = sorted(set(seller_ids))
    for _ in range(depth + 1):
        frontier = [m for m in frontier if m not in members]
        if not frontier:
            break
        found: set[int] = set()
        for member_id, inviter_id, tier, since, then in session.execute(
            select(
                Member.id,
                Member.inviter_id,
                Member.tier_code,
                MemberInviterPeriod.effective_from,
                MemberInviterPeriod.inviter_id,
            )
            .outerjoin(MemberInviterPeriod, MemberInviterPeriod.member_id == Member.id)
            .where(one_of(session, Member.id, frontier, "BIGINT"))
            .order_by(Member.id, MemberInviterPeriod.effective_from, MemberInviterPeriod.id)
        ):
            members[int(member_id)] = (inviter_id, tier)
            found.update(int(i) for i in (inviter_id, then) if i is not None)
            if since is not None:
                inviters.setdefault(int(member_id), []).append((since, then))
        frontier = sorted(found)
    periods: dict[int, list[tuple[datetime, str]]] = {}
    if members:
        rows = session.execute(
            select(MemberTierPeriod.member_id, MemberTierPeriod.effective_from, MemberTierPeriod.tier_code)
            .where(one_of(session, MemberTierPeriod.member_id, sorted(members), "BIGINT"))
            .order_by(MemberTierPeriod.member_id, MemberTierPeriod.effective_from, MemberTierPeriod.id)
        )
        for member_id, effective_from, tier in rows:
            periods.setdefault(int(member_id), []).append((effective_from, tier))
    return {
        m: MemberFacts(m, inviter, tier, tuple(periods.get(m, ())), tuple(inviters.get(m, ())))
        for m, (inviter, tier) in members.items()
    }


def event_programs(session: Session, event_ids: set[int]) -> dict[int, int]:
    """event id → its program, for the events a batch of orders names."""
    if not event_ids:
        return {}
    rows = session.execute(select(Event.id, Event.program_id).where(Event.id.in_(sorted(event_ids))))
    return {int(e): int(p) for e, p in rows}
