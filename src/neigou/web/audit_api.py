"""The audit log over HTTP (operators only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from neigou.audit import service as audit
from neigou.auth.dependencies import Operator
from neigou.kit.deps import SessionDep

router = APIRouter(tags=["audit"])


class AuditEntryOut(BaseModel):
    """One audited write."""

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
    entity: str | None = None,
    entity_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditEntryOut]:
    """Newest audited writes first."""
    return [
        AuditEntryOut.model_validate(e, from_attributes=True)
        for e in audit.list_entries(session, entity=entity, entity_id=entity_id, limit=limit)
    ]
