"""Chat groups run by members, their member-count observations, target schedules and alerts.

A group's id is what share links, coupon claims and orders carry (``share_links.group_id``,
``coupon_claims.group_id``, ``orders.group_id``); their sums per group are ``reporting.group_sales``,
since nothing here may depend on links or orders.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, JSONType, UTCDateTime, str_enum


class GroupPlatform(enum.StrEnum):
    """Where the chat group lives."""

    WECHAT = "wechat"
    WECOM = "wecom"
    QQ = "qq"
    OTHER = "other"


class GroupStatus(enum.StrEnum):
    """Archived groups keep their history but leave compliance and alerts."""

    ACTIVE = "active"
    ARCHIVED = "archived"


class CountReview(enum.StrEnum):
    """Whether an observation counts: plausible ones at once, implausible ones once accepted."""

    OK = "ok"
    NEEDS_REVIEW = "needs_review"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


COUNTED = (CountReview.OK, CountReview.ACCEPTED)


class AlertKind(enum.StrEnum):
    """A group that missed its target on the day, or will miss the next checkpoint at its pace."""

    MISSED = "missed"
    AT_RISK = "at_risk"


class DeliveryStatus(enum.StrEnum):
    """What happened to a program's daily alert message (``sending``: an attempt is on its way)."""

    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Group(Base):
    """A chat group (内购群) owned by one member of a program."""

    __tablename__ = "chat_groups"
    __table_args__ = (
        UniqueConstraint("owner_member_id", "name"),
        UniqueConstraint("program_id", "platform", "external_id"),
        Index("ix_chat_groups_program_owner", "program_id", "owner_member_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    owner_member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    platform: Mapped[GroupPlatform] = mapped_column(str_enum(GroupPlatform))
    external_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    status: Mapped[GroupStatus] = mapped_column(str_enum(GroupStatus))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GroupCount(Base):
    """One observation of a group's member count; the same (group, time) is stored once."""

    __tablename__ = "group_counts"
    __table_args__ = (
        UniqueConstraint("group_id", "observed_at"),
        Index("ix_group_counts_program_observed", "program_id", "observed_at"),
        CheckConstraint("member_count >= 0", name="member_count_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"))
    # Denormalised so compliance reads one program's counts without a join (and shards by program).
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    member_count: Mapped[int] = mapped_column(Integer)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(20))
    recorded_by: Mapped[str] = mapped_column(String(80))
    review: Mapped[CountReview] = mapped_column(str_enum(CountReview))
    review_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


class TargetScheduleRow(Base):
    """A program's group-target schedule, in force from ``starts_on`` until a later one starts."""

    __tablename__ = "group_target_schedules"
    __table_args__ = (UniqueConstraint("program_id", "starts_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    starts_on: Mapped[date] = mapped_column(Date)
    # [{"date": "2026-03-24", "min_members": 250}, …] sorted by date.
    points: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    daily_increase_after: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GroupSettings(Base):
    """Per-program settings of the groups domain: alert webhook and plausibility thresholds."""

    __tablename__ = "group_settings"

    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True)
    # A WeCom group-robot URL (…/cgi-bin/webhook/send?key=…): the key in it is a secret, so the URL is
    # kept sealed with the payee keys (``kit.sealed``) and opened only to send the alert; pages and the
    # API show it masked (``webhook_url_masked``, ``kit.urls.masked_url``, kept beside it).
    webhook_url_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_url_masked: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Optional signing secret (DingTalk-style timestamp + sign query parameters): a credential too, so
    # it is sealed the same way and opened only to sign; pages and the API say whether it is set.
    webhook_secret_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Overrides of the platform size limits, e.g. {"wechat": 500}; null means no limit.
    size_limits: Mapped[dict[str, Any]] = mapped_column(JSONType)
    jump_members_per_day: Mapped[int] = mapped_column(Integer)
    jump_bp_per_day: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GroupAlert(Base):
    """A group listed in a program's daily alert for ``alert_date``."""

    __tablename__ = "group_alerts"
    __table_args__ = (
        UniqueConstraint("group_id", "alert_date", "kind"),
        Index("ix_group_alerts_program_date", "program_id", "alert_date"),
        Index("ix_group_alerts_owner", "owner_member_id", "alert_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"))
    owner_member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    alert_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[AlertKind] = mapped_column(str_enum(AlertKind))
    required: Mapped[int] = mapped_column(Integer)
    actual: Mapped[int | None] = mapped_column(Integer, nullable=True)
    checkpoint_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    projected: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertDelivery(Base):
    """The daily alert message of a program: sent once per date, failures retried."""

    __tablename__ = "group_alert_deliveries"
    __table_args__ = (UniqueConstraint("program_id", "alert_date"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    alert_date: Mapped[date] = mapped_column(Date)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus))
    attempts: Mapped[int] = mapped_column(Integer)
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LiveCode(Base):
    """A group live code (活码): one stable link and QR for a family of groups, rotating as each fills."""

    __tablename__ = "group_live_codes"
    __table_args__ = (
        Index("ix_group_live_codes_owner", "owner_member_id"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    owner_member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    capacity: Mapped[int] = mapped_column(Integer)
    # Set when a visitor first found every group full; cleared when a group has room again.
    full_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    full_scans: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LiveCodeGroup(Base):
    """A group behind a live code, in rotation order, with its own join QR image and its scans."""

    __tablename__ = "group_live_code_groups"
    __table_args__ = (
        UniqueConstraint("live_code_id", "group_id"),
        UniqueConstraint("live_code_id", "position"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    live_code_id: Mapped[int] = mapped_column(ForeignKey("group_live_codes.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    scans: Mapped[int] = mapped_column(Integer, default=0)
    qr_image: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    qr_content_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    qr_uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RobotAlertStatus(enum.StrEnum):
    """Where the WeCom robot message of a live code's "all full" alert stands (``feed.full_alerts``)."""

    PENDING = "pending"  # to send, or to retry at ``robot_next_attempt_at``
    SENT = "sent"
    FAILED = "failed"  # refused or unreachable ``MAX_ATTEMPTS`` times
    NO_ROBOT = "no_robot"  # none of the code's groups has a robot: alerted in the app only


class LiveCodeAlert(Base):
    """The owner's alert that every group of a live code is full (one per full spell), with the state
    of its robot message; ``robot_status`` is null for alerts made before robot messages were retried."""

    __tablename__ = "group_live_code_alerts"
    __table_args__ = (
        UniqueConstraint("live_code_id", "full_since"),
        Index("ix_group_live_code_alerts_owner", "owner_member_id", "created_at"),
        Index("ix_group_live_code_alerts_robot_due", "robot_status", "robot_next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    live_code_id: Mapped[int] = mapped_column(ForeignKey("group_live_codes.id", ondelete="CASCADE"))
    owner_member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    full_since: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    robot_status: Mapped[RobotAlertStatus | None] = mapped_column(str_enum(RobotAlertStatus), nullable=True)
    robot_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    robot_next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    robot_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The fixed summary of the robot's last answer (``groups.webhook.send_markdown``: never its text) and the
    # event's data the message is made of.
    robot_detail: Mapped[str | None] = mapped_column(String(500), nullable=True)
    robot_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
