"""Recording and reading the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from neigou.audit.models import AuditEntry
from neigou.kit.actor import Actor
from neigou.kit.bulk import insert_rows
from neigou.kit.clock import utcnow
from neigou.kit.db import insert_unique
from neigou.kit.errors import Conflict
from neigou.kit.paging import Cursor, CursorPaged, Sortable, paginate_before
from neigou.kit.scoping import current_scope


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: str | int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add an audit entry for an operator or integration write, in the caller's transaction."""
    if not actor.audited:
        return
    session.add(
        AuditEntry(
            at=at or utcnow(),
            actor_kind=actor.kind,
            actor_ref=actor.ref,
            actor_label=actor.label,
            action=action,
            organization_id=_organization(session),
            entity=entity,
            entity_id=str(entity_id),
            before=before,
            after=after,
        )
    )


class Created(Protocol):
    """A new row of a table with an integer id."""

    @property
    def id(self) -> int: ...


CreatedT = TypeVar("CreatedT", bound=Created)


def insert_created(
    session: Session, row: CreatedT, *, taken: Conflict, actor: Actor, entity: str, after: dict[str, Any]
) -> CreatedT:
    """Insert ``row``, whose unique key (its code) may be taken (then ``taken``, a 409, and nothing
    written), and record its creation as ``<entity>.create`` with ``after``."""
    insert_unique(session, row, taken)
    record(session, actor=actor, action=f"{entity}.create", entity=entity, entity_id=row.id, after=after)
    return row


def record_many(
    session: Session,
    *,
    action: str,
    entity: str,
    entries: Iterable[tuple[Actor, str | int, dict[str, Any] | None, datetime]],
) -> None:
    """Add audit entries of one action, each ``(actor, entity_id, after, at)``, in one insert (COPY on
    PostgreSQL): what ``record`` adds one by one, for a batch stored behind a stream."""
    organization_id = _organization(session)
    rows = [
        {
            "at": at,
            "actor_kind": actor.kind,
            "actor_ref": actor.ref,
            "actor_label": actor.label,
            "action": action,
            "organization_id": organization_id,
            "entity": entity,
            "entity_id": str(entity_id),
            "after": after,
        }
        for actor, entity_id, after, at in entries
        if actor.audited
    ]
    insert_rows(session, AuditEntry, rows)


# What the console's audit list may be sorted and searched by.
SORTS: dict[str, Sortable] = {
    "at": AuditEntry.at,
    "action": AuditEntry.action,
    "entity": AuditEntry.entity,
    "actor": AuditEntry.actor_label,
}
SEARCH: tuple[Sortable, ...] = (
    AuditEntry.action,
    AuditEntry.actor_label,
    AuditEntry.entity,
    AuditEntry.entity_id,
)


def entries_statement(entity: str | None = None) -> Select[AuditEntry]:
    """Every entry (of one kind of entity), newest first: what the console's list pages through."""
    return _entries(entity, None)


def entities(session: Session) -> list[str]:
    """The kinds of entity the log has entries for, by name."""
    return list(session.scalars(select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)))


def _entries(entity: str | None, entity_id: str | None) -> Select[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return query


def list_entries(
    session: Session, *, entity: str | None = None, entity_id: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    """Newest entries first, optionally for one entity."""
    return list(session.scalars(_entries(entity, entity_id).limit(limit)))


def page_entries(
    session: Session, cursor: Cursor, *, entity: str | None = None, entity_id: str | None = None
) -> CursorPaged:
    """Newest entries first, older than the cursor, with the number of entries in all."""
    return paginate_before(session, _entries(entity, entity_id), AuditEntry.id, cursor)


def _organization(session: Session) -> int | None:
    """A scoped caller's entries belong to its organization; a platform administrator's to none."""
    scope = current_scope(session)
    return None if scope is None else scope.organization_id
