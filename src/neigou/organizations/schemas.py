"""Request and response bodies of the organizations API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from neigou.kit.names import VisibleNameStr


class OrganizationCreate(BaseModel):
    """A new organization (tenant)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: VisibleNameStr


class OrganizationOut(BaseModel):
    """An organization as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    review_merchant_changes: bool
    created_at: datetime
    deleted_at: datetime | None


class OrganizationSettings(BaseModel):
    """What an organization's operator may change about it."""

    model_config = ConfigDict(extra="forbid")

    # A merchant's new coupon or commission change waits for an operator's approval.
    review_merchant_changes: bool
