"""Request and response bodies of the campaigns API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from neigou.kit.instants import Instant
from neigou.kit.names import VisibleNameStr

Sku = Field(min_length=1, max_length=64)


class CampaignCreate(BaseModel):
    """A new campaign of a program: its products, optional coupon and boost, window and copy."""

    model_config = ConfigDict(extra="forbid")

    program_id: int
    name: VisibleNameStr
    skus: list[str] = Field(min_length=1, max_length=100)
    brand_id: int | None = None
    coupon_id: int | None = None
    commission_boost_bp: int = Field(default=0, ge=0, le=10_000)
    starts_at: Instant
    ends_at: Instant
    copy_text: str | None = Field(default=None, alias="copy", min_length=1, max_length=1000)


class CampaignUpdate(BaseModel):
    """Changes to a campaign; fields left out stay as they are. ``coupon_id`` and ``copy`` may be
    set to ``null`` to drop them; the program, merchant and brand never change."""

    model_config = ConfigDict(extra="forbid")

    name: VisibleNameStr | None = None
    skus: list[str] | None = Field(default=None, min_length=1, max_length=100)
    coupon_id: int | None = None
    commission_boost_bp: int | None = Field(default=None, ge=0, le=10_000)
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    copy_text: str | None = Field(default=None, alias="copy", min_length=1, max_length=1000)


class CampaignOut(BaseModel):
    """A campaign as the API shows it."""

    model_config = ConfigDict(populate_by_name=True)

    id: int
    program_id: int
    merchant_id: int | None = None
    name: str
    skus: list[str]
    brand_id: int | None
    coupon_id: int | None
    commission_boost_bp: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    copy_text: str | None = Field(serialization_alias="copy")
    created_at: dt.datetime
