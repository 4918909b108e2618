"""The audit log over HTTP (operators only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from neigou.audit import service as audit
from neigou.auth.dependencies import Operator
from neigou.kit.deps import SessionDep
from neigou.kit.paging import CursorDep

router = APIRouter(tags=["audit"])


class AuditEntryOut(BaseModel):
    """One audited write."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_kind: str
    actor_ref: str
    actor_label: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@router.get("/audit-log", response_model=list[AuditEntryOut])
def audit_log(
    session: SessionDep,
    _principal: Operator,
    cursor: CursorDep,
    entity: str | None = None,
    entity_id: str | None = None,
) -> list[AuditEntryOut]:
    """Newest audited writes first; the ``Link`` header's ``before_id`` reads on into older ones."""
    entries = audit.page_entries(session, cursor, entity=entity, entity_id=entity_id)
    cursor.answer(entries.total, entries.next_before_id)
    return [AuditEntryOut.model_validate(e) for e in entries.items]
