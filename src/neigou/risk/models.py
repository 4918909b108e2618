"""Risk cases, the orders they hold, suspensions and each program's thresholds.

These tables sit low in the import order (below links) so that settlement, withdrawals, links and
tier evaluation can honour a hold without importing the rules that opened it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, JSONType, UTCDateTime, str_enum


class CaseStatus(enum.StrEnum):
    """open (holding money) → cleared (released at the next settlement) or confirmed (reversed)."""

    OPEN = "open"
    CLEARED = "cleared"
    CONFIRMED = "confirmed"


class Severity(enum.StrEnum):
    """High severity also holds the member's withdrawals while the case is open."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class RiskCase(Base):
    """What one rule found about one member: evidence, the explanation and the orders it holds.

    ``subject`` names what the case is about within its rule (the member for order rules, a
    coupon and visitor for hoarding, a count for padded groups); a scan never opens a second case
    with the same rule and subject while one is open, and never reopens a subject an operator
    cleared or confirmed unless new orders appear.
    """

    __tablename__ = "risk_cases"
    __table_args__ = (
        Index("ix_risk_cases_program_status", "program_id", "status"),
        Index("ix_risk_cases_member_status", "member_id", "status"),
        Index("ix_risk_cases_subject", "program_id", "rule", "subject"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # The explanation as a catalog message: {"msgid": …, "values": {…}}, rendered in the reader's language.
    explanation: Mapped[dict[str, Any]] = mapped_column(JSONType)
    held_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    reversed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseOrder(Base):
    """An order a case holds: its commission is not released while the case is open."""

    __tablename__ = "risk_case_orders"
    __table_args__ = (Index("ix_risk_case_orders_order", "order_id"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("risk_cases.id", ondelete="CASCADE"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)


class Suspension(Base):
    """A member suspended when a case against them was confirmed: no withdrawals, no new links."""

    __tablename__ = "risk_suspensions"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("risk_cases.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class RiskSettings(Base):
    """A program's rule thresholds; keys not stored take the documented defaults."""

    __tablename__ = "risk_settings"

    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True)
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
