"""Queries of the offers domain: catalog, coupon templates, promotions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from neigou.kit.bulk import chunks
from neigou.kit.db import contains
from neigou.kit.ids import whole_number
from neigou.kit.paging import Page, Paged, Sortable, paginate
from neigou.offers.models import Brand, Category, CouponTemplate, Product, Promotion
from neigou.offers.offer_rules import CouponVisibility, PromotionKind
from neigou.programs.models import Program


def list_brands(session: Session) -> list[Brand]:
    """Every brand, by name."""
    return list(session.scalars(select(Brand).order_by(Brand.name, Brand.id)))


def page_brands(session: Session, page: Page) -> Paged[Brand]:
    """A page of the brands, by name, and their number."""
    return paginate(session, select(Brand).order_by(Brand.name, Brand.id), page)


def list_categories(session: Session) -> list[Category]:
    """Every category, by name."""
    return list(session.scalars(select(Category).order_by(Category.name, Category.id)))


def page_categories(session: Session, page: Page) -> Paged[Category]:
    """A page of the categories, by name, and their number."""
    return paginate(session, select(Category).order_by(Category.name, Category.id), page)


def product_counts_by_brand(session: Session) -> dict[int, int]:
    """How many products each brand has, by brand id (brands without products left out)."""
    query = select(Product.brand_id, func.count(Product.id)).where(Product.brand_id.is_not(None))
    return {b: n for b, n in session.execute(query.group_by(Product.brand_id)) if b is not None}


def product_counts_by_category(session: Session) -> dict[int, int]:
    """How many products each category has, by category id (categories without products left out)."""
    query = select(Product.category_id, func.count(Product.id)).where(Product.category_id.is_not(None))
    return {c: n for c, n in session.execute(query.group_by(Product.category_id)) if c is not None}


K = TypeVar("K", str, int)
V = TypeVar("V", str, int)


def _lookup(
    session: Session,
    key: InstrumentedAttribute[K],
    value: InstrumentedAttribute[V],
    keys: Iterable[K | None],
    *where: ColumnElement[bool],
) -> dict[K, V]:
    """``key → value`` for the rows whose key is in ``keys`` (and that match ``where``): one query per
    chunk, never one per key."""
    wanted = sorted({k for k in keys if k is not None})
    found: dict[K, V] = {}
    for part in chunks(wanted):
        for found_key, found_value in session.execute(select(key, value).where(key.in_(part), *where)):
            found[found_key] = found_value
    return found


def brand_ids_by_code(session: Session, organization_id: int, codes: Iterable[str | None]) -> dict[str, int]:
    """Ids of the organization's brands with these codes (unknown codes are left out): a code is
    unique within an organization only, so the organization is named, scoped session or not."""
    return _lookup(session, Brand.code, Brand.id, codes, Brand.organization_id == organization_id)


def category_ids_by_code(
    session: Session, organization_id: int, codes: Iterable[str | None]
) -> dict[str, int]:
    """Ids of the organization's categories with these codes (unknown codes are left out)."""
    return _lookup(session, Category.code, Category.id, codes, Category.organization_id == organization_id)


def brand_codes(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Code of each of these brands by id."""
    return _lookup(session, Brand.id, Brand.code, ids)


def category_codes(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Code of each of these categories by id."""
    return _lookup(session, Category.id, Category.code, ids)


@dataclass(frozen=True)
class ProductFilter:
    """What a product listing narrows to."""

    q: str | None = None
    sku: str | None = None
    brand_id: int | None = None
    category_id: int | None = None
    active: bool | None = None
    # A brand's or category's code: the products whose own organization's brand or category has it.
    brand_code: str | None = None
    category_code: str | None = None


def _filtered(query: Select[Product], where: ProductFilter) -> Select[Product]:
    if where.q:
        pattern = contains(where.q)
        query = query.where(
            or_(Product.title.ilike(pattern, escape="\\"), Product.sku.ilike(pattern, escape="\\"))
        )
    if where.sku is not None:
        query = query.where(Product.sku == where.sku)
    if where.brand_id is not None:
        query = query.where(Product.brand_id == where.brand_id)
    if where.category_id is not None:
        query = query.where(Product.category_id == where.category_id)
    if where.active is not None:
        query = query.where(Product.active.is_(where.active))
    if where.brand_code is not None:
        brands = select(Brand.id).where(
            Brand.code == where.brand_code, Brand.organization_id == Product.organization_id
        )
        query = query.where(Product.brand_id.in_(brands))
    if where.category_code is not None:
        categories = select(Category.id).where(
            Category.code == where.category_code, Category.organization_id == Product.organization_id
        )
        query = query.where(Product.category_id.in_(categories))
    return query


def list_products(session: Session, where: ProductFilter, *, limit: int, offset: int) -> list[Product]:
    """Products matching ``where``, oldest first."""
    query = _filtered(select(Product), where).order_by(Product.id).limit(limit).offset(offset)
    return list(session.scalars(query))


def page_products(session: Session, where: ProductFilter, page: Page) -> Paged[Product]:
    """A page of the products matching ``where``, oldest first, and how many match."""
    return paginate(session, _filtered(select(Product), where).order_by(Product.id), page)


def count_products(session: Session, where: ProductFilter) -> int:
    """How many products match ``where``."""
    query = _filtered(select(Product), where).with_only_columns(func.count(Product.id))
    return session.scalar(query) or 0


def get_product(session: Session, product_id: int) -> Product | None:
    """The product with this id."""
    return session.get(Product, product_id)


def products_by_sku(session: Session, skus: Iterable[str], *, organization_id: int) -> dict[str, Product]:
    """The organization's products with these skus (unknown skus are left out), in one query per chunk.
    A sku is unique within an organization only, so the organization is always named, whatever the
    session's scope (pricing and order taking name the program's: an anonymous or signed webhook
    caller's session has none; a platform administrator's sees every organization's)."""
    wanted = sorted(set(skus))
    found: dict[str, Product] = {}
    for part in chunks(wanted):
        query = select(Product).where(Product.sku.in_(part), Product.organization_id == organization_id)
        found.update({p.sku: p for p in session.scalars(query)})
    return found


def products_of_programs(
    session: Session, pairs: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], Product]:
    """The product each ``(program id, sku)`` pair names, the sku among its program's organization's
    products (unknown pairs left out; rows of several programs, a platform administrator's list of
    links): one query per chunk of skus."""
    wanted = set(pairs)
    programs = sorted({program_id for program_id, _ in wanted})
    found: dict[tuple[int, str], Product] = {}
    for part in chunks(sorted({sku for _, sku in wanted})):
        query = (
            select(Program.id, Product)
            .join(Product, Product.organization_id == Program.organization_id)
            .where(Program.id.in_(programs), Product.sku.in_(part))
        )
        for program_id, product in session.execute(query):
            if (program_id, product.sku) in wanted:
                found[(program_id, product.sku)] = product
    return found


def titles_by_sku(session: Session, organization_id: int, skus: Iterable[str]) -> dict[str, str]:
    """The title of each of these skus that is still a product of the organization, by sku (one query
    per chunk)."""
    return _lookup(session, Product.sku, Product.title, skus, Product.organization_id == organization_id)


def existing_skus(session: Session, organization_id: int, skus: Iterable[str]) -> dict[str, int]:
    """Id of each of these skus that the organization has (a sku is unique within an organization only)."""
    return _lookup(session, Product.sku, Product.id, skus, Product.organization_id == organization_id)


def _coupons(
    visibility: CouponVisibility | None,
    active_at: datetime | None,
    live_only: bool = False,
    running_at: datetime | None = None,
) -> Select[CouponTemplate]:
    query = select(CouponTemplate).order_by(CouponTemplate.id.desc())
    if visibility is not None:
        query = query.where(CouponTemplate.visibility == visibility)
    if live_only:
        query = query.where(CouponTemplate.live.is_(True))
    if running_at is not None:
        query = query.where(CouponTemplate.ends_at > running_at, CouponTemplate.paused.is_(False))
    if active_at is not None:
        query = query.where(
            CouponTemplate.starts_at <= active_at,
            CouponTemplate.ends_at > active_at,
            CouponTemplate.paused.is_(False),
        )
    return query


def list_coupons(
    session: Session,
    *,
    visibility: CouponVisibility | None,
    active_at: datetime | None,
    limit: int,
    offset: int,
) -> list[CouponTemplate]:
    """Coupon templates, newest first, narrowed by visibility and by being open at an instant."""
    return list(session.scalars(_coupons(visibility, active_at).limit(limit).offset(offset)))


def page_coupons(
    session: Session,
    page: Page,
    *,
    visibility: CouponVisibility | None,
    active_at: datetime | None,
    live_only: bool = False,
    running_at: datetime | None = None,
) -> Paged[CouponTemplate]:
    """A page of :func:`list_coupons` and how many coupon templates match (``live_only``: none
    under review; ``running_at``: none paused or ended at that instant, upcoming ones kept)."""
    return paginate(session, _coupons(visibility, active_at, live_only, running_at), page)


def find_coupons(session: Session, organization_id: int, text: str, *, limit: int) -> list[CouponTemplate]:
    """Coupon templates of an organization whose name holds ``text`` (any case) or whose id it is
    (``#`` allowed; that coupon first), newest first: what a coupon picker suggests for what was
    typed (nothing typed: the newest)."""
    typed = text.strip().lstrip("#")
    match: ColumnElement[bool] = CouponTemplate.name.ilike(contains(typed), escape="\\")
    order: list[Sortable] = [CouponTemplate.id.desc()]
    if (typed_id := whole_number(typed)) is not None:
        exact = CouponTemplate.id == typed_id
        match, order = or_(exact, match), [case((exact, 0), else_=1), CouponTemplate.id.desc()]
    stmt = select(CouponTemplate).where(CouponTemplate.organization_id == organization_id, match)
    return list(session.scalars(stmt.order_by(*order).limit(limit)))


def get_coupon(session: Session, coupon_id: int) -> CouponTemplate | None:
    """The coupon template with this id."""
    return session.get(CouponTemplate, coupon_id)


def coupons_by_id(
    session: Session, ids: Iterable[int], *, organization_id: int | None = None
) -> dict[int, CouponTemplate]:
    """The coupon templates with these ids (unknown ids are left out); with ``organization_id`` only
    that organization's, whatever the session's scope."""
    wanted = sorted(set(ids))
    found: dict[int, CouponTemplate] = {}
    for part in chunks(wanted):
        query = select(CouponTemplate).where(CouponTemplate.id.in_(part))
        if organization_id is not None:
            query = query.where(CouponTemplate.organization_id == organization_id)
        found.update({c.id: c for c in session.scalars(query)})
    return found


def _promotions(active_at: datetime | None) -> Select[Promotion]:
    query = select(Promotion).order_by(Promotion.id.desc())
    if active_at is not None:
        query = query.where(
            Promotion.starts_at <= active_at, Promotion.ends_at > active_at, Promotion.paused.is_(False)
        )
    return query


def list_promotions(
    session: Session, *, active_at: datetime | None, limit: int, offset: int
) -> list[Promotion]:
    """Promotions, newest first, optionally only those open at an instant."""
    return list(session.scalars(_promotions(active_at).limit(limit).offset(offset)))


def page_promotions(session: Session, page: Page, *, active_at: datetime | None) -> Paged[Promotion]:
    """A page of :func:`list_promotions` and how many promotions match."""
    return paginate(session, _promotions(active_at), page)


def promotions_open_at(session: Session, at: datetime, *, organization_id: int) -> list[Promotion]:
    """Every promotion of the organization, not paused, whose window ``[starts_at, ends_at)`` holds
    ``at``. The organization is named, never taken from the session's scope: a basket is priced with
    its own organization's promotions only, also where no scope is set (docs/tenancy.md)."""
    query = (
        select(Promotion)
        .where(
            Promotion.organization_id == organization_id,
            Promotion.starts_at <= at,
            Promotion.ends_at > at,
            Promotion.paused.is_(False),
        )
        .order_by(Promotion.id)
    )
    return list(session.scalars(query))


# Console lists: the statements the console pages through, and the columns a reader may sort and search by.

PRODUCT_SORTS: dict[str, Sortable] = {
    "sku": Product.sku,
    "title": Product.title,
    "price": Product.price_fen,
    "rate": Product.commission_rate_bp,
    "id": Product.id,
}
PRODUCT_SEARCH: tuple[Sortable, ...] = (Product.sku, Product.title)
COUPON_SORTS: dict[str, Sortable] = {
    "id": CouponTemplate.id,
    "name": CouponTemplate.name,
    "min_spend": CouponTemplate.min_spend_fen,
    "left": CouponTemplate.total_quantity - CouponTemplate.claimed_quantity,
    "starts": CouponTemplate.starts_at,
    "ends": CouponTemplate.ends_at,
}
COUPON_SEARCH: tuple[Sortable, ...] = (CouponTemplate.name,)
PROMOTION_SORTS: dict[str, Sortable] = {
    "id": Promotion.id,
    "name": Promotion.name,
    "priority": Promotion.priority,
    "starts": Promotion.starts_at,
    "ends": Promotion.ends_at,
}
PROMOTION_SEARCH: tuple[Sortable, ...] = (Promotion.name,)
WINDOW_STATES = ("running", "upcoming", "ended")


def products_statement(where: ProductFilter) -> Select[Product]:
    """The products matching ``where``, oldest first: what the console's list pages through."""
    return _filtered(select(Product), where).order_by(Product.id)


def _in_window(
    starts: Sortable, ends: Sortable, state: str | None, at: datetime
) -> list[ColumnElement[bool]]:
    """The criteria of a window ``[starts, ends)`` being ``running``, ``upcoming`` or ``ended`` at ``at``."""
    if state == "running":
        return [starts <= at, ends > at]
    if state == "upcoming":
        return [starts > at]
    if state == "ended":
        return [ends <= at]
    return []


def coupons_statement(
    *, visibility: CouponVisibility | None, state: str | None, at: datetime
) -> Select[CouponTemplate]:
    """Coupon templates of one visibility whose window is in ``state`` at ``at`` (``None``: any), newest first."""
    stmt = _coupons(visibility, None)
    return stmt.where(*_in_window(CouponTemplate.starts_at, CouponTemplate.ends_at, state, at))


def promotions_statement(*, kind: PromotionKind | None, state: str | None, at: datetime) -> Select[Promotion]:
    """Promotions of one kind whose window is in ``state`` at ``at`` (``None``: any), newest first."""
    stmt = _promotions(None).where(*_in_window(Promotion.starts_at, Promotion.ends_at, state, at))
    return stmt if kind is None else stmt.where(Promotion.kind == kind)


def brand_names(session: Session) -> dict[int, str]:
    """Name of every brand by id (a catalog has tens of brands, not thousands)."""
    return dict(session.execute(select(Brand.id, Brand.name)).all())


def category_names(session: Session) -> dict[int, str]:
    """Name of every category by id."""
    return dict(session.execute(select(Category.id, Category.name)).all())


def coupon_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """Name of each of these coupon templates by id."""
    return _lookup(session, CouponTemplate.id, CouponTemplate.name, ids)
