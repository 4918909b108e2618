"""Fixed commission per sku: a pool of ``fixed_commission_fen`` per unit instead of the product's rate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.db import row_to_put
from neigou.kit.errors import NotFound
from neigou.kit.i18n import Message
from neigou.kit.paging import Page, Paged, paginate
from neigou.offers import catalog_service as catalog
from neigou.offers import repository as offers
from neigou.orders.models import SkuCommission


def set_fixed(session: Session, *, sku: str, fen: int | None, actor: Actor, at: datetime) -> None:
    """Set or clear (None) the fixed commission of a sku of the caller's organization (a platform
    administrator's: of the organization that sells it, 422 ``ambiguous_sku`` when several do); orders
    already taken keep their terms."""
    organization_id = catalog.organization_selling(session, sku, field="sku")
    if organization_id is None or not offers.existing_skus(session, organization_id, [sku]):
        raise NotFound(Message("This product does not exist."), code="unknown_sku")
    if fen is None:
        key = (organization_id, sku)
        gone = session.get(SkuCommission, key, with_for_update=True, populate_existing=True)
        before = {"fixed_commission_fen": gone.fixed_commission_fen if gone else None}
        if gone is not None:
            session.delete(gone)
    else:
        row, created = row_to_put(
            session,
            SkuCommission,
            {"organization_id": organization_id, "sku": sku, "fixed_commission_fen": fen, "updated_at": at},
            key=["organization_id", "sku"],
        )
        before = {"fixed_commission_fen": None if created else row.fixed_commission_fen}
        row.fixed_commission_fen, row.updated_at = fen, at
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="sku_commission.set",
        entity="product",
        entity_id=sku,
        before=before,
        after={"fixed_commission_fen": fen},
        at=at,
    )


def page_fixed(session: Session, page: Page) -> Paged[SkuCommission]:
    """A page of the skus with a fixed commission, by sku, and their number."""
    return paginate(session, select(SkuCommission).order_by(SkuCommission.sku), page)
