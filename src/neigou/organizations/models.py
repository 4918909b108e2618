"""Organizations (tenants): a platform or a brand that owns its programs, catalog and money.

Every row of a tenant table belongs to one organization, directly (``organization_id``) or through
its program; ``programs.scope`` turns that into the criteria of every query of a scoped principal.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, UTCDateTime

DEFAULT_ORGANIZATION_CODE = "default"


class Organization(Base):
    """A tenant; deleting it (``deleted_at``) stops its tokens at once and hides nothing else."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Merchant(Base):
    """A shop (店家) of an organization: its products, their commission rates, its coupons and
    promotions; deleting it (``deleted_at``) stops its accounts' tokens at once."""

    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
