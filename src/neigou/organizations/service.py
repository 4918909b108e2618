"""Creating and deleting organizations (platform administrators only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.db import get_or_404
from neigou.kit.errors import Conflict, NotFound
from neigou.kit.events import Event, publish
from neigou.kit.i18n import Message
from neigou.kit.paging import Page, Paged, paginate
from neigou.kit.scoping import current_scope
from neigou.organizations.models import DEFAULT_ORGANIZATION_CODE, DELETED_EVENT, Organization
from neigou.organizations.schemas import OrganizationCreate, OrganizationSettings


def create_organization(
    session: Session, *, data: OrganizationCreate, actor: Actor, at: datetime | None = None
) -> Organization:
    """Add an organization; codes are unique (a deleted organization keeps its code)."""
    organization = Organization(code=data.code, name=data.name, created_at=at or utcnow())
    taken = Conflict(
        Message("{field} names an organization that exists already.", field="code"),
        code="organization_code_taken",
        extra={"field": "code"},
    )
    return audit.insert_created(
        session, organization, taken=taken, actor=actor, entity="organization", after=data.model_dump()
    )


def delete_organization(
    session: Session, *, organization_id: int, actor: Actor, at: datetime | None = None
) -> Organization:
    """Delete an organization: its tokens and console sessions stop working at once; its rows stay
    (money and orders are never erased by deleting a tenant), but nothing more is sent on its behalf:
    what waits to go out is failed in this transaction (``DELETED_EVENT``'s listeners). The default
    organization stays."""
    organization = get_or_404(
        session,
        Organization,
        organization_id,
        code="organization_not_found",
        detail=Message("This organization does not exist."),
        lock=True,
    )
    if organization.code == DEFAULT_ORGANIZATION_CODE:
        raise Conflict(Message("The default organization cannot be deleted."), code="default_organization")
    if organization.deleted_at is None:
        organization.deleted_at = at or utcnow()
        audit.record(
            session,
            actor=actor,
            action="organization.delete",
            entity="organization",
            entity_id=organization.id,
            after={"deleted_at": organization.deleted_at.isoformat()},
        )
        publish(session, Event(DELETED_EVENT, organization.deleted_at, {"organization_id": organization.id}))
    return organization


def organization_id_by_code(session: Session, code: str) -> int:
    """The id of live organization ``code``, or a 404 (``organization_not_found``)."""
    found = session.scalar(
        select(Organization.id).where(Organization.code == code, Organization.deleted_at.is_(None))
    )
    if found is None:
        raise NotFound(Message("This organization does not exist."), code="organization_not_found")
    return int(found)


def page_organizations(session: Session, page: Page) -> Paged[Organization]:
    """A page of the organizations, oldest first, and their number."""
    return paginate(session, select(Organization).order_by(Organization.id), page)


def require_organization(session: Session, organization_id: int, *, lock: bool = False) -> Organization:
    """A live organization the caller may see (a scoped caller: its own), else a 404."""
    scope = current_scope(session)
    organization = session.get(
        Organization, organization_id, with_for_update=True if lock else None, populate_existing=lock
    )
    if (
        organization is None
        or organization.deleted_at is not None
        or (scope is not None and scope.organization_id != organization_id)
    ):
        raise NotFound(
            Message("This organization does not exist."),
            code="organization_not_found",
        )
    return organization


def update_settings(
    session: Session, *, organization_id: int, data: OrganizationSettings, actor: Actor
) -> Organization:
    """Switch the review of merchants' changes on or off (audited when it changes). Switching it off
    leaves pending requests to be decided."""
    organization = require_organization(session, organization_id, lock=True)
    if organization.review_merchant_changes != data.review_merchant_changes:
        before = organization.review_merchant_changes
        organization.review_merchant_changes = data.review_merchant_changes
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="organization.update",
            entity="organization",
            entity_id=organization.id,
            before={"review_merchant_changes": before},
            after={"review_merchant_changes": data.review_merchant_changes},
        )
    return organization
