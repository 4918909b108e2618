"""What each order of a batch becomes before it is written: its earners, its lines' commission terms
and its offers snapshot, from what the batch looked up once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from neigou.campaigns.estimate import BoostTerms, boosted_rate_bp
from neigou.kit.columns import RowError
from neigou.kit.i18n import Message
from neigou.links.attribution import Attribution
from neigou.orders import commission, lookups
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.offer_snapshot import OfferBook, plain_of
from neigou.programs.models import Program, Tier

# A line as stored, without its order: (line_no, sku, quantity, list_fen, paid_fen, commission_rate_bp,
# fixed_commission_fen, pool_fen).
LineRow = tuple[int, str, int, int, int, int, int | None, int]


class UnpricedTier(Exception):
    """A member of an order's chain held, when it was paid, a tier the ladder no longer has: the order
    is refused (``TIER_NOT_IN_LADDER``) rather than paying that member nothing."""


TIER_NOT_IN_LADDER = Message(
    "A member this order pays held a tier the program's ladder no longer has when it was paid, "
    "so its commission cannot be priced: put the tier back in the ladder, then send the order again."
)


def entry_tiers(tiers: dict[tuple[int, str], Tier]) -> dict[int, Tier]:
    """Each program's entry tier (its lowest rank) among ``lookups.tiers``' tiers."""
    entries: dict[int, Tier] = {}
    for (program_id, _code), tier in tiers.items():
        if program_id not in entries or tier.rank < entries[program_id].rank:
            entries[program_id] = tier
    return entries


def chain(
    program: Program,
    *,
    seller: int,
    paid_at: datetime,
    facts: dict[int, lookups.MemberFacts],
    tiers: dict[tuple[int, str], Tier],
    entry: Tier | None,
    self_purchase: bool,
    known: dict[tuple[int, int, bool], list[commission.Earner]] | None = None,
    span: tuple[datetime, datetime] | None = None,
) -> list[commission.Earner]:
    """The members who earn on an order: its seller, and the upline as it stood when the order was
    paid (each level the inviter of the level below at ``paid_at``), each with the rate of the tier
    they held then.

    A member without any tier (no tier period: added before the program had a ladder, and not placed
    since) is priced at the program's ``entry`` tier, the tier ``replace_tiers`` places them on from
    when they joined; a tier held then that the ladder no longer has raises ``UnpricedTier``: an order
    never silently pays a member nothing.

    A chain whose members have at most one tier period each, and whose members' inviters do not change
    within ``span`` (the batch's paid times), is the same for every order of the batch (``tier_at``
    answers that period's tier for any instant, ``inviter_at`` the same inviter): it is kept in
    ``known`` for the batch's other orders through the same seller."""

    program_id, max_levels = program.id, program.max_levels

    def bp(member: int, attr: str) -> tuple[int, str | None, int]:
        tier_code = facts[member].tier_at(paid_at) if member in facts else None
        tier = entry if tier_code is None else tiers.get((program_id, tier_code))
        if tier is None:
            raise UnpricedTier(member)
        return member, tier.code, int(getattr(tier, attr))

    key = (program_id, seller, self_purchase)
    if known is not None and key in known:
        return known[key]
    uplines: list[tuple[int, str | None, int]] = []
    current = facts[seller].inviter_at(paid_at) if seller in facts else None
    while current is not None and len(uplines) < max_levels - 1:
        uplines.append(bp(current, "override_bp"))
        current = facts[current].inviter_at(paid_at) if current in facts else None
    earners = commission.earners(
        seller=bp(seller, "share_bp"),
        uplines=uplines,
        max_levels=max_levels,
        self_purchase=self_purchase,
        self_purchase_commission=program.self_purchase_commission,
    )
    members = [seller, *(member for member, _, _ in uplines)]
    if known is not None and span is not None and all(_steady(facts, m, span) for m in members):
        known[key] = earners
    return earners


def span_of(orders: Sequence[OrderIn]) -> tuple[datetime, datetime] | None:
    """A batch's first and last paid times (None for no orders)."""
    if not orders:
        return None
    return min(o.paid_at for o in orders), max(o.paid_at for o in orders)


def _steady(facts: dict[int, lookups.MemberFacts], member: int, span: tuple[datetime, datetime]) -> bool:
    """Whether the member's tier and inviter are the same at every instant of ``span``."""
    found = facts.get(member)
    return found is None or (len(found.periods) <= 1 and found.steady(*span))


class Chains:
    """A batch's chains: each order's earners (``chain``), the chain through one seller computed once
    when it does not depend on the paid time within the batch's ``span`` (its first and last paid
    times); otherwise once per order."""

    def __init__(
        self,
        programs: dict[int, Program],
        tiers: dict[tuple[int, str], Tier],
        facts: dict[int, lookups.MemberFacts],
        span: tuple[datetime, datetime] | None,
    ) -> None:
        self.programs, self.tiers, self.facts, self.span = programs, tiers, facts, span
        self.entries = entry_tiers(tiers)
        self.known: dict[tuple[int, int, bool], list[commission.Earner]] = {}

    def of(self, program_id: int, found: Attribution, paid_at: datetime) -> list[commission.Earner]:
        """The earners of an order of this program attributed so and paid then; raises ``UnpricedTier``."""
        seller = found.member_id
        if seller is None:
            return []
        known = self.known.get((program_id, seller, found.self_purchase))
        if known is not None:
            return known
        return chain(
            self.programs[program_id],
            seller=seller,
            paid_at=paid_at,
            facts=self.facts,
            tiers=self.tiers,
            entry=self.entries.get(program_id),
            self_purchase=found.self_purchase,
            known=self.known,
            span=self.span,
        )


def unpriced(row: int, external_id: str) -> RowError:
    """The refusal of an order ``chain`` cannot price (``UnpricedTier``), the same on every path."""
    return RowError(row, external_id, "tier_not_in_ladder", TIER_NOT_IN_LADDER)


def priced_lines(
    items: tuple[ItemIn, ...],
    products: dict[str, lookups.ProductTerms],
    boost: BoostTerms | None,
    paid_at: datetime,
) -> tuple[list[LineRow], int, int | None]:
    """The order's lines with their commission terms: a platform's fee as the pool (no rate), else the
    product's rate (boosted by the link's campaign inside its window) and fixed commission. With them,
    in the same pass, what was paid in all and the lines' list total (None when a line is not one of
    our products at list price: a platform's fee, which the platform priced). A line's pool is
    ``commission.pool_of`` of its terms, written out here."""
    out: list[LineRow] = []
    paid_total = 0
    list_total: int | None = 0
    for number, item in enumerate(items, start=1):
        sku, quantity, paid_fen = item.sku, item.quantity, item.paid_fen
        paid_total += paid_fen
        terms = products.get(sku)
        if item.pool_fen is not None or terms is None:
            list_total = None
            out.append((number, sku, quantity, paid_fen, paid_fen, 0, None, item.pool_fen or 0))
            continue
        rate = terms.commission_rate_bp
        if boost is not None:
            rate = boosted_rate_bp(rate, boost, sku=sku, paid_at=paid_at)
        fixed = terms.fixed_commission_fen
        pool = paid_fen * rate // commission.BP if fixed is None else min(fixed * quantity, paid_fen)
        list_fen = terms.price_fen * quantity
        if list_total is not None:
            list_total += list_fen
        out.append((number, sku, quantity, list_fen, paid_fen, rate, fixed, pool))
    return out, paid_total, list_total


def as_line(row: LineRow) -> commission.Line:
    """A stored line's terms for the pure commission rule (a pool without rate or fixed commission is
    the platform's fee)."""
    _, _, quantity, _, paid_fen, rate, fixed, pool = row
    platform = pool if fixed is None and rate == 0 else None
    return commission.Line(paid_fen, quantity, rate, fixed, platform_pool_fen=platform)


def pricing(
    book: OfferBook, order: OrderIn, prices: dict[str, int], link_coupon_id: int | None, organization_id: int
) -> dict[str, object]:
    """The offers snapshot with the offers of the order's program's organization; a platform's order
    (lines with the platform's fee) is recorded as paid: the platform priced it, and our promotions
    and coupons never applied to it."""
    if any(item.pool_fen is not None for item in order.items):
        paid = sum(item.paid_fen for item in order.items)
        return {
            "quoted_at": order.paid_at.isoformat(),
            "list_total_fen": paid,
            "promotion_discount_fen": 0,
            "coupon_discount_fen": 0,
            "payable_fen": paid,
            "applied": [],
            "priced_by": "platform",
        }
    return book.snapshot(order.items, prices, order.paid_at, link_coupon_id, organization_id)


def snapshot_of(
    book: OfferBook,
    order: OrderIn,
    prices: dict[str, int],
    link_coupon_id: int | None,
    organization_id: int,
    *,
    list_total: int | None,
) -> dict[str, object]:
    """``pricing``, given the list total ``priced_lines`` found: an order of list-priced lines that no
    offer of the book can apply to (the common case of a file) gets its plain snapshot at once."""
    if list_total is not None and book.offers_none(link_coupon_id, organization_id):
        return plain_of(list_total, order.paid_at)
    return pricing(book, order, prices, link_coupon_id, organization_id)


def commission_total(lines: list[LineRow], chain: list[commission.Earner]) -> int:
    """What the order's earners earn in all: ``commission.compute``'s amounts summed (a zero amount
    adds nothing), from the stored lines as they are, without a ``Line`` per line; the same floors
    (``commission.share_of``, as ``set_writes.EARNED`` in SQL): a pool without rate, or a fixed pool,
    is shared; else the paid amount at the rate."""
    share_of = commission.share_of
    return sum(
        share_of(paid_fen, rate, pool if fixed is not None or rate == 0 else None, earner.bp)
        for earner in chain
        for _, _, _, _, paid_fen, rate, fixed, pool in lines
    )
