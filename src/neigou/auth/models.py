"""Operator accounts and API tokens (stored hashed)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, UTCDateTime, str_enum

# The longest username and display name an account may have (their columns' lengths): one rule, which
# ``auth.service.create_user`` applies for the console form and the CLI alike.
MAX_USERNAME_LENGTH = 64
MAX_DISPLAY_NAME_LENGTH = 120
# ``username_key``'s column: the key of a name may be longer than the name (NFKC expands some characters).
MAX_USERNAME_KEY_LENGTH = 255


class Role(enum.StrEnum):
    """What a token may do: run programs, act as one member, feed orders in, or run one shop."""

    OPERATOR = "operator"
    MEMBER = "member"
    INTEGRATION = "integration"
    MERCHANT = "merchant"


class TokenKind(enum.StrEnum):
    """API tokens live until revoked; console and workspace sessions expire; a sign-in code opens one
    workspace session, once, within minutes (``auth.sign_in_codes``)."""

    API = "api"
    SESSION = "session"
    SIGN_IN = "sign_in"


class User(Base):
    """An operator who signs in to the console with a password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), index=True, nullable=True
    )
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True, nullable=True)
    username: Mapped[str] = mapped_column(String(MAX_USERNAME_LENGTH), unique=True)
    # ``kit.ids.caseless(username)``: one account per name however it is cased or typed (full-width).
    # NULL only for an account created before 0045 whose key an older account already held (logged then).
    username_key: Mapped[str | None] = mapped_column(
        String(MAX_USERNAME_KEY_LENGTH), index=True, unique=True, nullable=True
    )
    display_name: Mapped[str] = mapped_column(String(MAX_DISPLAY_NAME_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer secret; only its SHA-256 is stored, the secret is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), index=True, nullable=True
    )
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True, nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    kind: Mapped[TokenKind] = mapped_column(str_enum(TokenKind), default=TokenKind.API)
    label: Mapped[str] = mapped_column(String(120), default="")
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The console account that issued an API token: the caller's own, or the one that issued the API
    # token it called with (None: by the command line, before 0054, or with an API token of none);
    # stopping the account revokes it with the account's sessions, and a stopped issuer's token is refused.
    issued_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
