"""Opt-out requests: which customer asked to be forgotten, where, and what was erased.

The keyed hash stays here on purpose: it is the suppression list that keeps new touches of this
shopper from being recorded. The clear reference and its masked form are never stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, JSONType, UTCDateTime


class OptOut(Base):
    """One opt-out, idempotent on the caller's ``request_id``; ``program_id`` null means every program."""

    __tablename__ = "opt_outs"
    __table_args__ = (Index("ix_opt_outs_customer", "customer_ref_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), index=True, nullable=True
    )
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    program_id: Mapped[int | None] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), nullable=True
    )
    customer_ref_hash: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_ref: Mapped[str] = mapped_column(String(64))
    # Rows erased or redacted per kind ({"touches": 3, ...}), as answered to the caller.
    erased: Mapped[dict[str, int]] = mapped_column(JSONType)
