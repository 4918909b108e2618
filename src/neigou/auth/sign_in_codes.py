"""One-time workspace sign-in codes: the link a member opens carries one of these, never an API token.

A code is 256 random bits (``ngc_…``), stored as its SHA-256 only, bound to one member, valid for
``Settings.sign_in_code_minutes`` and spent by its first use: ``redeem`` marks it used with one
conditional UPDATE, so two requests racing with the same code open one session between them. A
code is no bearer token (``service.resolve`` refuses it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.auth.models import ApiToken, Role, TokenKind
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.errors import NotFound
from neigou.kit.i18n import Message
from neigou.kit.ids import digest, new_token

CODE_PREFIX = "ngc"
LOGIN_PATH = "/m/login?code="


def issue(
    session: Session,
    *,
    member_id: int,
    minutes: int,
    actor: Actor,
    label: str = "",
    at: datetime | None = None,
) -> str:
    """A new sign-in code for ``member_id``; the code is returned once and only its hash is kept."""
    now = at or utcnow()
    code = new_token(CODE_PREFIX)
    row = ApiToken(
        token_hash=digest(code),
        role=Role.MEMBER,
        kind=TokenKind.SIGN_IN,
        label=label,
        member_id=member_id,
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise NotFound(Message("This member does not exist."), code="member_not_found") from exc
    audit.record(
        session,
        actor=actor,
        action="sign_in_code.create",
        entity="member",
        entity_id=member_id,
        after={"expires_at": row.expires_at.isoformat() if row.expires_at else None},
        at=now,
    )
    return code


def usable(session: Session, code: str, *, at: datetime | None = None) -> bool:
    """True when ``code`` would sign a member in now; nothing is spent (the confirmation page)."""
    if not code.startswith(CODE_PREFIX + "_"):
        return False
    found = session.scalar(
        select(ApiToken.id).where(
            ApiToken.token_hash == digest(code),
            ApiToken.kind == TokenKind.SIGN_IN,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > (at or utcnow()),
        )
    )
    return found is not None


def redeem(session: Session, code: str, *, at: datetime | None = None) -> int | None:
    """The member a valid, unused code signs in (the code is spent now), or None."""
    if not code.startswith(CODE_PREFIX + "_"):
        return None
    now = at or utcnow()
    spent = session.execute(
        update(ApiToken)
        .where(
            ApiToken.token_hash == digest(code),
            ApiToken.kind == TokenKind.SIGN_IN,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
        )
        .values(revoked_at=now)
        .returning(ApiToken.member_id)
    ).first()
    return None if spent is None else spent[0]
