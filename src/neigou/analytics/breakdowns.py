"""Reports split by a key: program economics per day, tier, group, sku or brand; prices from claims.

Rows are integers; a missing key (an order without a group, a seller without a tier, a product
without a brand) is the key ``""``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from neigou.analytics import queries, rollup_queries
from neigou.analytics.reports import Span, rate_bp
from neigou.analytics.store import Store

# key → (statement, expression); sku and brand are line by line.
ECONOMICS_KEYS = {
    "day": (queries.ECONOMICS_BY_ORDER, "CAST(paid_on AS VARCHAR)"),
    "tier": (queries.ECONOMICS_BY_ORDER, "coalesce(tier_code, '')"),
    "group": (queries.ECONOMICS_BY_ORDER, "coalesce(CAST(group_id AS VARCHAR), '')"),
    "sku": (queries.ECONOMICS_BY_LINE, "l.sku"),
    "brand": (queries.ECONOMICS_BY_LINE, "coalesce(CAST(l.brand_id AS VARCHAR), '')"),
}


@dataclass(frozen=True)
class EconomicsRow:
    """The economics of one day, tier, group, sku or brand."""

    key: str
    orders: int
    gmv_fen: int
    refund_fen: int
    coupon_fen: int
    promotion_fen: int
    commission_fen: int

    @property
    def net_fen(self) -> int:
        return self.gmv_fen - self.refund_fen - self.commission_fen


def economics_by(store: Store, span: Span, *, by: str) -> list[EconomicsRow]:
    """Economics per ``by`` (one of ``ECONOMICS_KEYS``): days in calendar order, the others by GMV."""
    statement, key = ECONOMICS_KEYS[by]
    params: dict[str, int | date | str] = dict(span.params())
    if span.member_id:  # a member's own orders, from the facts
        statement = statement.format(key=key)
    elif statement is queries.ECONOMICS_BY_ORDER:  # program-wide, from the pre-aggregated days
        statement = rollup_queries.ECONOMICS_BY_ORDER.format(key=key)
    else:
        statement, params["kind"] = rollup_queries.ECONOMICS_BY_LINE, by
    rows = [EconomicsRow(str(r[0]), *(int(v) for v in r[1:])) for r in store.query(statement, **params)]
    if by == "day":
        rows.sort(key=lambda row: row.key)
    return rows


@dataclass(frozen=True)
class ClaimPrice:
    """A sku's claims through links: the app (list) price against the group price after the coupon."""

    sku: str
    claims: int
    hidden_claims: int
    list_fen: int
    group_fen: int

    @property
    def average_list_fen(self) -> int:
        return self.list_fen // self.claims if self.claims else 0

    @property
    def average_group_fen(self) -> int:
        return self.group_fen // self.claims if self.claims else 0

    @property
    def discount_bp(self) -> int:
        """Depth of the claimed discount: ``floor((list − group) × 10^4 / list)``."""
        return rate_bp(self.list_fen - self.group_fen, self.list_fen)


def claim_prices(store: Store, span: Span) -> list[ClaimPrice]:
    """Per sku, over claims made in the span through a link (top 200 by claims)."""
    return [
        ClaimPrice(str(r[0]), *(int(v) for v in r[1:]))
        for r in store.query(queries.CLAIM_PRICES, **span.params())
    ]
