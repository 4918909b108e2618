"""The facts copied into the analytics store: their columns, and the OLTP query that reads each.

Every fact table is append-only in the store and keyed by the OLTP row's id, which is also its
watermark. What changes on the OLTP side after a row is written is carried by another append-only
fact (refunds, not ``orders.refunded_fen``; commission reversals follow from refunds by the ledger's
rules, ``A − floor(A × R / P)`` or line by line for a refund that names its line, ``analytics.worth``;
commission a confirmed risk case took back, by ``analytics.reversals``), so the copy never has to
update a row. Local dates (``paid_on``…)
are computed at extract time in the program's time zone, so no report converts time zones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, literal, select

from neigou.links.models import CouponClaim, LinkClick, ShareLink
from neigou.links.useragent import UaClass
from neigou.offers.models import CouponTemplate, Product
from neigou.offers.offer_rules import CouponVisibility
from neigou.orders.models import Commission, Order, OrderLine, Refund
from neigou.programs.models import Member, Program

# The store's layout: a store written by another version is dropped and copied again by the next
# refresh (it holds nothing the OLTP database does not).
LAYOUT = 11

# kind: int | str | date | ts | bool | json (a dict read in Python into derived int columns)
DUCK_TYPES = {"int": "BIGINT", "str": "VARCHAR", "date": "DATE", "ts": "TIMESTAMP", "bool": "BOOLEAN"}
CLICKHOUSE_TYPES = {
    "int": "Int64",
    "str": "String",
    "date": "Date32",
    "ts": "DateTime64(6, 'UTC')",
    "bool": "Bool",
}


@dataclass(frozen=True)
class Column:
    """A column of a fact table; ``local_date_of`` names the UTC column whose local day this is."""

    name: str
    kind: str
    nullable: bool = False
    local_date_of: str | None = None


@dataclass(frozen=True)
class Fact:
    """A fact table: its columns, and the OLTP statement (ordered by id) that reads it."""

    name: str
    columns: tuple[Column, ...]
    source: Select[*tuple[Any, ...]]
    id_column: Any

    def ddl(self, dialect: str) -> str:
        """CREATE TABLE for the engine."""
        types = CLICKHOUSE_TYPES if dialect == "clickhouse" else DUCK_TYPES
        parts = []
        for column in self.columns:
            kind = types[column.kind]
            if column.nullable:
                kind = f"Nullable({kind})" if dialect == "clickhouse" else kind
            parts.append(f"{column.name} {kind}")
        body = ", ".join(parts)
        if dialect == "clickhouse":
            return f"CREATE TABLE IF NOT EXISTS {self.name} ({body}) ENGINE = MergeTree ORDER BY (program_id, id)"
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({body})"


def _c(name: str, kind: str = "int", *, nullable: bool = False, local: str | None = None) -> Column:
    return Column(name, kind, nullable, local)


_hidden_coupon = case((CouponTemplate.visibility == CouponVisibility.HIDDEN, True), else_=False)

# The seller's tier when the order was attributed: the tier of its level-1 commission.
_seller_tier = (
    select(Commission.tier_code)
    .where(Commission.order_id == Order.id, Commission.level == 1)
    .limit(1)
    .scalar_subquery()
)

FACTS: tuple[Fact, ...] = (
    Fact(
        "members",
        (
            _c("id"),
            _c("program_id"),
            _c("inviter_id", nullable=True),
            _c("joined_at", "ts"),
            _c("joined_on", "date", local="joined_at"),
        ),
        select(Member.id, Member.program_id, Member.inviter_id, Member.joined_at),
        Member.id,
    ),
    Fact(
        "links",
        (
            _c("id"),
            _c("program_id"),
            _c("member_id"),
            _c("code", "str"),
            _c("sku", "str"),
            _c("group_id", nullable=True),
            _c("hidden_coupon", "bool"),
        ),
        select(
            ShareLink.id,
            ShareLink.program_id,
            ShareLink.member_id,
            ShareLink.code,
            ShareLink.sku,
            ShareLink.group_id,
            _hidden_coupon.label("hidden_coupon"),
        ).outerjoin(CouponTemplate, CouponTemplate.id == ShareLink.coupon_id),
        ShareLink.id,
    ),
    Fact(
        "clicks",
        (
            _c("id"),
            _c("program_id"),
            _c("link_id"),
            _c("member_id"),
            _c("clicked_at", "ts"),
            _c("clicked_on", "date", local="clicked_at"),
            _c("human", "bool"),
        ),
        select(
            LinkClick.id,
            LinkClick.program_id,
            LinkClick.link_id,
            LinkClick.member_id,
            LinkClick.clicked_at,
            case((LinkClick.ua_class == UaClass.BOT, False), else_=True).label("human"),
        ),
        LinkClick.id,
    ),
    Fact(
        "claims",
        (
            _c("id"),
            _c("program_id"),
            _c("link_id", nullable=True),
            _c("member_id", nullable=True),
            _c("group_id", nullable=True),
            _c("customer", "str"),
            _c("hidden_coupon", "bool"),
            _c("sku", "str", nullable=True),
            _c("list_fen", nullable=True),
            _c("group_fen", nullable=True),
            _c("claimed_at", "ts"),
            _c("claimed_on", "date", local="claimed_at"),
        ),
        # The claim's link names the sku; its price after the claimed coupon is the group price
        # (``group_price`` in ``analytics.extract``: one unit at the list price as it is now).
        select(
            CouponClaim.id,
            CouponClaim.program_id,
            CouponClaim.link_id,
            CouponClaim.member_id,
            CouponClaim.group_id,
            CouponClaim.customer_ref_hash.label("customer"),
            _hidden_coupon.label("hidden_coupon"),
            ShareLink.sku,
            Product.price_fen.label("list_fen"),
            CouponTemplate.kind.label("coupon_kind"),
            CouponTemplate.value.label("coupon_value"),
            CouponTemplate.cap_fen.label("coupon_cap_fen"),
            CouponClaim.claimed_at,
        )
        .join(CouponTemplate, CouponTemplate.id == CouponClaim.coupon_id)
        .outerjoin(ShareLink, ShareLink.id == CouponClaim.link_id)
        # The link's sku among its program's organization's products (a sku is unique within one only).
        .outerjoin(Program, Program.id == ShareLink.program_id)
        .outerjoin(
            Product, and_(Product.sku == ShareLink.sku, Product.organization_id == Program.organization_id)
        )
        .where(CouponClaim.program_id.is_not(None)),
        CouponClaim.id,
    ),
    Fact(
        "orders",
        (
            _c("id"),
            _c("program_id"),
            _c("customer", "str"),
            _c("member_id", nullable=True),
            _c("group_id", nullable=True),
            _c("event_id", nullable=True),
            _c("tier_code", "str", nullable=True),
            _c("link_code", "str", nullable=True),
            _c("channel", "str"),
            _c("hidden_coupon", "bool"),
            _c("paid_fen"),
            _c("list_fen"),
            _c("promotion_fen"),
            _c("coupon_fen"),
            _c("paid_at", "ts"),
            _c("paid_us"),
            _c("paid_on", "date", local="paid_at"),
        ),
        select(
            Order.id,
            Order.program_id,
            Order.customer_ref_hash.label("customer"),
            Order.member_id,
            Order.group_id,
            Order.event_id,
            _seller_tier.label("tier_code"),
            Order.link_code,
            case(
                (Order.event_id.is_not(None), literal("event")),
                (ShareLink.push_id.is_not(None), literal("push")),
                (Order.member_id.is_(None), literal("organic")),
                else_=literal("group_link"),
            ).label("channel"),
            and_(_hidden_coupon, ShareLink.id.is_not(None)).label("hidden_coupon"),
            Order.paid_fen,
            Order.pricing,
            Order.paid_at,
        )
        .outerjoin(ShareLink, ShareLink.code == Order.link_code)
        .outerjoin(CouponTemplate, CouponTemplate.id == ShareLink.coupon_id),
        Order.id,
    ),
    Fact(
        "order_lines",
        (
            _c("id"),
            _c("program_id"),
            _c("order_id"),
            _c("line_no"),
            _c("sku", "str"),
            _c("brand_id", nullable=True),
            _c("quantity"),
            _c("list_fen"),
            _c("paid_fen"),
            _c("commission_rate_bp"),
            _c("fixed_commission_fen", nullable=True),
            _c("pool_fen"),
        ),
        select(
            OrderLine.id,
            Order.program_id,
            OrderLine.order_id,
            OrderLine.line_no,
            OrderLine.sku,
            Product.brand_id,
            OrderLine.quantity,
            OrderLine.list_fen,
            OrderLine.paid_fen,
            OrderLine.commission_rate_bp,
            OrderLine.fixed_commission_fen,
            OrderLine.pool_fen,
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Program, Program.id == Order.program_id)
        .outerjoin(
            Product, and_(Product.sku == OrderLine.sku, Product.organization_id == Program.organization_id)
        ),
        OrderLine.id,
    ),
    Fact(
        "commissions",
        (
            _c("id"),
            _c("program_id"),
            _c("order_id"),
            _c("member_id"),
            _c("level"),
            _c("tier_code", "str", nullable=True),
            _c("bp"),
            _c("amount_fen"),
        ),
        select(
            Commission.id,
            Commission.program_id,
            Commission.order_id,
            Commission.member_id,
            Commission.level,
            Commission.tier_code,
            Commission.bp,
            Commission.amount_fen,
        ),
        Commission.id,
    ),
    Fact(
        "refunds",
        (
            _c("id"),
            _c("program_id"),
            _c("order_id"),
            _c("amount_fen"),
            # the order line a platform's line refund was for (null: the whole order)
            _c("line_no", nullable=True),
            _c("refunded_at", "ts"),
            _c("refunded_on", "date", local="refunded_at"),
        ),
        select(
            Refund.id,
            Refund.program_id,
            Refund.order_id,
            Refund.amount_fen,
            Refund.line_no,
            Refund.at.label("refunded_at"),
        ),
        Refund.id,
    ),
)

PROGRAMS = select(Program.id, Program.timezone)
BY_NAME = {fact.name: fact for fact in FACTS}
