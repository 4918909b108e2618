"""Programs, their tier ladders, and members bound to an inviter."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, JSONType, UTCDateTime, str_enum


class AttributionModel(enum.StrEnum):
    """How a buyer is bound to a member: the latest click, the first click, or permanently."""

    LAST_CLICK = "last_click"
    FIRST_CLICK = "first_click"
    LOCKED = "locked"


class Program(Base):
    """A distribution program (a mini-program audience) with its own rules and members."""

    __tablename__ = "programs"
    # A code is unique within its organization (migration 0043): another organization may use it too.
    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    attribution_model: Mapped[AttributionModel] = mapped_column(str_enum(AttributionModel))
    attribution_window_days: Mapped[int] = mapped_column(Integer)
    freeze_days: Mapped[int] = mapped_column(Integer)
    max_levels: Mapped[int] = mapped_column(Integer)
    self_purchase_commission: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Tier(Base):
    """A rung of a program's ladder: the seller's share and the upline override, in bp of the pool."""

    __tablename__ = "tiers"
    __table_args__ = (UniqueConstraint("program_id", "code"), UniqueConstraint("program_id", "rank"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    rank: Mapped[int] = mapped_column(Integer)
    share_bp: Mapped[int] = mapped_column(Integer)
    override_bp: Mapped[int] = mapped_column(Integer)
    upgrade: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


class Member(Base):
    """A distributor, group owner or salesperson in one program."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("program_id", "customer_ref_hash"),
        Index("ix_members_program_inviter", "program_id", "inviter_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    # Keyed hash and masked form only: the shop's openid or phone is never stored in clear.
    customer_ref_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    customer_ref_masked: Mapped[str | None] = mapped_column(String(40), nullable=True)
    inviter_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    tier_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MemberTierPeriod(Base):
    """Effective-dated tier history: the tier a member holds from ``effective_from`` on."""

    __tablename__ = "member_tier_periods"
    __table_args__ = (Index("ix_member_tier_periods_member_from", "member_id", "effective_from"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    tier_code: Mapped[str] = mapped_column(String(40))
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(200))


class MemberInviterPeriod(Base):
    """Effective-dated invite history: the member's inviter (None: nobody) from ``effective_from`` on.

    ``Member.inviter_id`` is the latest period's inviter; commission and recruit counts read the
    inviter of the instant they are about (an order's paid time, a recruit's join)."""

    __tablename__ = "member_inviter_periods"
    __table_args__ = (
        Index("ix_member_inviter_periods_member_from", "member_id", "effective_from"),
        # the periods naming an inviter: the backdated-move guard reads its recruits' stretches (0062)
        Index("ix_member_inviter_periods_inviter", "inviter_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    inviter_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(200))
