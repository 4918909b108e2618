"""Request and response bodies of the auth API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from neigou.auth.models import Role


class TokenCreate(BaseModel):
    """A new API token."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    member_id: int | None = None
    label: str = Field(default="", max_length=120)


class TokenCreated(BaseModel):
    """The token's id and its secret, shown this once."""

    id: int
    role: Role
    member_id: int | None
    token: str


class Me(BaseModel):
    """Who the caller is."""

    role: Role
    member_id: int | None
    user_id: int | None
    label: str
