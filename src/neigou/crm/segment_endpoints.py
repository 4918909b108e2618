"""Segments: a member's saved filters over their customer book, and the HTTP endpoints that keep them
(``crm.segments``: a create idempotent under the ``Idempotency-Key`` header, every write audited) and
resolve one to the customers it holds now."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlalchemy.orm import Session

from neigou.auth.dependencies import OperatorOrMember, require_member_access
from neigou.auth.models import Role
from neigou.auth.service import Principal
from neigou.crm import repository as repo
from neigou.crm import segments, service
from neigou.crm.models import Segment
from neigou.crm.push_endpoints import IdempotencyKey
from neigou.crm.schemas import CustomerOut, SegmentIn, SegmentOut
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import NotFound
from neigou.kit.i18n import Message
from neigou.kit.paging import PageDep
from neigou.programs.service import require_member

router = APIRouter(tags=["crm"])


def require_segment(
    session: Session, principal: Principal, segment_id: int, *, lock: bool = False
) -> Segment:
    """A segment the caller may reach: a member's own (404 for anyone else's), any for operators; read
    locked, as the lock finds it, before a replace or a delete (two at once: the second waits, then
    sees the first's work: a delete already done is its 404, never a second 204 and audit entry)."""
    segment = session.get(Segment, segment_id, with_for_update=True if lock else None, populate_existing=lock)
    if segment is None or (principal.role is Role.MEMBER and segment.member_id != principal.member_id):
        raise NotFound(Message("This segment does not exist."), code="segment_not_found")
    return segment


@router.post("/members/{member_id}/segments", status_code=status.HTTP_201_CREATED, response_model=SegmentOut)
def create_segment(
    *,
    member_id: int,
    body: SegmentIn,
    session: SessionDep,
    principal: OperatorOrMember,
    idempotency_key: IdempotencyKey = None,
) -> SegmentOut:
    """Save a filter over the member's customers; a retry under the same ``Idempotency-Key`` and body
    answers the first segment (``409 idempotency_key_reused`` with another body)."""
    require_member_access(principal, member_id)
    member = require_member(session, member_id)
    segment = segments.create_segment(
        session, member=member, body=body, request_id=idempotency_key, actor=principal.actor, at=utcnow()
    )
    return SegmentOut.model_validate(segment)


@router.get("/members/{member_id}/segments", response_model=list[SegmentOut])
def list_segments(
    member_id: int, session: SessionDep, principal: OperatorOrMember, page: PageDep
) -> list[SegmentOut]:
    """The member's segments, oldest first."""
    require_member_access(principal, member_id)
    require_member(session, member_id)
    segments = repo.page_segments(session, page, member_id=member_id)
    page.answer(segments.total)
    return [SegmentOut.model_validate(s) for s in segments.items]


@router.get("/segments/{segment_id}", response_model=SegmentOut)
def get_segment(segment_id: int, session: SessionDep, principal: OperatorOrMember) -> SegmentOut:
    """One segment (404 ``segment_not_found`` for another member's)."""
    return SegmentOut.model_validate(require_segment(session, principal, segment_id))


@router.put("/segments/{segment_id}", response_model=SegmentOut)
def replace_segment(
    segment_id: int, body: SegmentIn, session: SessionDep, principal: OperatorOrMember
) -> SegmentOut:
    """Replace a segment's name and criteria."""
    segment = require_segment(session, principal, segment_id, lock=True)
    segments.replace_segment(session, segment=segment, body=body, actor=principal.actor, at=utcnow())
    return SegmentOut.model_validate(segment)


@router.delete("/segments/{segment_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_segment(segment_id: int, session: SessionDep, principal: OperatorOrMember) -> Response:
    """Forget a segment (pushes made from it keep their messages)."""
    segment = require_segment(session, principal, segment_id, lock=True)
    segments.delete_segment(session, segment=segment, actor=principal.actor, at=utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/segments/{segment_id}/customers", response_model=list[CustomerOut])
def segment_customers(
    segment_id: int, session: SessionDep, principal: OperatorOrMember, page: PageDep
) -> list[CustomerOut]:
    """The customers the segment holds now, oldest first."""
    segment = require_segment(session, principal, segment_id)
    if segment.member_id is None:
        page.answer(0)
        return []
    where = repo.CustomerFilter.of(segment)
    customers = repo.page_customers(session, page, member_id=segment.member_id, where=where, at=utcnow())
    page.answer(customers.total)
    return service.customers_out(session, customers.items)
