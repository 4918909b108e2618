"""Creating, listing and deleting merchants; every write audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.errors import Conflict, NotFound
from neigou.kit.i18n import Message
from neigou.kit.paging import Page, Paged, paginate
from neigou.kit.scoping import current_scope
from neigou.merchants.schemas import MerchantCreate
from neigou.organizations.models import Merchant
from neigou.programs.scope import organization_for_write


def create_merchant(
    session: Session, *, data: MerchantCreate, actor: Actor, at: datetime | None = None
) -> Merchant:
    """Add a merchant to the caller's organization; its code is unique within the organization, and a
    code another organization uses is free here (the key ``organization_id, code``, migration 0041)."""
    merchant = Merchant(
        organization_id=organization_for_write(session, data.organization_id),
        code=data.code,
        name=data.name,
        created_at=at or utcnow(),
    )
    taken = Conflict(
        Message("{field} names a merchant that exists already.", field="code"),
        code="merchant_code_taken",
        extra={"field": "code"},
    )
    return audit.insert_created(
        session, merchant, taken=taken, actor=actor, entity="merchant", after=data.model_dump()
    )


def require_merchant(session: Session, merchant_id: int) -> Merchant:
    """A live merchant the caller may see (its organization's; a merchant's caller only its own),
    else a 404 ``merchant_not_found``."""
    merchant = session.scalar(
        select(Merchant).where(Merchant.id == merchant_id, Merchant.deleted_at.is_(None))
    )
    return _seen(session, merchant, merchant_id)


def _seen(session: Session, merchant: Merchant | None, merchant_id: int) -> Merchant:
    scope = current_scope(session)
    if merchant is None or (scope is not None and scope.merchant_id not in (None, merchant_id)):
        raise NotFound(
            Message("This merchant does not exist."),
            code="merchant_not_found",
        )
    return merchant


def page_merchants(session: Session, page: Page) -> Paged[Merchant]:
    """A page of the live merchants, oldest first, and their number."""
    query = select(Merchant).where(Merchant.deleted_at.is_(None)).order_by(Merchant.id)
    return paginate(session, query, page)


def delete_merchant(
    session: Session, *, merchant_id: int, actor: Actor, at: datetime | None = None
) -> Merchant:
    """Delete a merchant: its accounts' tokens stop at once; its products and sales stay. Its row is read
    locked (``FOR UPDATE``, afresh) before its state is looked at: of two deletes at once the second waits
    for the first's commit and then, like any repeat, changes nothing and audits nothing (the first
    deletion's time stays)."""
    locked = select(Merchant).where(Merchant.id == merchant_id).with_for_update()
    merchant = _seen(session, session.scalar(locked.execution_options(populate_existing=True)), merchant_id)
    if merchant.deleted_at is None:
        merchant.deleted_at = at or utcnow()
        audit.record(
            session,
            actor=actor,
            action="merchant.delete",
            entity="merchant",
            entity_id=merchant.id,
            after={"deleted_at": merchant.deleted_at.isoformat()},
        )
    return merchant
