"""Touches: identified clicks and claims become touches keyed by (program, customer), and the first
one ever binds the customer for the locked model. Orders read them in ``order_attribution``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from neigou.kit.bulk import insert_ignoring_duplicates
from neigou.links import repository as repo
from neigou.links.models import Binding, ShareLink, TouchKind, Visitor
from neigou.links.models import Touch as TouchRow
from neigou.privacy import repository as privacy


@dataclass(frozen=True)
class NewTouch:
    """A touch about to be stored."""

    program_id: int
    customer_ref_hash: str
    link: ShareLink
    kind: TouchKind
    source_ref: str
    at: datetime


def record_touches(
    session: Session,
    touches: Iterable[NewTouch],
    *,
    opted_out: Collection[tuple[int, str]] | None = None,
    locked: bool = False,
) -> None:
    """Store touches (a click or claim already stored is skipped) and each customer's first binding.

    Customers who opted out (``neigou.privacy``) are left out: one query for the whole batch, or none
    when the caller passes the batch's ``opted_out`` pairs it looked up already (having taken the
    batch's customer locks first, :func:`neigou.privacy.repository.lock_customers`, as done here
    unless the caller says it took them, ``locked``, before its own writes of these customers).
    """
    touches = list(touches)
    if not touches:
        return
    if opted_out is None:
        if not locked:
            privacy.lock_customers(session, {t.customer_ref_hash for t in touches})
        opted_out = privacy.suppressed(session, {(t.program_id, t.customer_ref_hash) for t in touches})
    touches = [t for t in touches if (t.program_id, t.customer_ref_hash) not in opted_out]
    if not touches:
        return
    insert_ignoring_duplicates(
        session,
        TouchRow,
        [
            {
                "program_id": t.program_id,
                "customer_ref_hash": t.customer_ref_hash,
                "member_id": t.link.member_id,
                "group_id": t.link.group_id,
                "link_id": t.link.id,
                "link_code": t.link.code,
                "kind": t.kind,
                "source_ref": t.source_ref,
                "touched_at": t.at,
            }
            for t in touches
        ],
    )
    # The locked model binds a shopper for good to their first touch ever: the earliest touch of this
    # batch creates the binding unless one exists; an existing binding is never rewritten.
    first: dict[tuple[int, str], NewTouch] = {}
    for t in sorted(touches, key=lambda t: t.at):
        first.setdefault((t.program_id, t.customer_ref_hash), t)
    insert_ignoring_duplicates(
        session,
        Binding,
        [
            {
                "program_id": t.program_id,
                "customer_ref_hash": t.customer_ref_hash,
                "member_id": t.link.member_id,
                "group_id": t.link.group_id,
                "link_id": t.link.id,
                "link_code": t.link.code,
                "bound_at": t.at,
            }
            for t in first.values()
        ],
    )


def identify_visitor(
    session: Session,
    *,
    visitor_id: str,
    customer_ref_hash: str,
    customer_ref_masked: str,
    organization_id: int,
    at: datetime,
    program_id: int | None = None,
) -> list[NewTouch]:
    """Bind a visitor cookie to the customer it turned out to be, for the organization it identified
    itself to; returns its stored clicks on that organization's links as touches, for the caller to
    record together with its own (one batch: one suppression check, one binding).

    A linkage recorded for another organization (or for none, before migration 0052), or for another
    customer (a second shopper typing their own number on a shared browser), is recorded anew for this
    one: the shopper gave this organization their reference, and one-tap claims and later clicks are
    theirs from now on. A customer who opted out of
    ``program_id`` (the claim's; None: of every program) gets no linkage: the opt-out deleted theirs,
    and a claim made before it and stored after it (still in the claim stream, or a dead letter
    replayed) must not make it again; another customer's linkage of this organization on the same
    browser is deleted then (it no longer names who uses it). The caller holds the customer's opt-out lock
    (``privacy.repository.lock_customers``). Clicks still in the recorder's buffer become touches when
    they are written (see ``clicks``).
    """
    known = session.get(Visitor, visitor_id)
    binds = (
        known is None
        or known.organization_id != organization_id
        or known.customer_ref_hash != customer_ref_hash
    )
    suppressed = binds and privacy.suppressed(session, {(program_id, customer_ref_hash)})
    if suppressed and known is not None and known.organization_id == organization_id:
        session.delete(known)  # another shopper's linkage is no longer this browser's either
        session.flush()
    elif binds and not suppressed:
        if known is None:
            insert_ignoring_duplicates(
                session,
                Visitor,
                [
                    {
                        "visitor_id": visitor_id,
                        "customer_ref_hash": customer_ref_hash,
                        "customer_ref_masked": customer_ref_masked,
                        "organization_id": organization_id,
                        "identified_at": at,
                    }
                ],
            )
        else:
            known.customer_ref_hash = customer_ref_hash
            known.customer_ref_masked = customer_ref_masked
            known.organization_id = organization_id
            known.identified_at = at
            session.flush()
    return [
        NewTouch(
            program_id=link.program_id,
            customer_ref_hash=customer_ref_hash,
            link=link,
            kind=TouchKind.CLICK,
            source_ref=f"click:{click.ref}",
            at=click.clicked_at,
        )
        for click, link in repo.untouched_clicks_of_visitor(session, visitor_id, organization_id)
    ]
