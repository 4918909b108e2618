"""Organizations (tenants): a platform or a brand that owns its programs, catalog and money.

Every row of a tenant table belongs to one organization, directly (``organization_id``) or through
its program; ``programs.scope`` turns that into the criteria of every query of a scoped principal.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, UTCDateTime, str_enum

DEFAULT_ORGANIZATION_CODE = "default"
# Published in the deletion's transaction (``kit.events``, data ``organization_id``): the domains that send
# on an organization's behalf fail what waits to go out, with ``ORGANIZATION_DELETED`` as the reason
# (push messages, webhook deliveries, robot posts, live-code robot messages); a first attempt queued
# before the deletion asks ``programs.repository.of_deleted_organization`` before it sends.
DELETED_EVENT = "organization.deleted"
ORGANIZATION_DELETED = "organization_deleted"


class Organization(Base):
    """A tenant; deleting it (``deleted_at``) stops its tokens at once and hides nothing else."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # A merchant's new coupon or commission change waits for an operator's approval.
    review_merchant_changes: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Merchant(Base):
    """A shop (店家) of an organization: its products, their commission rates, its coupons and
    promotions; deleting it (``deleted_at``) stops its accounts' tokens at once. Its code is unique
    within its organization only (migration 0041): another organization's codes are none of its business."""

    __tablename__ = "merchants"
    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ReviewKind(enum.StrEnum):
    """What a merchant asked for."""

    COUPON = "coupon"
    COMMISSION_RATE = "commission_rate"


class ReviewStatus(enum.StrEnum):
    """pending → approved | rejected, once."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class MerchantReview(Base):
    """A merchant's new coupon or commission rate waiting for (or decided by) an operator of an
    organization that reviews merchants' changes. A coupon under review is not live; a rate under
    review is not the product's until approved."""

    __tablename__ = "merchant_reviews"
    __table_args__ = (
        Index("ix_merchant_reviews_status", "organization_id", "status"),
        # One rate request per product at a time (``offers.review.hold_rate``), also under a burst.
        Index(
            "uq_merchant_reviews_pending_product",
            "product_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    kind: Mapped[ReviewKind] = mapped_column(str_enum(ReviewKind))
    # The catalog sits above this module: its rows are named by table.
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"), nullable=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), nullable=True)
    rate_before_bp: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rate_after_bp: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[ReviewStatus] = mapped_column(str_enum(ReviewStatus))
    requested_by: Mapped[str] = mapped_column(String(80))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
