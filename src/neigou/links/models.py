"""Share links, their clicks, coupon claims, and the touches that attribute orders to members.

Every table is keyed (or indexed) by program so the click and touch tables can be sharded by it.
Shoppers appear only as the keyed hash of their reference (openid or phone) and a masked form.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, UTCDateTime, key_string, str_enum
from neigou.links.useragent import UaClass


class TouchKind(enum.StrEnum):
    """An identified click (the shopper is known) or a coupon claim through a link."""

    CLICK = "click"
    CLAIM = "claim"


class ClaimSource(enum.StrEnum):
    """Where a claim came from: the landing page (anonymous shopper) or the API (integration, operator)."""

    LANDING = "landing"
    API = "api"


class ShareLink(Base):
    """A member's tracked link to one product, maybe carrying a coupon, maybe for one of their groups."""

    __tablename__ = "share_links"
    __table_args__ = (
        Index("ix_share_links_member", "member_id", "id"),
        Index("ix_share_links_program_created", "program_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Random base62, never sequential: knowing one code tells nothing about another.
    # Byte-wise on PostgreSQL, like orders.link_code it is joined to (kit.db.key_string, migration 0031).
    code: Mapped[str] = mapped_column(key_string(16), unique=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"), nullable=True)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_groups.id", ondelete="SET NULL"), nullable=True
    )
    # The campaign the link was made from (a post of the feed): its boost and its conversion.
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # The CRM push the link was made for: its clicks, claims and orders count for that push.
    push_id: Mapped[int | None] = mapped_column(
        ForeignKey("pushes.id", ondelete="SET NULL"), nullable=True, index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LinkClick(Base):
    """One open of a share link, written in batches by the click recorder (never on the request path).

    An append-only log with no foreign key to ``share_links``: the writer checks once per batch that
    the batch's links exist, and links are deactivated, never deleted. A key checked per row would cost
    PostgreSQL a share lock on the link's row for every click (a quarter of the insert's work).
    """

    __tablename__ = "link_clicks"
    __table_args__ = (
        Index("ix_link_clicks_link_at", "link_id", "clicked_at"),
        Index("ix_link_clicks_visitor", "visitor_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Made when the click happens: a stream entry delivered twice is stored once.
    ref: Mapped[str] = mapped_column(String(24), unique=True)
    link_id: Mapped[int] = mapped_column(BigId)
    program_id: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(Integer)
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    visitor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ua_class: Mapped[UaClass] = mapped_column(str_enum(UaClass))
    customer_ref_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class CouponClaim(Base):
    """A shopper's claim of one unit of a coupon's stock."""

    __tablename__ = "coupon_claims"
    __table_args__ = (
        # The caller's idempotency key: a retried claim finds the first one instead of taking stock twice.
        UniqueConstraint("coupon_id", "request_id"),
        Index("ix_coupon_claims_customer", "coupon_id", "customer_ref_hash"),
        Index("ix_coupon_claims_link", "link_id"),
        Index("ix_coupon_claims_group_at", "group_id", "claimed_at"),  # group sales
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"))
    customer_ref_hash: Mapped[str] = mapped_column(String(64))
    customer_ref_masked: Mapped[str] = mapped_column(String(40))
    link_id: Mapped[int | None] = mapped_column(
        ForeignKey("share_links.id", ondelete="SET NULL"), nullable=True
    )
    program_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    member_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    group_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source: Mapped[ClaimSource] = mapped_column(str_enum(ClaimSource))
    visitor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClaimCounter(Base):
    """Claims per customer and coupon, raised by one conditional UPDATE so parallel claims can't pass the limit."""

    __tablename__ = "coupon_claim_counters"

    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"), primary_key=True)
    customer_ref_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    claimed: Mapped[int] = mapped_column(Integer)


class Visitor(Base):
    """An anonymous visitor cookie that identified itself (by claiming): its clicks become touches.

    The linkage holds only for the organization the shopper identified themselves to: another
    organization's landing page neither shows the masked reference nor claims with it in one tap, and
    its links' clicks make no touches from it (organizations are separate controllers, docs/privacy.md).
    """

    __tablename__ = "link_visitors"

    visitor_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_ref_hash: Mapped[str] = mapped_column(String(64))
    customer_ref_masked: Mapped[str] = mapped_column(String(40))
    # No foreign key, like link_clicks: organizations are never deleted. NULL on linkages stored before
    # migration 0052: honoured for no organization until the shopper identifies again.
    organization_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    identified_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Touch(Base):
    """An identified interaction of a shopper with a member's link, keyed by (program, customer)."""

    __tablename__ = "attribution_touches"
    __table_args__ = (
        Index("ix_attribution_touches_customer", "program_id", "customer_ref_hash", "touched_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    customer_ref_hash: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("share_links.id", ondelete="CASCADE"))
    link_code: Mapped[str] = mapped_column(String(16))
    kind: Mapped[TouchKind] = mapped_column(str_enum(TouchKind))
    # "click:<ref>" or "claim:<id>": the same click or claim never makes two touches.
    source_ref: Mapped[str] = mapped_column(String(40), unique=True)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Binding(Base):
    """The member a shopper is bound to for good under the ``locked`` model: their first touch ever."""

    __tablename__ = "attribution_bindings"

    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True)
    customer_ref_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("share_links.id", ondelete="CASCADE"))
    link_code: Mapped[str] = mapped_column(String(16))
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime())
