"""The catalog: brands, categories and products; every write audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.db import get_or_404, insert_unique
from neigou.kit.errors import Conflict, Forbidden, Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.offers import repository as repo
from neigou.offers.models import Brand, Category, Product
from neigou.offers.review import hold_rate, under_review
from neigou.offers.schemas import BrandCreate, CategoryCreate, ProductCreate, ProductOut, ProductUpdate
from neigou.programs.models import Program
from neigou.programs.scope import is_merchant, organization_for_write, organization_of_caller, owner_for_write

AUDITED_FIELDS = (
    "title",
    "price_fen",
    "commission_rate_bp",
    "image_url",
    "shop_url",
    "brand_id",
    "category_id",
    "active",
    "tags",
    "merchant_id",
)


def create_brand(session: Session, *, data: BrandCreate, actor: Actor, at: datetime | None = None) -> Brand:
    """Add a brand; codes are unique within the organization."""
    taken = Conflict(
        Message("{field} names a brand that exists already.", field="code"),
        code="brand_code_taken",
        extra={"field": "code"},
    )
    return _create_coded(session, Brand, "brand", data=data, actor=actor, at=at, taken=taken)


def create_category(
    session: Session, *, data: CategoryCreate, actor: Actor, at: datetime | None = None
) -> Category:
    """Add a category; codes are unique within the organization."""
    taken = Conflict(
        Message("{field} names a category that exists already.", field="code"),
        code="category_code_taken",
        extra={"field": "code"},
    )
    return _create_coded(session, Category, "category", data=data, actor=actor, at=at, taken=taken)


CodedT = TypeVar("CodedT", Brand, Category)


def _create_coded(
    session: Session,
    model: type[CodedT],
    entity: str,
    *,
    data: BrandCreate | CategoryCreate,
    actor: Actor,
    at: datetime | None,
    taken: Conflict,
) -> CodedT:
    # A brand or a category of the caller's organization: its code, its name; audited as "<entity>.create".
    row = model(
        organization_id=organization_for_write(session),
        code=data.code,
        name=data.name,
        created_at=at or utcnow(),
    )
    return audit.insert_created(
        session, row, taken=taken, actor=actor, entity=entity, after=data.model_dump()
    )


def resolve_brand(session: Session, organization_id: int, code: str | None) -> int | None:
    """The id of the organization's brand ``code`` (None for None), or a 422 unknown_brand."""
    if code is None:
        return None
    found = repo.brand_ids_by_code(session, organization_id, [code]).get(code)
    if found is None:
        raise Invalid(Message("{field} names no brand.", field="brand_code"), code="unknown_brand")
    return found


def resolve_category(session: Session, organization_id: int, code: str | None) -> int | None:
    """The id of the organization's category ``code`` (None for None), or a 422 unknown_category."""
    if code is None:
        return None
    found = repo.category_ids_by_code(session, organization_id, [code]).get(code)
    if found is None:
        raise Invalid(Message("{field} names no category.", field="category_code"), code="unknown_category")
    return found


def sku_taken() -> Conflict:
    """The conflict of a second product with the same sku, named by its field."""
    return Conflict(
        Message("{field} names a product that exists already.", field="sku"),
        code="sku_taken",
        extra={"field": "sku"},
    )


def ambiguous_sku(field: str, index: int | None = None) -> Invalid:
    """The refusal of a sku that several organizations sell, named by a caller of every organization (a
    platform administrator) where nothing else tells which organization's product is meant."""
    if index is None:
        message = Message("{field} names a sku several organizations sell.", field=field)
    else:
        message = Message(
            "{field}[{index}] names a sku several organizations sell.", field=field, index=index
        )
    extra: dict[str, object] = {"field": field} if index is None else {"field": field, "indexes": [index]}
    return Invalid(message, code="ambiguous_sku", extra=extra)


def organization_selling(session: Session, sku: str, *, field: str, index: int | None = None) -> int | None:
    """The caller's organization; for a caller of every organization the one that sells ``sku`` (None
    when none does, 422 ``ambiguous_sku`` when several do)."""
    own = organization_of_caller(session)
    if own is not None:
        return own
    query = (
        select(Product.organization_id).where(Product.sku == sku).distinct().order_by(Product.organization_id)
    )
    sellers = [int(o) for o in session.scalars(query)]
    if len(sellers) > 1:
        raise ambiguous_sku(field, index)
    return sellers[0] if sellers else None


def create_product(
    session: Session, *, data: ProductCreate, actor: Actor, at: datetime | None = None
) -> Product:
    """Add a product; skus are unique within the organization."""
    now = at or utcnow()
    organization_id, merchant_id = owner_for_write(session, data.merchant_id)
    brand_id = resolve_brand(session, organization_id, data.brand_code)
    category_id = resolve_category(session, organization_id, data.category_code)
    if repo.existing_skus(session, organization_id, [data.sku]):
        raise sku_taken()
    product = Product(
        organization_id=organization_id,
        merchant_id=merchant_id,
        sku=data.sku,
        title=data.title,
        price_fen=data.price_fen,
        commission_rate_bp=data.commission_rate_bp,
        image_url=data.image_url,
        shop_url=data.shop_url,
        brand_id=brand_id,
        category_id=category_id,
        active=data.active,
        tags=data.tags,
        created_at=now,
        updated_at=now,
    )
    insert_unique(session, product, sku_taken())
    audit.record(
        session,
        actor=actor,
        action="product.create",
        entity="product",
        entity_id=product.id,
        after=data.model_dump(mode="json"),
        at=now,
    )
    return product


def require_product(session: Session, product_id: int, *, lock: bool = False) -> Product:
    """The product or a 404; ``lock`` holds its row until commit."""
    return get_or_404(
        session,
        Product,
        product_id,
        code="product_not_found",
        detail=Message("This product does not exist."),
        lock=lock,
    )


def _state(product: Product) -> dict[str, Any]:
    return {name: getattr(product, name) for name in AUDITED_FIELDS}


def update_product(
    session: Session, *, product_id: int, data: ProductUpdate, actor: Actor, at: datetime | None = None
) -> Product:
    """Change the fields sent (``null`` clears an optional one); the sku stays. The product is read
    locked: changes of one product (and a merchant's rate requests, one pending at a time) run one
    after the other, each checking what the one before it left."""
    product = require_product(session, product_id, lock=True)
    sent = data.model_fields_set
    changes: dict[str, Any] = {
        name: getattr(data, name)
        for name in sent
        if name not in {"brand_code", "category_code", "merchant_id"}
    }
    if "tags" in sent:
        changes["tags"] = data.tags or []
    if "brand_code" in sent:
        changes["brand_id"] = resolve_brand(session, product.organization_id, data.brand_code)
    if "category_code" in sent:
        changes["category_id"] = resolve_category(session, product.organization_id, data.category_code)
    if "merchant_id" in sent and data.merchant_id != product.merchant_id:
        changes["merchant_id"] = _new_merchant(session, product, data.merchant_id)
    at = at or utcnow()
    rate = changes.get("commission_rate_bp")
    if rate is not None and rate != product.commission_rate_bp and under_review(session):
        # The rate waits for an operator's approval; the rest of the change applies now.
        hold_rate(session, product, changes.pop("commission_rate_bp"), actor=actor, at=at)
    before = _state(product)
    for name, value in changes.items():
        setattr(product, name, value)
    after = _state(product)
    if after == before:
        return product
    product.updated_at = at
    session.flush()
    changed = sorted(name for name in after if after[name] != before[name])
    audit.record(
        session,
        actor=actor,
        action="product.update",
        entity="product",
        entity_id=product.id,
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
        at=product.updated_at,
    )
    return product


def _new_merchant(session: Session, product: Product, merchant_id: int | None) -> int | None:
    """The merchant a product moves to: operators only, within its organization, and never once
    it has orders (its sales would change hands)."""
    if is_merchant(session):
        raise Forbidden(
            Message("A merchant cannot move a product to another merchant."), code="merchant_move"
        )
    organization_id, merchant = owner_for_write(session, merchant_id)
    if merchant is not None and organization_id != product.organization_id:
        raise NotFound(
            Message("This merchant does not exist."),
            code="merchant_not_found",
        )
    # Orders live above the catalog: read by name. Lines of the sku in the product's organization's
    # orders only (another organization may sell the same sku).
    lines = table("order_lines", column("order_id"), column("sku"))
    orders = table("orders", column("id"), column("program_id"))
    sold = (
        select(lines.c.sku)
        .join(orders, orders.c.id == lines.c.order_id)
        .join(Program, Program.id == orders.c.program_id)
        .where(lines.c.sku == product.sku, Program.organization_id == product.organization_id)
    )
    if session.execute(sold.limit(1)).first() is not None:
        raise Conflict(
            Message("Product {sku!r} has orders; it cannot move to another merchant.", sku=product.sku),
            code="product_has_orders",
        )
    return merchant


def product_out(product: Product, brands: dict[int, str], categories: dict[int, str]) -> ProductOut:
    """The API view of a product, brand and category by code."""
    return ProductOut(
        id=product.id,
        sku=product.sku,
        title=product.title,
        price_fen=product.price_fen,
        commission_rate_bp=product.commission_rate_bp,
        image_url=product.image_url,
        shop_url=product.shop_url,
        brand_code=brands.get(product.brand_id) if product.brand_id is not None else None,
        category_code=categories.get(product.category_id) if product.category_id is not None else None,
        active=product.active,
        tags=list(product.tags or []),
        merchant_id=product.merchant_id,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


def products_out(session: Session, products: list[Product]) -> list[ProductOut]:
    """API views of a page of products, with two lookups for the whole page."""
    brands = repo.brand_codes(session, [p.brand_id for p in products])
    categories = repo.category_codes(session, [p.category_id for p in products])
    return [product_out(p, brands, categories) for p in products]
