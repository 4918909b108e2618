"""The catalog (brands, categories, products) and the offers on it: coupon templates and promotions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, JSONType, UTCDateTime, str_enum
from neigou.offers.offer_rules import CouponKind, CouponStacking, CouponVisibility, PromotionKind


class Brand(Base):
    """A merchant or brand whose products the programs sell."""

    __tablename__ = "brands"
    # A code is unique within its organization (migration 0043): another organization may use it too.
    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Category(Base):
    """A shelf of the catalog (个护, 服饰, 食品 …)."""

    __tablename__ = "categories"
    # A code is unique within its organization (migration 0043): another organization may use it too.
    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Product(Base):
    """A sellable sku: list price in fen and the commission pool rate in basis points."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_fen >= 0", name="price_not_negative"),
        CheckConstraint("commission_rate_bp >= 0 AND commission_rate_bp <= 10000", name="rate_in_range"),
        Index("ix_products_brand_id", "brand_id"),
        Index("ix_products_category_id", "category_id"),
        # A sku is unique within its organization (migration 0043): two platforms may both sell it.
        UniqueConstraint("organization_id", "sku"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True, nullable=True)
    # The sku is the key orders, links and the shop use within the organization; it never changes once created.
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    price_fen: Mapped[int] = mapped_column(BigInteger)
    commission_rate_bp: Mapped[int] = mapped_column(Integer)
    image_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    shop_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"), nullable=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), nullable=True)
    # Style, size and season words a salesperson's customers are matched against (``crm``).
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default=text("'[]'"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CouponTemplate(Base):
    """A coupon as the merchant defines it; customers' claims of it come from this stock."""

    __tablename__ = "coupon_templates"
    __table_args__ = (
        # Claims will take stock with one atomic UPDATE; the database refuses overselling.
        CheckConstraint("claimed_quantity >= 0 AND claimed_quantity <= total_quantity", name="stock"),
        CheckConstraint("value >= 0", name="value_not_negative"),
        Index("ix_coupon_templates_window", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True, nullable=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[CouponKind] = mapped_column(str_enum(CouponKind))
    # fen for amount_off, basis points for percent_off
    value: Mapped[int] = mapped_column(BigInteger)
    cap_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    min_spend_fen: Mapped[int] = mapped_column(BigInteger)
    visibility: Mapped[CouponVisibility] = mapped_column(str_enum(CouponVisibility))
    # exclusive: used alone on an order; combinable: with coupons of other kinds (one per kind).
    stacking: Mapped[CouponStacking] = mapped_column(
        str_enum(CouponStacking), default=CouponStacking.COMBINABLE, server_default="combinable"
    )
    # None: every sku; otherwise the list of skus the coupon covers.
    skus: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    total_quantity: Mapped[int] = mapped_column(Integer)
    claimed_quantity: Mapped[int] = mapped_column(Integer, default=0)
    per_customer_limit: Mapped[int] = mapped_column(Integer)
    # False while a merchant's coupon waits for (or was refused) an operator's approval: no link,
    # claim, quote, campaign or shopper's list uses it.
    live: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # True while the organization or the merchant paused it: no claim or quote uses it (window kept).
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Promotion(Base):
    """A shop promotion (满N件X折, 满X减Y, event prices) that applies by itself to qualifying baskets."""

    __tablename__ = "promotions"
    __table_args__ = (Index("ix_promotions_window", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True, nullable=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[PromotionKind] = mapped_column(str_enum(PromotionKind))
    # The kind's terms, as in offer_rules: {"min_quantity", "pay_rate_bp"} and so on.
    params: Mapped[dict[str, Any]] = mapped_column(JSONType)
    skus: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    # True while paused: no quote or order pricing applies it (window kept).
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
