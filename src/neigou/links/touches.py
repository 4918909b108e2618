"""Touches and attribution: identified clicks and claims become touches keyed by (program, customer);
``attribute_order`` names the member (and group) an order pays, by the program's model and window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.kit.bulk import insert_ignoring_duplicates
from neigou.kit.clock import ensure_aware, utcnow
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message
from neigou.links import attribution
from neigou.links import repository as repo
from neigou.links.models import Binding, ShareLink, TouchKind, Visitor
from neigou.links.models import Touch as TouchRow
from neigou.privacy import repository as privacy
from neigou.programs.models import AttributionModel, Member
from neigou.programs.service import require_program


@dataclass(frozen=True)
class NewTouch:
    """A touch about to be stored."""

    program_id: int
    customer_ref_hash: str
    link: ShareLink
    kind: TouchKind
    source_ref: str
    at: datetime


def record_touches(session: Session, touches: Iterable[NewTouch]) -> None:
    """Store touches (a click or claim already stored is skipped) and each customer's first binding.

    Customers who opted out (``neigou.privacy``) are left out: one query for the whole batch.
    """
    touches = list(touches)
    if not touches:
        return
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
    session: Session, *, visitor_id: str, customer_ref_hash: str, customer_ref_masked: str, at: datetime
) -> None:
    """Bind a visitor cookie to the customer it turned out to be; its stored clicks become touches.

    Clicks still in the recorder's buffer become touches when they are written (see ``clicks``).
    """
    if session.get(Visitor, visitor_id) is None:
        insert_ignoring_duplicates(
            session,
            Visitor,
            [
                {
                    "visitor_id": visitor_id,
                    "customer_ref_hash": customer_ref_hash,
                    "customer_ref_masked": customer_ref_masked,
                    "identified_at": at,
                }
            ],
        )
    record_touches(
        session,
        [
            NewTouch(
                program_id=link.program_id,
                customer_ref_hash=customer_ref_hash,
                link=link,
                kind=TouchKind.CLICK,
                source_ref=f"click:{click.ref}",
                at=click.clicked_at,
            )
            for click, link in repo.untouched_clicks_of_visitor(session, visitor_id)
        ],
    )


def _as_touch(row: TouchRow | Binding) -> attribution.Touch:
    at = row.touched_at if isinstance(row, TouchRow) else row.bound_at
    return attribution.Touch(member_id=row.member_id, at=at, link_code=row.link_code, group_id=row.group_id)


def attribute_order(
    session: Session,
    *,
    program_id: int,
    customer_ref_hash: str,
    link_code: str | None,
    ordered_at: datetime | None = None,
) -> attribution.Attribution:
    """The member and group an order of this customer pays, and why (see ``links.attribution``).

    A link code on the order wins whatever the model (an unknown code or another program's is
    refused with ``unknown_link``); otherwise the program's model picks among the customer's touches
    in the window, or, for ``locked``, the binding stored at their first touch.
    """
    program = require_program(session, program_id)
    at = ensure_aware(ordered_at) if ordered_at is not None else utcnow()
    order_link = None
    if link_code is not None:
        link = repo.get_link_by_code(session, link_code)
        if link is None or link.program_id != program.id:
            raise Invalid(
                Message("Unknown share link {link_code!r}.", link_code=link_code), code="unknown_link"
            )
        order_link = attribution.Touch(
            member_id=link.member_id, at=at, link_code=link.code, group_id=link.group_id
        )
    model = attribution.Model(program.attribution_model.value)
    if program.attribution_model is AttributionModel.LOCKED:
        binding = session.get(Binding, (program.id, customer_ref_hash))
        touches = [_as_touch(binding)] if binding is not None else []
    else:
        since = at - timedelta(days=program.attribution_window_days)
        rows = repo.touches_of(
            session, program_id=program.id, customer_ref_hash=customer_ref_hash, since=since, until=at
        )
        touches = [_as_touch(r) for r in rows]
    buyers = frozenset(
        session.scalars(
            select(Member.id).where(
                Member.program_id == program.id, Member.customer_ref_hash == customer_ref_hash
            )
        )
    )
    return attribution.attribute(
        model=model,
        window_days=program.attribution_window_days,
        ordered_at=at,
        touches=touches,
        order_link=order_link,
        buyer_member_ids=buyers,
    )
