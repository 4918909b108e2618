"""Console accounts as an administrator sees them: the accounts and the API tokens that still work, and
stopping or restarting an account (``auth.service`` makes them and signs them in)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.auth.models import ApiToken, TokenKind, User
from neigou.kit.actor import Actor
from neigou.kit.db import get_or_404
from neigou.kit.i18n import Message


def list_users(session: Session) -> list[User]:
    """Console accounts, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def set_user_active(session: Session, *, user_id: int, active: bool, actor: Actor, at: datetime) -> User:
    """Let a console account sign in again, or stop it (its open sessions and the API tokens it
    issued end at once)."""
    user = get_or_404(
        session,
        User,
        user_id,
        code="user_not_found",
        detail=Message("This user does not exist."),
    )
    if user.active == active:
        return user
    user.active = active
    if not active:
        session.execute(
            update(ApiToken)
            .where(
                (ApiToken.user_id == user.id) | (ApiToken.issued_by_user_id == user.id),
                ApiToken.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )
    audit.record(
        session,
        actor=actor,
        action="user.activate" if active else "user.deactivate",
        entity="user",
        entity_id=user.id,
        after={"active": active},
    )
    return user


def list_api_tokens(session: Session) -> list[ApiToken]:
    """API tokens that still work (sessions left out), newest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.kind == TokenKind.API, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id.desc())
        )
    )
