"""Request and response bodies of the catalog API: brands, categories, products, CSV imports."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from neigou.kit.field_errors import CLEARED
from neigou.kit.i18n import Message
from neigou.kit.names import StrippedNameStr, VisibleName

Code = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Sku = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][\w.\-]*$"),
]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^https?://\S+$")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), VisibleName]
Name = StrippedNameStr
# ¥100,000,000.00: far above any real price, far below integer overflow.
MAX_FEN = 10_000_000_000
PriceFen = Annotated[int, Field(ge=0, le=MAX_FEN, strict=True)]
RateBp = Annotated[int, Field(ge=0, le=10_000, strict=True)]
MAX_TAGS = 20


def tidy_tags(tags: list[str]) -> list[str]:
    """One form per tag (NFKC, trimmed), blanks dropped, each once in the order given."""
    tidy = (unicodedata.normalize("NFKC", t).strip() for t in tags)
    return list(dict.fromkeys(t for t in tidy if t))


# Taste words (style, size, season) a product or a customer carries: 风格:通勤, 尺码:M, 冬装.
Tag = Annotated[str, StringConstraints(max_length=40, pattern=r"^[^\x00-\x1f]*$")]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(tidy_tags)]


class BrandCreate(BaseModel):
    """A merchant or brand."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name


class BrandOut(BaseModel):
    """A stored brand."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str


class CategoryCreate(BrandCreate):
    """A catalog category."""


class CategoryOut(BrandOut):
    """A stored category."""


class ProductCreate(BaseModel):
    """A new sku; brand and category are named by code."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    title: Title
    price_fen: PriceFen
    commission_rate_bp: RateBp
    image_url: Url | None = None
    shop_url: Url | None = None
    brand_code: Code | None = None
    category_code: Code | None = None
    active: bool = True
    tags: Tags = Field(default_factory=list)
    # The shop that owns it (operators; a merchant's products are its own).
    merchant_id: int | None = None


class ProductUpdate(BaseModel):
    """Fields to change; the sku never changes. Send ``null`` to clear an optional field."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    price_fen: PriceFen | None = None
    commission_rate_bp: RateBp | None = None
    image_url: Url | None = None
    shop_url: Url | None = None
    brand_code: Code | None = None
    category_code: Code | None = None
    active: bool | None = None
    tags: Tags | None = None  # replaces the list; null clears it
    # Moving a product to another merchant (operators), refused once it has orders.
    merchant_id: int | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> ProductUpdate:
        cleared = [
            name
            for name in ("title", "price_fen", "commission_rate_bp", "active")
            if name in self.model_fields_set and getattr(self, name) is None
        ]
        if cleared:
            raise ValueError(Message(CLEARED, fields=", ".join(cleared)))
        return self


class ProductOut(BaseModel):
    """A product as the API shows it."""

    id: int
    sku: str
    title: str
    price_fen: int
    commission_rate_bp: int
    image_url: str | None
    shop_url: str | None
    brand_code: str | None
    category_code: str | None
    active: bool
    tags: list[str] = Field(default_factory=list)
    merchant_id: int | None = None
    created_at: datetime
    updated_at: datetime


class ImportResult(BaseModel):
    """What an import did (or, in a dry run, would do)."""

    rows: int
    created: int
    updated: int
    dry_run: bool
