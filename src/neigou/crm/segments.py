"""Writes of segments, a member's saved filters: create (idempotent under the caller's key), replace
and delete, each audited.

A create may carry a ``request_id`` (the ``Idempotency-Key`` header, unique per member): a retry under
it with the same body answers the segment the first request made (as it is now, replaced since or not)
and writes nothing, also when the retries arrive at once (the unique ``(member_id, request_id)``
decides); another body under it is ``409 idempotency_key_reused``. The body is compared by its
fingerprint (``request_hash``), not by the stored fields, which a later replace may have changed.

Operator and integration writes are audited (``audit.record``) by the names of the criteria set or
changed, never their values: a segment's name and tags are the salesperson's words, which may name or
describe a shopper.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.crm.customer_audit import CHANGED, changed_fields
from neigou.crm.models import Segment
from neigou.crm.schemas import SegmentIn
from neigou.kit.actor import Actor
from neigou.kit.errors import Conflict
from neigou.kit.i18n import Message
from neigou.programs.models import Member

FIELDS = ("name", "spending_power", "tags", "dormant_days", "category", "birthday_month")


def _values(body: SegmentIn) -> dict[str, Any]:
    return {name: (list(value) if name == "tags" else value) for name, value in body.model_dump().items()}


def _stored(segment: Segment) -> dict[str, Any]:
    return {name: _plain(getattr(segment, name)) for name in FIELDS}


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)  # an enum as its stored value


def fingerprint(body: SegmentIn) -> str:
    """The SHA-256 (hex) of a create's body as its terms: the same body gives the same fingerprint."""
    terms = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(terms.encode()).hexdigest()


def _apply(segment: Segment, body: SegmentIn, at: datetime) -> None:
    for name, value in _values(body).items():
        setattr(segment, name, value)
    segment.updated_at = at


def _criteria(segment: Segment) -> dict[str, Any]:
    """What an audit entry keeps of a segment: its member and which criteria it sets, by name only."""
    stored = _stored(segment)
    return {
        "member_id": segment.member_id,
        **{name: CHANGED for name in FIELDS if stored[name] not in (None, [])},
    }


def by_request(session: Session, member_id: int, request_id: str) -> Segment | None:
    """The member's segment created under ``request_id``, if any."""
    return session.scalar(
        select(Segment).where(Segment.member_id == member_id, Segment.request_id == request_id)
    )


def _retry(segment: Segment, terms: str) -> Segment:
    if segment.request_hash != terms:
        raise Conflict(
            Message("This Idempotency-Key was used for another segment."), code="idempotency_key_reused"
        )
    return segment


def create_segment(
    session: Session, *, member: Member, body: SegmentIn, request_id: str | None, actor: Actor, at: datetime
) -> Segment:
    """Save a filter over the member's customers (or answer the segment a repeated key made)."""
    terms = fingerprint(body) if request_id is not None else None
    if request_id is not None and terms is not None:
        earlier = by_request(session, member.id, request_id)
        if earlier is not None:
            return _retry(earlier, terms)
    segment = Segment(
        program_id=member.program_id,
        member_id=member.id,
        request_id=request_id,
        request_hash=terms,
        created_at=at,
    )
    _apply(segment, body, at)
    try:
        with session.begin_nested():
            session.add(segment)
            session.flush()
    except IntegrityError:  # a parallel retry under the same key stored its segment first
        earlier = by_request(session, member.id, request_id) if request_id is not None else None
        if earlier is None or terms is None:  # pragma: no cover - the unique key is (member, request_id)
            raise
        return _retry(earlier, terms)
    audit.record(
        session,
        actor=actor,
        action="segment.create",
        entity="segment",
        entity_id=segment.id,
        after=_criteria(segment),
        at=at,
    )
    return segment


def replace_segment(
    session: Session, *, segment: Segment, body: SegmentIn, actor: Actor, at: datetime
) -> Segment:
    """Replace a segment's name and criteria; the changed ones are audited by name."""
    before = _stored(segment)
    _apply(segment, body, at)
    session.flush()
    after = _stored(segment)
    if after != before:
        audit.record(
            session,
            actor=actor,
            action="segment.update",
            entity="segment",
            entity_id=segment.id,
            after=changed_fields(before, after),
            at=at,
        )
    return segment


def delete_segment(session: Session, *, segment: Segment, actor: Actor, at: datetime) -> None:
    """Forget a segment (pushes made from it keep their messages); its key is free again."""
    before = _criteria(segment)
    segment_id = segment.id
    session.delete(segment)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="segment.delete",
        entity="segment",
        entity_id=segment_id,
        before=before,
        at=at,
    )
