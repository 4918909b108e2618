"""Tier evaluations of a program's periods and every tier change they (or an operator) made."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, JSONType, UTCDateTime, str_enum


class TierChangeKind(enum.StrEnum):
    """Why a tier changed: an evaluation's upgrade or demotion, or an operator's override."""

    UPGRADE = "upgrade"
    DEMOTION = "demotion"
    MANUAL = "manual"


class TierEvaluation(Base):
    """One program's monthly evaluation; a period is evaluated once (unique), so a rerun changes nothing."""

    __tablename__ = "tier_evaluations"
    __table_args__ = (UniqueConstraint("program_id", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    # When the evaluation's changes take effect (``service.effective_from``): the period's end, or the
    # run when later. Runs before that rule took effect at the period's end, which this holds for them.
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_ref: Mapped[str] = mapped_column(String(100))
    members_evaluated: Mapped[int] = mapped_column(Integer)
    changes: Mapped[int] = mapped_column(Integer)
    # The members the run left out (their tier changed from the period's end on), as a JSON list of ids;
    # null for runs recorded before migration 0058 kept it.
    left_out: Mapped[list[int] | None] = mapped_column(JSONType, nullable=True)


class TierChange(Base):
    """A member's tier change with its reasons; the dated tier itself is a ``MemberTierPeriod``."""

    __tablename__ = "tier_changes"
    __table_args__ = (
        Index("ix_tier_changes_member_id", "member_id", "effective_from"),
        Index("ix_tier_changes_evaluation_id", "evaluation_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    evaluation_id: Mapped[int | None] = mapped_column(
        ForeignKey("tier_evaluations.id", ondelete="CASCADE"), nullable=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[TierChangeKind] = mapped_column(str_enum(TierChangeKind))
    from_tier: Mapped[str | None] = mapped_column(String(40), nullable=True)
    to_tier: Mapped[str] = mapped_column(String(40))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
