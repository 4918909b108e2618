"""Moving a member to another inviter: the dated invite history's one writer after the member's join."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.clock import ensure_aware, utcnow
from neigou.kit.errors import Conflict, Invalid
from neigou.kit.events import Event, publish
from neigou.kit.i18n import Message
from neigou.kit.settings import clock_skew
from neigou.programs import repository as repo
from neigou.programs.models import Member, MemberInviterPeriod
from neigou.programs.rules import would_loop
from neigou.programs.service import require_member, require_program

MOVING = "member.inviter.moving"
"""Published before a move is written, with ``member_id``, ``program_id`` and ``effective_from``: a
listener that raises refuses the move (nothing is written yet)."""


def change_inviter(
    session: Session,
    *,
    member_id: int,
    inviter_id: int | None,
    actor: Actor,
    at: datetime | None = None,
    now: datetime | None = None,
) -> Member:
    """Rebind a member's inviter from ``at`` (default: now); refuses self-invites, other programs, loops,
    a time in the future and one before the current inviter took effect. The program is read
    locked first: the loop check reads the whole upline, so two changes of one program's invite tree
    run one after the other, the second checking the tree the first wrote ("A under B" and "B under A"
    at once never both pass). A new member has no downline, so adding one needs no such lock.

    A move may not reach back past the member's orders already priced (the orders domain listens to
    ``MOVING``): they are never re-priced, so a later-reported twin would pay another upline.

    The move closes the member's current inviter period and opens the next one at ``at``: an order paid
    before then still pays the upline of its paid time, however late it is reported."""
    now = now or utcnow()
    member = require_member(session, member_id)
    require_program(session, member.program_id, lock=True)
    session.refresh(member)  # as the lock finds it: the audit's ``before`` is the committed inviter
    # A move dated now takes effect after the clock skew: an order already taken may be paid that far
    # ahead of now, and keeps its upline like its twin reported later.
    # A date typed within the skew ahead (as the default's) is no time in the future either: a move
    # correcting one made a moment ago needs it.
    skew = clock_skew(session)
    moved_at = ensure_aware(at) if at is not None else now + skew
    if at is not None and moved_at > now + skew:
        raise Invalid(
            Message("{field} is in the future: a move takes effect now or earlier.", field="effective_from"),
            code="inviter_change_in_future",
        )
    changed = inviter_id != member.inviter_id
    current = repo.current_inviter_period(session, member.id)
    if changed and moved_at < (current.effective_from if current is not None else member.joined_at):
        raise Invalid(
            Message(
                "{field} is before the member's current inviter took effect: moves are made in order.",
                field="effective_from",
            ),
            code="inviter_change_too_early",
        )
    if inviter_id is not None:
        inviter = repo.get_member(session, inviter_id)
        if inviter is None or inviter.program_id != member.program_id:
            raise Invalid(
                Message("The inviter (inviter_id) is not a member of this program."),
                code="inviter_not_in_program",
            )
        if member.id == inviter_id:
            raise Invalid(Message("A member cannot invite themselves."), code="self_invite")
        if would_loop(member.id, inviter_id, repo.upline(session, inviter_id)):
            raise Conflict(
                Message("This inviter is in the member's own downline: the invite tree would loop."),
                code="invite_loop",
            )
        if changed and repo.upline_ever_includes(
            session, program_id=member.program_id, member_id=member.id, inviter_id=inviter_id, since=moved_at
        ):
            raise Conflict(
                Message(
                    "This inviter is in the member's own downline at some time from {field} on: "
                    "the invite tree would loop then.",
                    field="effective_from",
                ),
                code="invite_loop",
            )
    if changed:
        # Higher domains may refuse (orders: a move reaching back past orders already priced).
        publish(
            session,
            Event(
                MOVING,
                moved_at,
                {"member_id": member.id, "program_id": member.program_id, "effective_from": moved_at},
            ),
        )
    before = {"inviter_id": member.inviter_id}
    if changed:
        _open_inviter_period(session, member, current, inviter_id, moved_at)
    member.inviter_id = inviter_id
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="member.inviter.change",
        entity="member",
        entity_id=member.id,
        before=before,
        after={"inviter_id": inviter_id, "effective_from": moved_at.isoformat()},
    )
    return member


def _open_inviter_period(
    session: Session,
    member: Member,
    current: MemberInviterPeriod | None,
    inviter_id: int | None,
    at: datetime,
) -> None:
    """Close the member's current inviter period at ``at`` by opening the next one; a member without any
    period (stored without one) gets the current inviter's first, from when they joined."""
    if current is None:
        session.add(
            MemberInviterPeriod(
                member_id=member.id,
                inviter_id=member.inviter_id,
                effective_from=member.joined_at,
                reason="joined",
            )
        )
    session.add(
        MemberInviterPeriod(member_id=member.id, inviter_id=inviter_id, effective_from=at, reason="moved")
    )
