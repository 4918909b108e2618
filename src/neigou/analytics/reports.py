"""The reports: each runs its statement on the store and shapes the answer (integers only).

Rates are basis points, floored: ``rate_bp = floor(part × 10^4 / whole)`` (0 when ``whole`` is 0).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from neigou.analytics import data_time, queries, rollup_queries, worth
from neigou.analytics.store import Store

DAY_US = 86_400 * 1_000_000
# The channel of a customer's first order: an event's, through a link made for a CRM push, through
# another share link (a member attributed), or none.
CHANNELS = ("event", "push", "group_link", "organic")
PRICES = ("hidden_coupon", "public")


def _firsts(sql: str, span: Span) -> str:
    """Program-wide, first orders come from the pre-aggregated table; a member's from their orders."""
    return sql if span.member_id else queries.stored(sql)


def _kept(scan: str, kept: str, span: Span) -> str:
    """Program-wide, the pre-aggregated facts (``analytics.rollups``); a member's figures scan theirs."""
    return scan if span.member_id else kept


def _worth(window: str, kept: str, span: Span, key: str) -> str:
    """Program-wide, customers' worth is read from the pre-aggregated table."""
    return (window if span.member_id else kept).format(key=key)


def rate_bp(part: int, whole: int) -> int:
    """``floor(part × 10^4 / whole)``, 0 for an empty whole."""
    return part * 10_000 // whole if whole else 0


@dataclass(frozen=True)
class Span:
    """Local days ``[start_on, end_on]`` of a program, and whose figures (0: the whole program)."""

    program_id: int
    start_on: date
    end_on: date
    member_id: int = 0

    def params(self) -> dict[str, int | date]:
        return {
            "program_id": self.program_id,
            "start_on": self.start_on,
            "end_on": self.end_on,
            "member_id": self.member_id,
        }


@dataclass(frozen=True)
class RepeatRow:
    """Customers whose first order came through ``key`` and whose repeat window has ended, those of them
    who ordered again in the window, and those still inside their window (counted in neither)."""

    key: str
    customers: int
    repeat_customers: int
    in_window: int = 0

    @property
    def repeat_rate_bp(self) -> int:
        return rate_bp(self.repeat_customers, self.customers)


@dataclass(frozen=True)
class Repeat:
    """Repeat purchase by channel, and the same split by hidden-coupon vs public price."""

    channels: list[RepeatRow]
    prices: list[RepeatRow]


def _rows(totals: dict[str, list[int]]) -> list[RepeatRow]:
    return [RepeatRow(key, *figures) for key, figures in sorted(totals.items())]


def repeat(store: Store, span: Span, *, window_days: int, channel: str | None = None) -> Repeat:
    """Customers whose first counted order lies in the span, by channel of that order; a customer counts
    once their window of ``window_days`` has ended by the data's time (``data_time.as_of``)."""
    window = {"window_us": window_days * DAY_US, "as_of_us": data_time.as_of_us(store)}
    rows = store.query(_firsts(queries.REPEAT, span), **span.params(), **window)
    channels: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    prices: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for name, hidden, customers, repeaters, in_window in rows:
        if channel is not None and name != channel:
            continue
        for bucket in (channels[str(name)], prices[PRICES[0] if hidden else PRICES[1]]):
            bucket[0] += int(customers)
            bucket[1] += int(repeaters)
            bucket[2] += int(in_window)
    return Repeat(channels=_rows(channels), prices=_rows(prices))


@dataclass(frozen=True)
class Cohort:
    """Customers of a monthly cohort and channel still buying ``k`` months after their first."""

    month: str
    channel: str
    customers: int
    active: list[int] = field(default_factory=list)

    @property
    def retention_bp(self) -> list[int]:
        return [rate_bp(n, self.customers) for n in self.active]


def cohorts(store: Store, span: Span) -> list[Cohort]:
    """Monthly cohorts by channel; ``active[k]`` counts month k after the first (``active[0]`` = all)."""
    table: dict[tuple[int, str], dict[int, int]] = defaultdict(dict)
    statement = _kept(queries.COHORTS, rollup_queries.COHORTS, span)
    for cohort, channel, k, customers in store.query(statement, **span.params()):
        table[(int(cohort), str(channel))][int(k)] = int(customers)
    out = []
    for (cohort, channel), months in sorted(table.items()):
        year, month = divmod(cohort - 1, 12)
        active = [months.get(k, 0) for k in range(max(months) + 1)]
        out.append(Cohort(f"{year:04d}-{month + 1:02d}", channel, active[0], active))
    return out


@dataclass(frozen=True)
class Economics:
    """Program economics over orders paid in the span."""

    orders: int
    gmv_fen: int
    refund_fen: int
    coupon_fen: int
    promotion_fen: int
    commission_by_level: dict[int, int]

    @property
    def commission_fen(self) -> int:
        return sum(self.commission_by_level.values())

    @property
    def net_fen(self) -> int:
        return self.gmv_fen - self.refund_fen - self.commission_fen


def economics(store: Store, span: Span) -> Economics:
    """GMV, refunds, coupon and promotion cost, commission net of reversals by level, net."""
    totals = (0, 0, 0, 0, 0)
    levels: dict[int, int] = {}
    statement = _kept(queries.ECONOMICS, rollup_queries.ECONOMICS, span)
    for part, orders, gmv, refund, coupon, promotion, level in store.query(statement, **span.params()):
        if part == "total":
            totals = (int(orders), int(gmv), int(refund), int(coupon), int(promotion))
        else:
            levels[int(level)] = int(gmv)
    return Economics(*totals, commission_by_level=dict(sorted(levels.items())))


@dataclass(frozen=True)
class TierRates:
    """A tier's simulated rates."""

    code: str
    share_bp: int
    override_bp: int


@dataclass(frozen=True)
class Simulation:
    """Commission on the span's orders, as earned and as it would have been with other tier rates."""

    actual_commission_fen: int
    simulated_commission_fen: int
    volume_change_bp: int | None

    @property
    def delta_fen(self) -> int:
        return self.simulated_commission_fen - self.actual_commission_fen

    @property
    def adjusted_commission_fen(self) -> int | None:
        """With the demand assumption: ``floor(simulated × (10^4 + change) / 10^4)``."""
        if self.volume_change_bp is None:
            return None
        return self.simulated_commission_fen * (10_000 + self.volume_change_bp) // 10_000


def simulation_statement(tiers: Sequence[TierRates], *, kept: bool) -> tuple[str, dict[str, int | str]]:
    """The simulation's statement and its rates: over the pre-aggregated commission lines (``kept``,
    program-wide) or over the facts (a member's own commissions)."""
    params: dict[str, int | str] = {}
    cases = []
    for i, tier in enumerate(tiers):
        params |= {f"code_{i}": tier.code, f"share_{i}": tier.share_bp, f"override_{i}": tier.override_bp}
        cases.append(
            f"WHEN c.tier_code = :code_{i} THEN (CASE WHEN c.level = 1 THEN :share_{i} ELSE :override_{i} END)"
        )
    new_bp = f"(CASE {' '.join(cases)} ELSE c.bp END)" if cases else "c.bp"
    if kept:
        return rollup_queries.SIMULATION.format(new_bp=new_bp), params
    return worth.SIMULATION.format(new_bp=new_bp), params


def simulate(
    store: Store, span: Span, tiers: Sequence[TierRates], *, volume_change_bp: int | None = None
) -> Simulation:
    """Commission recomputed on the historical orders with ``tiers``' rates (other tiers unchanged)."""
    statement, rates = simulation_statement(tiers, kept=not span.member_id)
    ((actual, simulated),) = store.query(statement, **span.params(), **rates)
    return Simulation(int(actual), int(simulated), volume_change_bp)


@dataclass(frozen=True)
class Fission:
    """The invite tree over a month: who existed at its start, who was recruited in it, depth."""

    members_at_start: int
    recruits: int
    depth: list[tuple[int, int]]
    recruits_active_after_30_days: int
    # recruits of the month whose first 30 days have not ended by the data's time (``data_time.as_of``): neither
    # active after 30 days nor inactive yet
    recruits_within_30_days: int = 0

    @property
    def k_factor_bp(self) -> int:
        return rate_bp(self.recruits, self.members_at_start)


def month_span(program_id: int, period: str, member_id: int = 0) -> Span:
    """The local days of a ``YYYY-MM`` period."""
    year, month = (int(part) for part in period.split("-"))
    last = calendar.monthrange(year, month)[1]
    return Span(program_id, date(year, month, 1), date(year, month, last), member_id)


def fission(store: Store, span: Span) -> Fission:
    """Depth histogram, members at the start, recruits and K-factor, recruits still selling after 30 days."""
    statement = _kept(queries.FISSION, rollup_queries.FISSION, span)
    rows = store.query(statement, **span.params(), as_of=data_time.as_of(store))
    return Fission(
        members_at_start=sum(int(r[2]) for r in rows),
        recruits=sum(int(r[3]) for r in rows),
        depth=[(int(r[0]), int(r[1])) for r in rows],
        recruits_active_after_30_days=sum(int(r[4]) for r in rows),
        recruits_within_30_days=sum(int(r[5]) for r in rows),
    )


PERCENTILES = (10, 25, 50, 75, 90)


@dataclass(frozen=True)
class ChannelValue:
    """Net contribution of a channel's customers: total, floor average and exact percentiles."""

    channel: str
    customers: int
    net_fen: int
    coupon_fen: int
    promotion_fen: int
    percentiles: dict[int, int]

    @property
    def average_net_fen(self) -> int:
        return self.net_fen // self.customers if self.customers else 0


@dataclass(frozen=True)
class TopCustomer:
    """One of the most valuable customers, by a reference that names nobody."""

    reference: str
    key: str
    orders: int
    net_fen: int
    coupon_fen: int
    promotion_fen: int


def masked(customer: str) -> str:
    """A short, stable reference to a customer's keyed hash (an opted-out one shows as erased)."""
    if customer.startswith("erased:"):
        return "erased"
    return f"C-{customer[:6]}"


# The customer's first counted order decides their channel, their seller's tier and their group.
VALUE_KEYS = {
    "channel": "f.channel",
    "tier": "coalesce(f.tier_code, '')",
    "group": "coalesce(CAST(f.group_id AS VARCHAR), '')",
}


def customer_value(
    store: Store, span: Span, *, by: str = "channel"
) -> tuple[list[ChannelValue], list[TopCustomer]]:
    """Customers whose first counted order lies in the span: paid − refunds − commission over all their
    orders (coupon and promotion cost beside), by channel, tier or group, and the ten most valuable."""
    key = VALUE_KEYS[by]
    totals: dict[str, tuple[int, int, int, int]] = {}
    ranks: dict[str, dict[int, int]] = defaultdict(dict)
    for part, channel, customers, net, coupon, promotion, rn, n in store.query(
        _worth(queries.CUSTOMER_VALUE, queries.CUSTOMER_VALUE_STORED, span, key), **span.params()
    ):
        if part == "total":
            totals[str(channel)] = (int(customers), int(net), int(coupon), int(promotion))
        else:
            for p in PERCENTILES:
                if int(rn) == (int(n) * p + 99) // 100:
                    ranks[str(channel)][p] = int(net)
    channels = [
        ChannelValue(channel, *figures, percentiles=dict(sorted(ranks[channel].items())))
        for channel, figures in sorted(totals.items())
    ]
    top = [
        TopCustomer(masked(str(c)), str(ch), int(o), int(net), int(cp), int(pr))
        for c, ch, o, net, cp, pr in store.query(
            _worth(queries.TOP_CUSTOMERS, queries.TOP_CUSTOMERS_STORED, span, key), **span.params()
        )
    ]
    return channels, top


@dataclass(frozen=True)
class SkuPrice:
    """A sku's list price against what was paid, through hidden coupons and overall."""

    sku: str
    units: int
    list_fen: int
    paid_fen: int
    hidden_paid_fen: int
    hidden_list_fen: int
    hidden_units: int

    @property
    def discount_bp(self) -> int:
        """Average depth of discount: ``floor((list − paid) × 10^4 / list)``."""
        return rate_bp(self.list_fen - self.paid_fen, self.list_fen)

    @property
    def hidden_share_bp(self) -> int:
        """Share of the sku's GMV bought through hidden coupons."""
        return rate_bp(self.hidden_paid_fen, self.paid_fen)


def prices(store: Store, span: Span) -> list[SkuPrice]:
    """Group price against list price per sku, the hidden-coupon share of GMV, discount depth."""
    return [
        SkuPrice(str(r[0]), *(int(v) for v in r[1:]))
        for r in store.query(_kept(queries.PRICES, rollup_queries.PRICES, span), **span.params())
    ]


FUNNEL_KEYS = {
    "link": ("c.link_id", "c.link_id", "l.id"),
    "member": ("c.member_id", "c.member_id", "o.member_id"),
    "group": ("l.group_id", "c.group_id", "o.group_id"),
}

# The kept funnel's column per key (``rollup_queries.FUNNEL``).
KEPT_FUNNEL_KEYS = {"link": "link_id", "member": "member_id", "group": "group_id"}


@dataclass(frozen=True)
class FunnelRow:
    """Clicks by people, claims, orders and net GMV (paid − refunded) of one link, member or group."""

    key: int
    clicks: int
    claims: int
    orders: int
    net_fen: int


def funnel_statement(by: str, *, kept: bool) -> str:
    """The funnel's statement per ``by``: over the kept days (program-wide) or over the facts."""
    if kept:
        return rollup_queries.FUNNEL.format(key=KEPT_FUNNEL_KEYS[by])
    click_key, claim_key, order_key = FUNNEL_KEYS[by]
    clicks = queries.FUNNEL_CLICKS.format(click_key=click_key)
    return queries.FUNNEL.format(clicks=clicks, claim_key=claim_key, order_key=order_key)


def funnel(store: Store, span: Span, *, by: str) -> list[FunnelRow]:
    """The funnel per link, member or group over the span (top 200 by net GMV)."""
    statement = _kept(funnel_statement(by, kept=False), funnel_statement(by, kept=True), span)
    return [FunnelRow(*(int(v) for v in row)) for row in store.query(statement, **span.params())]
