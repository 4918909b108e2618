"""Joining through a recruiting link: the new member is created in the inviter's program, bound to
the inviter, through the programs service (so every invite rule applies); the same phone twice is
the same member."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.auth import sign_in_codes
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.errors import Conflict, Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.kit.ids import customer_ref_hash
from neigou.kit.phones import mainland_mobile
from neigou.network.recruit_codes import inviter_of, recruit_code
from neigou.programs import repository as programs
from neigou.programs import service as program_service
from neigou.programs.models import Member
from neigou.programs.schemas import MemberCreate

MAX_NAME = 40


@dataclass(frozen=True)
class JoinResult:
    """The member behind a join; ``sign_in_code`` (a one-time workspace sign-in, for another phone)
    only when this join created them."""

    member: Member
    created: bool
    sign_in_code: str | None


def require_inviter(session: Session, *, secret_key: str, code: str) -> Member:
    """The member a recruiting code names, or a 404 for a malformed, forged or tampered code."""
    member_id = inviter_of(secret_key, code)
    inviter = programs.get_member(session, member_id) if member_id is not None else None
    if inviter is None:
        raise NotFound(
            Message("This recruiting link is not valid; ask the inviter to send it again."),
            code="invalid_recruit_code",
        )
    return inviter


def recruiting_code(secret_key: str, member: Member) -> str:
    """The recruiting code of a member."""
    return recruit_code(secret_key, member.id)


def clean_name(raw: str) -> str:
    """The name as stored: trimmed, one line, no control characters; a 422 when empty or too long."""
    name = " ".join(raw.split())
    if not name or len(name) > MAX_NAME or any(unicodedata.category(c).startswith("C") for c in name):
        raise Invalid(
            Message("Enter your name (1–{max_name} characters).", max_name=MAX_NAME),
            code="invalid_name",
        )
    return name


def clean_phone(raw: str) -> str:
    """A mainland mobile number as its 11 digits (``+86``, spaces, full-width digits accepted); a 422
    otherwise."""
    phone = mainland_mobile(raw)
    if phone is None:
        raise Invalid(Message("Enter an 11-digit mobile number."), code="invalid_phone")
    return phone.domestic


def join(
    session: Session,
    *,
    code: str,
    name: str,
    phone: str,
    secret_key: str,
    code_minutes: int = 15,
    at: datetime | None = None,
) -> JoinResult:
    """Join the inviter's program under the inviter; the same phone again returns the existing member."""
    inviter = require_inviter(session, secret_key=secret_key, code=code)
    clean = clean_name(name)
    number = clean_phone(phone)
    existing = programs.find_member_by_ref(session, inviter.program_id, customer_ref_hash(secret_key, number))
    if existing is not None:
        return JoinResult(member=existing, created=False, sign_in_code=None)
    actor = Actor(kind="recruit", ref=f"inviter:{inviter.id}", label="recruiting link")
    try:
        with session.begin_nested():
            member = program_service.create_member(
                session,
                program_id=inviter.program_id,
                data=MemberCreate(name=clean, customer_ref=number, inviter_id=inviter.id),
                secret_key=secret_key,
                actor=actor,
                at=at or utcnow(),
            )
    except (IntegrityError, Conflict) as exc:
        # The same phone joined at the same moment in another request: that join won.
        existing = programs.find_member_by_ref(
            session, inviter.program_id, customer_ref_hash(secret_key, number)
        )
        if existing is None or (isinstance(exc, Conflict) and exc.code != "member_exists"):
            raise
        return JoinResult(member=existing, created=False, sign_in_code=None)
    sign_in = sign_in_codes.issue(
        session, member_id=member.id, minutes=code_minutes, label=member.name, actor=actor, at=at
    )
    return JoinResult(member=member, created=True, sign_in_code=sign_in)
