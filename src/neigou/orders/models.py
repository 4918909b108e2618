"""Orders reported by the shop, their priced lines, the commission they pay, refunds and settlements."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement, SQLCoreOperations

from neigou.kit.db import Base, BigId, JSONType, UTCDateTime, key_string, str_enum


def _only_set(column: str) -> dict[str, Any]:
    """A partial index's options: only the rows whose ``column`` is set (both dialects)."""
    where = text(f"{column} IS NOT NULL")
    return {"postgresql_where": where, "sqlite_where": where}


class CommissionState(enum.StrEnum):
    """Where an order's commission sits: pending (paid), frozen (completed), available (released)."""

    PENDING = "pending"
    FROZEN = "frozen"
    AVAILABLE = "available"


class OrderSource(enum.StrEnum):
    """How the order reached us."""

    API = "api"
    WEBHOOK = "webhook"
    IMPORT = "import"
    PLATFORM = "platform"


def refunded_in_full(
    paid_fen: SQLCoreOperations[int], refunded_fen: SQLCoreOperations[int]
) -> ColumnElement[bool]:
    """``Order.fully_refunded`` as SQL over an order's columns, also those of a table alias."""
    return and_(paid_fen > 0, refunded_fen >= paid_fen)


class Order(Base):
    """A paid order; ``external_id`` is the shop's id, unique within a program."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("program_id", "external_id"),
        Index("ix_orders_member_paid", "member_id", "paid_at"),
        # Group sales, live boards and leaderboards ask for one group or event; most orders have
        # neither, so these two hold only the orders that do (an import pays for no empty entry).
        Index("ix_orders_group_paid", "group_id", "paid_at", **_only_set("group_id")),
        Index("ix_orders_event_member", "event_id", "member_id", **_only_set("event_id")),
        # Orders per post and per campaign: every read asks for a link's orders (migration 0035).
        Index("ix_orders_program_link", "program_id", "link_code", **_only_set("link_code")),
        # A customer's orders: the customer card's purchases and anchors, the bought-together baskets of
        # the anchors' buyers, the book's derive, the opt-out's erasure (which names no program). Every
        # read asks by equality and a customer has few orders, so on PostgreSQL this is a hash index:
        # its entries are a 4-byte hash, not the 64-character reference, which halves what an imported
        # order costs in random writes and WAL (migration 0051; docs/benchmarks.md). SQLite has no hash
        # index and keeps a B-tree on the reference.
        Index("ix_orders_customer", "customer_ref_hash", postgresql_using="hash"),
        # State first: the unique (program_id, external_id) index stays the only one led by program_id,
        # so duplicate checks never scan a whole program even before statistics exist. The settlement
        # reads completed orders only: a paid order has no entry until it completes (migration 0035).
        Index(
            "ix_orders_state_completed",
            "commission_state",
            "completed_at",
            "program_id",
            **_only_set("completed_at"),
        ),
        CheckConstraint("paid_fen >= 0 AND refunded_fen >= 0 AND refunded_fen <= paid_fen", name="amounts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No foreign keys on the bulk-written tables (orders, lines, commissions, ledger postings and
    # entries) but ``settlement_id`` (NULL when written): the batch checks programs, members and
    # events once, and none of these rows is ever deleted (migrations 0016 and 0020).
    program_id: Mapped[int] = mapped_column(BigInteger)
    external_id: Mapped[str] = mapped_column(key_string(64))
    customer_ref_hash: Mapped[str] = mapped_column(String(64))
    link_code: Mapped[str | None] = mapped_column(key_string(64), nullable=True)
    # The employee-purchase event the order counts for; the batch checks it is the program's (no key).
    event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    member_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    group_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attribution_basis: Mapped[str] = mapped_column(String(20))
    self_purchase: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_fen: Mapped[int] = mapped_column(BigInteger)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    commission_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    commission_state: Mapped[CommissionState] = mapped_column(str_enum(CommissionState, bytewise=True))
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"), nullable=True)
    # The quote at paid_at: applied promotions and coupons with their terms as they stood.
    pricing: Mapped[dict[str, Any]] = mapped_column(JSONType)
    source: Mapped[OrderSource] = mapped_column(str_enum(OrderSource))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @hybrid_property
    def fully_refunded(self) -> bool:
        """Whether the refunds reach what the order paid; an order paid 0 (a gift, a 100% coupon) is
        never fully refunded, so it counts as a sale. In a query, the same test as SQL
        (:func:`refunded_in_full` for a table alias): the dashboard, group sales, the network's order
        counts and leaderboard, a link's sales (``orders.repository.link_sales``) and the CRM's
        purchase signals count orders with it. Tier metrics (``tiers.metrics``) deliberately do not:
        an order paid 0 is no sale toward a tier upgrade there (free orders would buy upgrades)."""
        return self.paid_fen > 0 and self.refunded_fen >= self.paid_fen

    @fully_refunded.inplace.expression
    @classmethod
    def _fully_refunded_expression(cls) -> ColumnElement[bool]:
        return refunded_in_full(cls.paid_fen, cls.refunded_fen)

    @property
    def shown_commission_state(self) -> str:
        """Where the commission stands for people: ``reversed`` once the whole order is refunded (the
        stored state still says which account the last refund took it from)."""
        if self.fully_refunded:
            return "reversed"
        return self.commission_state.value


class OrderLine(Base):
    """A priced line as paid, with the product's commission terms at the time."""

    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        # The bought-together signal's buyers of a few anchor skus: the order ids come from the index
        # alone (migration 0046).
        Index("ix_order_lines_sku_order", "sku", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger)  # written with its order, in the same batch
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    list_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger)
    commission_rate_bp: Mapped[int] = mapped_column(Integer)
    fixed_commission_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    pool_fen: Mapped[int] = mapped_column(BigInteger)


class Commission(Base):
    """What one member earns on one order at one level; ``reversed_fen`` grows with refunds."""

    __tablename__ = "commissions"
    __table_args__ = (
        UniqueConstraint("order_id", "member_id", "level"),
        Index("ix_commissions_member_id", "member_id"),
        CheckConstraint("reversed_fen >= 0 AND reversed_fen <= amount_fen", name="reversed_range"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger)  # written with its order, in the same batch
    program_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(BigInteger)
    level: Mapped[int] = mapped_column(Integer)
    tier_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    bp: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reversed_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class Refund(Base):
    """A refund the shop reported; ``refund_id`` is unique within a program."""

    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("program_id", "refund_id"),
        CheckConstraint("amount_fen > 0", name="positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    refund_id: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reversed_fen: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The order line a refund of one line was for (a platform's line); null for a whole-order refund.
    line_no: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Settlement(Base):
    """One release run: frozen commission whose freeze ended by ``as_of`` became available."""

    __tablename__ = "settlements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), index=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    orders: Mapped[int] = mapped_column(Integer)
    released_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ImportCheckpoint(Base):
    """How far a batch import of one file got: resuming skips what was committed."""

    __tablename__ = "order_import_checkpoints"

    file_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(300))
    rows_done: Mapped[int] = mapped_column(BigInteger)
    imported: Mapped[int] = mapped_column(BigInteger)
    duplicates: Mapped[int] = mapped_column(BigInteger)
    errors: Mapped[int] = mapped_column(BigInteger)
    finished: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SkuCommission(Base):
    """A fixed commission pool per unit of a sku, which overrides the product's rate where set."""

    __tablename__ = "sku_commissions"
    __table_args__ = (
        CheckConstraint("fixed_commission_fen >= 0", name="not_negative"),
        # The organization's product of that sku (a sku is unique within an organization only).
        ForeignKeyConstraint(
            ["organization_id", "sku"], ["products.organization_id", "products.sku"], ondelete="CASCADE"
        ),
    )

    organization_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    fixed_commission_fen: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
