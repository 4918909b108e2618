"""What an operator types into the console (yuan, percent, local times, sku lists) as API schemas.

No web framework here: the console hands in plain strings and gets a schema or every field error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from neigou.kit.field_errors import field_code, field_message
from neigou.kit.i18n import Message, Text
from neigou.kit.ids import whole_number
from neigou.offers.amounts import AmountError, local_to_utc, percent_to_bp, yuan_to_fen
from neigou.offers.offer_rules import CouponKind, PromotionKind
from neigou.offers.offer_schemas import CouponCreate, CouponUpdate, PromotionCreate, PromotionUpdate
from neigou.offers.quote_schemas import MAX_QUANTITY, QuoteItem
from neigou.offers.schemas import BrandCreate, CategoryCreate, ProductCreate, ProductUpdate

M = TypeVar("M", bound=BaseModel)
TRUTHY = {"on", "true", "1", "yes"}


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, by stable code."""

    field: str | None
    code: str
    message: Text


class FormInvalid(Exception):
    """The form cannot become a request; ``errors`` says why, field by field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.code}" for e in errors))
        self.errors = errors


class _Reader:
    """Reads fields of a form, collecting every error instead of stopping at the first."""

    def __init__(self, form: Mapping[str, str]) -> None:
        self.form = form
        self.errors: list[FieldError] = []

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = (self.form.get(name) or "").strip()
        if required and not value:
            self.errors.append(FieldError(name, "required", Message("This field is required.")))
        return value or None

    def flag(self, name: str) -> bool:
        return (self.form.get(name) or "").strip().lower() in TRUTHY

    def convert(self, name: str, parse: Callable[[str], Any], *, required: bool = True) -> Any:
        raw = self.text(name)
        if raw is None:
            if required:
                self.errors.append(FieldError(name, "required", Message("This field is required.")))
            return None
        try:
            return parse(raw)
        except AmountError as exc:
            self.errors.append(FieldError(name, exc.code, exc.message))
            return None

    def whole(self, name: str, *, required: bool = True) -> int | None:
        def parse(raw: str) -> int:
            number = whole_number(raw, signed=True)
            if number is None:  # also past 18 digits: ``int()`` raises past 4300
                raise AmountError("invalid_integer", Message("{field} must be a whole number.", field=name))
            return number

        result: int | None = self.convert(name, parse, required=required)
        return result

    def build(self, model: type[M], data: dict[str, Any]) -> M:
        if self.errors:
            raise FormInvalid(self.errors)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise FormInvalid([_field_error(err) for err in exc.errors()]) from exc


def _field_error(err: Mapping[str, Any]) -> FieldError:
    """A schema's validation error as a form's field error, with the code and the message in the reader's
    language a file's row error has (``kit.field_errors``: ``blank_name``, ``invalid_value`` with what is
    expected…), never pydantic's English."""
    field = ".".join(str(p) for p in err["loc"]) or None
    kind = err["type"]
    return FieldError(field, field_code(kind), field_message(kind, field or "", err.get("ctx")))


def sku_list(text: str | None) -> list[str] | None:
    """``"A, B\\nC"`` → ["A", "B", "C"]; blank means every sku (None)."""
    skus = [part for part in re.split(r"[\s,，、;；]+", text or "") if part]
    return skus or None


def catalog_entry_input(form: Mapping[str, str], model: type[M]) -> M:
    """The brand or category form (code and name) as a ``BrandCreate`` or ``CategoryCreate``."""
    assert model in (BrandCreate, CategoryCreate)
    read = _Reader(form)
    data = {"code": read.text("code", required=True), "name": read.text("name", required=True)}
    return read.build(model, data)


def product_input(form: Mapping[str, str], *, update: bool = False) -> ProductCreate | ProductUpdate:
    """The product form (price in yuan, commission in percent) as a create or a full update."""
    read = _Reader(form)
    data: dict[str, Any] = {
        "title": read.text("title", required=True),
        "price_fen": read.convert("price_yuan", yuan_to_fen),
        "commission_rate_bp": read.convert("commission_percent", percent_to_bp),
        "image_url": read.text("image_url"),
        "shop_url": read.text("shop_url"),
        "brand_code": read.text("brand_code"),
        "category_code": read.text("category_code"),
        "active": read.flag("active"),
    }
    if update:
        return read.build(ProductUpdate, data)
    return read.build(ProductCreate, {"sku": read.text("sku", required=True), **data})


def price_rate_input(form: Mapping[str, str]) -> ProductUpdate:
    """The merchant portal's product row (price in yuan, commission in percent) as an update of both;
    a value the schema refuses (a price above ``MAX_FEN``) is a field error, never a 500."""
    read = _Reader(form)
    data: dict[str, Any] = {
        "price_fen": read.convert("price_yuan", yuan_to_fen),
        "commission_rate_bp": read.convert("commission_percent", percent_to_bp),
    }
    return read.build(ProductUpdate, data)


def coupon_input(form: Mapping[str, str], *, timezone: str) -> CouponCreate:
    """The coupon form: value in yuan (amount_off) or percent (percent_off); times in ``timezone``."""
    read = _Reader(form)
    kind = read.text("kind")
    by_percent = kind == CouponKind.PERCENT_OFF.value
    data: dict[str, Any] = {
        "name": read.text("name", required=True),
        "kind": kind,
        "value": read.convert("value", percent_to_bp if by_percent else yuan_to_fen),
        "cap_fen": read.convert("cap_yuan", yuan_to_fen, required=False),
        "min_spend_fen": read.convert("min_spend_yuan", yuan_to_fen, required=False) or 0,
        "visibility": read.text("visibility"),
        "stacking": read.text("stacking") or "combinable",
        "skus": sku_list(read.text("skus")),
        "total_quantity": read.whole("total_quantity"),
        "per_customer_limit": read.whole("per_customer_limit"),
        "starts_at": read.convert("starts_at", lambda v: local_to_utc(v, timezone)),
        "ends_at": read.convert("ends_at", lambda v: local_to_utc(v, timezone)),
    }
    return read.build(CouponCreate, data)


def coupon_update_input(
    form: Mapping[str, str], *, kind: CouponKind, timezone: str, with_terms: bool
) -> CouponUpdate:
    """The coupon edit form: what may change at any time, and the terms while ``with_terms`` (value in
    yuan or percent by the coupon's kind); times in ``timezone``."""
    read = _Reader(form)
    data: dict[str, Any] = {
        "name": read.text("name", required=True),
        "ends_at": read.convert("ends_at", lambda v: local_to_utc(v, timezone)),
        "total_quantity": read.whole("total_quantity"),
        "status": read.text("status") or None,
    }
    if with_terms:
        data["value"] = read.convert(
            "value", percent_to_bp if kind is CouponKind.PERCENT_OFF else yuan_to_fen
        )
        data["cap_fen"] = read.convert("cap_yuan", yuan_to_fen, required=False)
        data["min_spend_fen"] = read.convert("min_spend_yuan", yuan_to_fen, required=False) or 0
        data["visibility"] = read.text("visibility")
    return read.build(CouponUpdate, data)


def _params(read: _Reader, kind: str | None) -> dict[str, Any]:
    if kind == PromotionKind.QUANTITY_DISCOUNT.value:
        return {
            "min_quantity": read.whole("min_quantity"),
            "pay_rate_bp": read.convert("pay_rate_percent", percent_to_bp),
        }
    if kind == PromotionKind.SPEND_THRESHOLD_OFF.value:
        return {
            "min_spend_fen": read.convert("min_spend_yuan", yuan_to_fen),
            "off_fen": read.convert("off_yuan", yuan_to_fen),
        }
    if kind == PromotionKind.EVENT_PRICE.value:
        return {"prices": _event_prices(read)}
    return {}


def promotion_update_input(
    form: Mapping[str, str], *, kind: PromotionKind, timezone: str, with_terms: bool
) -> PromotionUpdate:
    """The promotion edit form: name, end and running state; the kind's terms while ``with_terms``."""
    read = _Reader(form)
    data: dict[str, Any] = {
        "name": read.text("name", required=True),
        "ends_at": read.convert("ends_at", lambda v: local_to_utc(v, timezone)),
        "status": read.text("status") or None,
    }
    if with_terms:
        data["params"] = _params(read, kind.value)
    return read.build(PromotionUpdate, data)


def _event_prices(read: _Reader) -> dict[str, int] | None:
    prices: dict[str, int] = {}
    for number, line in enumerate((read.text("event_prices") or "").splitlines(), start=1):
        if not line.strip():
            continue
        sku, sep, price = line.replace("：", "=").replace(":", "=").partition("=")
        if not sep or not sku.strip():
            message = Message("event_prices line {n}: write SKU=price.", n=number)
            read.errors.append(FieldError("event_prices", "invalid_value", message))
            continue
        try:
            prices[sku.strip()] = yuan_to_fen(price)
        except AmountError as exc:
            read.errors.append(FieldError("event_prices", exc.code, exc.message))
    return prices


def promotion_input(form: Mapping[str, str], *, timezone: str) -> PromotionCreate:
    """The promotion form: the kind's terms in yuan and percent; times in ``timezone``."""
    read = _Reader(form)
    kind = read.text("kind")
    params = _params(read, kind)
    data: dict[str, Any] = {
        "name": read.text("name", required=True),
        "kind": kind,
        "params": params,
        "skus": sku_list(read.text("skus")),
        "priority": read.whole("priority", required=False) or 0,
        "exclusive": read.flag("exclusive"),
        "starts_at": read.convert("starts_at", lambda v: local_to_utc(v, timezone)),
        "ends_at": read.convert("ends_at", lambda v: local_to_utc(v, timezone)),
    }
    return read.build(PromotionCreate, data)


@dataclass(frozen=True)
class QuoteForm:
    """The quote preview form as service arguments."""

    items: list[QuoteItem]
    coupon_ids: list[int]
    at: datetime | None


def quote_input(
    skus: Sequence[str], quantities: Sequence[str], coupon_ids: Sequence[str], at: str, *, timezone: str
) -> QuoteForm:
    """The quote form's rows (blank rows skipped), chosen coupons and optional time."""
    items: list[QuoteItem] = []
    errors: list[FieldError] = []
    for row, (sku, quantity) in enumerate(zip(skus, quantities, strict=False), start=1):
        if not sku.strip():
            continue
        try:
            items.append(QuoteItem.model_validate({"sku": sku, "quantity": int(quantity.strip() or "1")}))
        except ValueError:
            message = Message("Row {row}: a sku and a quantity from 1 to {most}.", row=row, most=MAX_QUANTITY)
            errors.append(FieldError(f"row {row}", "validation_error", message))
    if not items and not errors:
        errors.append(FieldError("items", "required", Message("Add at least one sku.")))
    ids: list[int] = []
    for value in coupon_ids:
        if not value.strip():
            continue
        number = whole_number(value)
        if number is None:
            errors.append(
                FieldError(
                    "coupon_id", "unknown_coupon", Message("A coupon is given by its id, a whole number.")
                )
            )
            break
        ids.append(number)
    when: datetime | None = None
    if at.strip():
        try:
            when = local_to_utc(at, timezone)
        except AmountError as exc:
            errors.append(FieldError("at", exc.code, exc.message))
    if errors:
        raise FormInvalid(errors)
    return QuoteForm(items=items, coupon_ids=ids, at=when)
