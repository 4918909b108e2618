"""Operator accounts, API tokens and console sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import column, delete, select, table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.auth.models import (
    MAX_DISPLAY_NAME_LENGTH,
    MAX_USERNAME_KEY_LENGTH,
    MAX_USERNAME_LENGTH,
    ApiToken,
    Role,
    TokenKind,
    User,
)
from neigou.auth.passwords import hash_password, verify_password
from neigou.auth.standing import standing, with_tenancy
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.db import get_or_404, insert_unique
from neigou.kit.errors import Conflict, Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.kit.ids import caseless, digest, has_invisible, new_token
from neigou.kit.jobs import job
from neigou.kit.scoping import current_scope
from neigou.organizations.models import Merchant

TOKEN_PREFIX = "ngt"  # noqa: S105 - a prefix, not a secret
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    token_id: int
    role: Role
    member_id: int | None
    user_id: int | None
    label: str
    # None: a platform administrator (operator) or a platform-wide integration; else its tenant.
    organization_id: int | None = None
    # The shop of a merchant's account or token.
    merchant_id: int | None = None
    # The console account that issued this API token (None for a session, or a token issued by the
    # command line or before 0054).
    issued_by_user_id: int | None = None

    @property
    def answerable_user_id(self) -> int | None:
        """The console account behind this caller: its own (a console session) or the one that issued
        its API token. A token this caller issues is tied to it: stopping that account revokes both."""
        return self.user_id if self.user_id is not None else self.issued_by_user_id

    @property
    def actor(self) -> Actor:
        """This caller as recorded in the audit log."""
        ref = str(self.user_id if self.user_id is not None else self.member_id or self.token_id)
        return Actor(kind=self.role.value, ref=ref, label=self.label)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    display_name: str | None = None,
    actor: Actor,
    organization_id: int | None = None,
    merchant_id: int | None = None,
    at: datetime | None = None,
) -> User:
    """Create an operator account; usernames are unique and at most ``MAX_USERNAME_LENGTH`` characters
    (display names ``MAX_DISPLAY_NAME_LENGTH``), the one rule of the console form and the CLI. A scoped caller's account belongs to the
    caller's organization (another one is a 404 ``organization_not_found``, as for its programs);
    only an unscoped caller (the CLI, a platform administrator) opens a platform administrator's."""
    scope = current_scope(session)
    if scope is not None:
        if organization_id not in (None, scope.organization_id):
            raise NotFound(Message("This organization does not exist."), code="organization_not_found")
        organization_id = scope.organization_id
        if scope.merchant_id is not None:  # a merchant's caller opens accounts of its merchant only
            if merchant_id not in (None, scope.merchant_id):
                raise NotFound(Message("This merchant does not exist."), code="merchant_not_found")
            merchant_id = scope.merchant_id
    username = username.strip()
    if not username:
        raise Invalid(Message("Username must not be empty."), code="invalid_username")
    if has_invisible(username):  # "admin" and "admin" + a zero-width space would look like one operator
        raise Invalid(Message("Username must not contain invisible characters."), code="invalid_username")
    key = caseless(username)
    if len(username) > MAX_USERNAME_LENGTH or len(key) > MAX_USERNAME_KEY_LENGTH:
        raise Invalid(
            Message(
                "Username must have at most {max_username_length} characters.",
                max_username_length=MAX_USERNAME_LENGTH,
            ),
            code="invalid_username",
        )
    display_name = (display_name or "").strip() or username
    if len(display_name) > MAX_DISPLAY_NAME_LENGTH:
        raise Invalid(
            Message(
                "Display name must have at most {max_display_name_length} characters.",
                max_display_name_length=MAX_DISPLAY_NAME_LENGTH,
            ),
            code="invalid_display_name",
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            Message(
                "Password must have at least {min_password_length} characters.",
                min_password_length=MIN_PASSWORD_LENGTH,
            ),
            code="weak_password",
        )
    taken = Conflict(Message("This username is taken."), code="username_taken")
    if session.scalar(select(User.id).where(User.username_key == key)) is not None:
        raise taken
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise taken  # an account from before 0045 that kept no key of its own
    user = User(
        username=username,
        username_key=key,
        display_name=display_name,
        password_hash=hash_password(password),
        active=True,
        organization_id=organization_id
        if merchant_id is None
        else _merchant_organization(session, merchant_id),
        merchant_id=merchant_id,
        created_at=at or utcnow(),
    )
    insert_unique(session, user, taken)  # the same name taken meanwhile: the same 409
    audit.record(
        session,
        actor=actor,
        action="user.create",
        entity="user",
        entity_id=user.id,
        after={"username": username, "organization_id": user.organization_id, "merchant_id": merchant_id},
    )
    return user


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """The active user with these credentials, or None. The account is found by its name's key
    (``kit.ids.caseless``: ``ADMIN`` finds ``admin``), but an account from before 0045 that kept no key
    (an older one held it) by its exact name first."""
    exact = select(User).where(User.username == username.strip(), User.username_key.is_(None))
    user = session.scalar(exact) or session.scalar(
        select(User).where(User.username_key == caseless(username))
    )
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        return None
    return user


def create_token(
    session: Session,
    *,
    role: Role,
    actor: Actor,
    member_id: int | None = None,
    user_id: int | None = None,
    issued_by_user_id: int | None = None,
    label: str = "",
    kind: TokenKind = TokenKind.API,
    organization_id: int | None = None,
    merchant_id: int | None = None,
    expires_at: datetime | None = None,
    at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token; returns the row and the secret, which is not stored and shown only now."""
    if role is Role.MEMBER and member_id is None:
        raise Invalid(
            Message("A member token must name its member (--member-id)."),
            code="member_required",
        )
    if role is not Role.MEMBER and member_id is not None:
        raise Invalid(Message("Only member tokens are bound to a member."), code="member_not_allowed")
    if (role is Role.MERCHANT) != (merchant_id is not None):
        raise Invalid(
            Message("A merchant token names its merchant (--merchant-id), and only a merchant token does."),
            code="merchant_required",
        )
    scope = current_scope(session)
    if member_id is not None:
        organization_id = _member_organization(session, member_id)
        if organization_id is None or (scope is not None and scope.organization_id != organization_id):
            raise NotFound(Message("This member does not exist."), code="member_not_found")
    elif merchant_id is not None:
        organization_id = _merchant_organization(session, merchant_id)
    elif scope is not None:
        organization_id = scope.organization_id  # a scoped operator's tokens are of its organization
    secret = new_token(TOKEN_PREFIX)
    token = ApiToken(
        token_hash=digest(secret),
        role=role,
        kind=kind,
        label=label,
        member_id=member_id,
        user_id=user_id,
        issued_by_user_id=issued_by_user_id,
        organization_id=organization_id,
        merchant_id=merchant_id,
        created_at=at or utcnow(),
        expires_at=expires_at,
    )
    try:
        with session.begin_nested():
            session.add(token)
            session.flush()
    except IntegrityError as exc:
        raise NotFound(Message("This member does not exist."), code="member_not_found") from exc
    if kind is TokenKind.API:
        audit.record(
            session,
            actor=actor,
            action="token.create",
            entity="token",
            entity_id=token.id,
            after={
                "role": role.value,
                "member_id": member_id,
                "label": label,
                "organization_id": organization_id,
                "merchant_id": merchant_id,
            },
        )
    return token, secret


def _member_organization(session: Session, member_id: int) -> int | None:
    """The organization of a member's program (a member token is bound to it), None if no such member.
    Read from the tables by name: members and programs live in a domain above this one."""
    members = table("members", column("id"), column("program_id"))
    programs = table("programs", column("id"), column("organization_id"))
    found = session.execute(
        select(programs.c.organization_id)
        .join(members, members.c.program_id == programs.c.id)
        .where(members.c.id == member_id)
    ).scalar()
    return None if found is None else int(found)


def _merchant_organization(session: Session, merchant_id: int) -> int:
    """The organization of a live merchant the caller may see, else a 404 (``merchant_not_found``)."""
    found = session.scalar(
        select(Merchant.organization_id).where(Merchant.id == merchant_id, Merchant.deleted_at.is_(None))
    )
    scope = current_scope(session)
    if found is None or (scope is not None and scope.organization_id != found):
        raise NotFound(
            Message("This merchant does not exist."),
            code="merchant_not_found",
        )
    return int(found)


def create_session(
    session: Session,
    *,
    role: Role,
    hours: int,
    user_id: int | None = None,
    member_id: int | None = None,
    label: str = "",
    organization_id: int | None = None,
    merchant_id: int | None = None,
    at: datetime | None = None,
) -> str:
    """A short-lived token behind a console or workspace cookie."""
    now = at or utcnow()
    _, secret = create_token(
        session,
        role=role,
        actor=Actor(kind="session", ref=label),
        member_id=member_id,
        user_id=user_id,
        label=label,
        kind=TokenKind.SESSION,
        organization_id=organization_id,
        merchant_id=merchant_id,
        expires_at=now + timedelta(hours=hours),
        at=now,
    )
    return secret


def resolve(session: Session, secret: str, *, at: datetime | None = None) -> Principal | None:
    """The principal behind a bearer secret, or None if unknown, revoked, expired, or of a deleted
    organization (its tokens stop working at once)."""
    if not secret.startswith(TOKEN_PREFIX + "_"):
        return None
    found = session.execute(with_tenancy().where(ApiToken.token_hash == digest(secret))).first()
    token = standing(found, at or utcnow())
    if token is None:
        return None
    return Principal(
        token_id=token.id,
        role=token.role,
        member_id=token.member_id,
        user_id=token.user_id,
        label=token.label,
        organization_id=token.organization_id,
        merchant_id=token.merchant_id,
        issued_by_user_id=token.issued_by_user_id,
    )


def revoke(session: Session, *, token_id: int, at: datetime | None = None) -> None:
    """Revoke a token (sign-out, leaked secret); revoking twice is harmless."""
    token = session.get(ApiToken, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = at or utcnow()


def revoke_audited(session: Session, *, token_id: int, actor: Actor, at: datetime | None = None) -> None:
    """Revoke an API token on an operator's request."""
    get_or_404(
        session,
        ApiToken,
        token_id,
        code="token_not_found",
        detail=Message("This token does not exist."),
    )
    revoke(session, token_id=token_id, at=at)
    audit.record(
        session,
        actor=actor,
        action="token.revoke",
        entity="token",
        entity_id=token_id,
        after={"revoked": True},
    )


@job("auth.purge_expired_sessions", cron={"minute": "17", "hour": "3"}, retry_scheduled=True)
def purge_expired_sessions(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Delete console and workspace sessions and sign-in codes that expired or were used or revoked
    more than a day ago."""
    cutoff = at - timedelta(days=1)
    session.execute(
        delete(ApiToken).where(
            ApiToken.kind.in_([TokenKind.SESSION, TokenKind.SIGN_IN]),
            ((ApiToken.expires_at < cutoff) | (ApiToken.revoked_at < cutoff)),
        )
    )
