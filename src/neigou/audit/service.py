"""Recording and reading the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.audit.models import AuditEntry
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow


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
            entity=entity,
            entity_id=str(entity_id),
            before=before,
            after=after,
        )
    )


def list_entries(
    session: Session, *, entity: str | None = None, entity_id: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    """Newest entries first, optionally for one entity."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return list(session.scalars(query))
