"""The salesperson's customer book: customers, their marketing consent, saved segments, the
program's push settings, and the pushes written to customers (messages and the customers skipped).

Every table carries its program, so tenancy scoping (``programs.scope``) covers it by column and the
tables can be sharded by program. A customer appears only as the keyed hash of their reference
(phone or openid) and its masked form, as everywhere else; the opt-out redacts the row in place
(``erased_at``) so a push's history keeps its counts but no personal data.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, JSONType, UTCDateTime, str_enum


class SpendingPower(enum.StrEnum):
    """A customer's spending power: set by the salesperson, or derived from the program's percentiles."""

    LOW = "low"
    MID = "mid"
    HIGH = "high"


class CustomerSource(enum.StrEnum):
    """How a customer entered the book: added by hand, imported from the store's VIP records, or a
    shopper who claimed or ordered through the member's link and consented."""

    MANUAL = "manual"
    IMPORT = "import"
    CLAIM = "claim"
    ORDER = "order"


class ConsentPurpose(enum.StrEnum):
    """What a consent is for (PIPL: consent is per purpose)."""

    MARKETING = "marketing"


class PushChannel(enum.StrEnum):
    """How a program's pushes reach customers: a task list the salesperson sends from their own chat
    app, a WeCom group robot, or an outbound signed webhook (a WeCom external-contact integration)."""

    TASK = "task"
    WECOM_ROBOT = "wecom_robot"
    WEBHOOK = "webhook"


class MessageStatus(enum.StrEnum):
    """A push message waits for its ``send_at`` (pending), then is sent or has failed."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class RobotVia(enum.StrEnum):
    """Whose robot a robot-channel message went through: the customer's own group's, or the program's
    (the push settings' target) for a customer whose group has none."""

    GROUP = "group"
    PROGRAM = "program"


class SkipReason(enum.StrEnum):
    """Why a customer chosen for a push got no message (stored as text in ``push_skips.reason``)."""

    NO_CONSENT = "no_consent"
    OPTED_OUT = "opted_out"
    FREQUENCY_CAP = "frequency_cap"


# Defaults of a program without a ``crm_settings`` row.
DEFAULT_CHANNEL = PushChannel.TASK
DEFAULT_CAP_PUSHES = 2
DEFAULT_CAP_DAYS = 7
DEFAULT_QUIET_START = time(22, 0)
DEFAULT_QUIET_END = time(8, 0)
# The masked robot or webhook URL's column length (the masked URL is cut to fit, ``?…`` kept).
TARGET_MASKED_LENGTH = 200


class Customer(Base):
    """One customer in a member's book; the same reference twice in one book is refused."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("member_id", "customer_ref_hash"),
        Index("ix_customers_program_ref", "program_id", "customer_ref_hash"),
        Index("ix_customers_member_id", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # Keyed hash (``kit.ids.customer_ref_hash`` of the normalised reference) and masked form only.
    customer_ref_hash: Mapped[str] = mapped_column(String(64))
    customer_ref_masked: Mapped[str] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    job: Mapped[str | None] = mapped_column(String(120), nullable=True)
    # As the salesperson set it; ``spending_power_derived`` comes from the customer's orders.
    spending_power: Mapped[SpendingPower | None] = mapped_column(str_enum(SpendingPower), nullable=True)
    spending_power_derived: Mapped[SpendingPower | None] = mapped_column(
        str_enum(SpendingPower), nullable=True
    )
    # Taste: styles, sizes, categories, in the salesperson's words (matched against products.tags).
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    birthday: Mapped[date | None] = mapped_column(Date, nullable=True)
    source: Mapped[CustomerSource] = mapped_column(str_enum(CustomerSource))
    # The link a claim or order came through, for customers the link brought.
    source_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("share_links.id", ondelete="SET NULL"), nullable=True
    )
    # Derived from the program's orders and identified clicks (``derived_at`` says when).
    last_purchase_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_click_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    preferred_categories: Mapped[list[str]] = mapped_column(
        JSONType, default=list
    )  # category codes, most bought first
    derived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set by the opt-out's erasure: the row stays (push counts) with its personal data redacted.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Consent(Base):
    """One consent decision for a purpose; the history is kept: a new decision is a new row, and a
    withdrawal stamps ``withdrawn_at`` on the grant it ends. The newest row is the current one."""

    __tablename__ = "customer_consents"
    __table_args__ = (Index("ix_customer_consents_customer", "customer_id", "purpose", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    purpose: Mapped[ConsentPurpose] = mapped_column(str_enum(ConsentPurpose))
    granted: Mapped[bool] = mapped_column(Boolean)
    # When the customer decided (given by the caller, never in the future) and where (a form, a claim …).
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(40))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Segment(Base):
    """A saved filter over a member's customers; every criterion set must hold. A segment without a
    member is the program's, resolved by each member against their own book. A create retried under
    the same ``request_id`` (the caller's ``Idempotency-Key``, unique per member) is the same segment
    when its body's fingerprint ``request_hash`` matches (``crm.segments``)."""

    __tablename__ = "customer_segments"
    __table_args__ = (
        CheckConstraint("birthday_month BETWEEN 1 AND 12", name="birthday_month"),
        CheckConstraint("dormant_days >= 0", name="dormant_days"),
        Index("ix_customer_segments_program_member", "program_id", "member_id"),
        Index("uq_customer_segments_request", "member_id", "request_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), nullable=True)
    name: Mapped[str] = mapped_column(String(120))
    spending_power: Mapped[SpendingPower | None] = mapped_column(str_enum(SpendingPower), nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)  # the customer has every one
    dormant_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    category: Mapped[str | None] = mapped_column(String(40), nullable=True)  # a preferred category's code
    birthday_month: Mapped[int | None] = mapped_column(Integer, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)  # sha256 of the create's body
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CrmSettings(Base):
    """A program's push rules and channel. The robot's or webhook's target URL and the webhook's
    signing secret are sealed (``kit.sealed``); screens show ``target_masked`` only."""

    __tablename__ = "crm_settings"
    __table_args__ = (
        CheckConstraint("cap_pushes >= 1", name="cap_pushes"),
        CheckConstraint("cap_days >= 1", name="cap_days"),
    )

    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[PushChannel] = mapped_column(str_enum(PushChannel), default=DEFAULT_CHANNEL)
    # At most ``cap_pushes`` pushes reach one customer in any ``cap_days`` days.
    cap_pushes: Mapped[int] = mapped_column(Integer, default=DEFAULT_CAP_PUSHES)
    cap_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_CAP_DAYS)
    # Program time; start after end means the quiet hours span midnight.
    quiet_start: Mapped[time] = mapped_column(Time, default=DEFAULT_QUIET_START)
    quiet_end: Mapped[time] = mapped_column(Time, default=DEFAULT_QUIET_END)
    target_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    target_masked: Mapped[str | None] = mapped_column(String(TARGET_MASKED_LENGTH), nullable=True)
    secret_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Push(Base):
    """A member's push of products to customers; a retry with the same ``request_id`` is the same push."""

    __tablename__ = "pushes"
    __table_args__ = (
        UniqueConstraint("member_id", "request_id"),
        Index("ix_pushes_member_created", "member_id", "created_at"),
        Index("ix_pushes_program_created", "program_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    template: Mapped[str | None] = mapped_column(Text, nullable=True)
    skus: Mapped[list[str]] = mapped_column(JSONType, default=list)
    segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_segments.id", ondelete="SET NULL"), nullable=True
    )
    channel: Mapped[PushChannel] = mapped_column(str_enum(PushChannel))  # the program's, when pushed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When the caller asked the messages to be due (a past ``at`` or none: ``created_at``), before quiet
    # hours moved them: a retry under the same key is compared with it, never with the messages'
    # ``send_at``, which quiet hours and delivery move. Null on a push stored before migration 0056 (no
    # asked time was kept): its retries are compared as then (``crm.pushes._same_time``).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PushMessage(Base):
    """The personalised text one customer gets for one product, with the push's tracked link."""

    __tablename__ = "push_messages"
    __table_args__ = (
        Index("ix_push_messages_push", "push_id", "id"),
        Index("ix_push_messages_customer_send", "customer_id", "send_at"),
        Index("ix_push_messages_due", "status", "send_at"),
        Index("ix_push_messages_program_send", "program_id", "send_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    push_id: Mapped[int] = mapped_column(ForeignKey("pushes.id", ondelete="CASCADE"))
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    link_id: Mapped[int | None] = mapped_column(
        ForeignKey("share_links.id", ondelete="SET NULL"), nullable=True
    )
    # Inside the quiet hours, the end of them.
    send_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[MessageStatus] = mapped_column(str_enum(MessageStatus), default=MessageStatus.PENDING)
    # When it went out (also on a message cancelled during its send); on a pending message, since when
    # a delivery run is sending it (its lease, ``push_due.SENDING_LEASE``).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Robot channel: the robot the latest attempt went through, and the group when it was the group's
    # (kept as a record, without a foreign key: no group is deleted, and one gone at the database must
    # not take the record with it, docs/crm-pushes.md); never its URL or key. Null until a robot is tried, and
    # on the other channels.
    sent_via: Mapped[RobotVia | None] = mapped_column(str_enum(RobotVia), nullable=True)
    sent_via_group_id: Mapped[int | None] = mapped_column(BigId, nullable=True)


class PushSkip(Base):
    """A customer chosen for a push who got no message, and why (a ``SkipReason`` value)."""

    __tablename__ = "push_skips"
    __table_args__ = (UniqueConstraint("push_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    push_id: Mapped[int] = mapped_column(ForeignKey("pushes.id", ondelete="CASCADE"))
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
