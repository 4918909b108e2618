"""Platform orders as the platforms report them: the order, its lines, and the neigou order they became.

These rows are the platform's side of the books: reconciliation compares them with the orders and the
ledger, so an order that could not be taken in (an unknown share link, say) is kept here with its reason.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, UTCDateTime, str_enum
from neigou.platforms.rows import LineStatus, Platform


class PlatformOrder(Base):
    """One order of a platform, keyed by the platform's order id within the program."""

    __tablename__ = "platform_orders"
    __table_args__ = (
        UniqueConstraint("program_id", "platform", "external_id"),
        Index("ix_platform_orders_month", "program_id", "platform", "paid_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"), index=True)
    platform: Mapped[Platform] = mapped_column(str_enum(Platform))
    external_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), nullable=True)
    link_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[LineStatus] = mapped_column(str_enum(LineStatus))
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Why the order is not (yet) a neigou order: the code of the reason it was skipped.
    skip_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PlatformOrderLine(Base):
    """A line of a platform order as last reported, and what of it neigou has refunded."""

    __tablename__ = "platform_order_lines"
    __table_args__ = (UniqueConstraint("platform_order_id", "line_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform_order_id: Mapped[int] = mapped_column(ForeignKey("platform_orders.id", ondelete="CASCADE"))
    line_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[LineStatus] = mapped_column(str_enum(LineStatus))
    quantity: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer)
    paid_fen: Mapped[int] = mapped_column(BigInteger)
    estimate_fee_fen: Mapped[int] = mapped_column(BigInteger)
    actual_fee_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # What the line paid when it became part of the neigou order (None: it is not part of it).
    taken_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PlatformWatermark(Base):
    """How far a poller has read a platform's orders for an integration (by modification time)."""

    __tablename__ = "platform_watermarks"

    integration_id: Mapped[int] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), primary_key=True
    )
    platform: Mapped[Platform] = mapped_column(str_enum(Platform), primary_key=True)
    synced_until: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
