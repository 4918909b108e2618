"""Events, their price list, employees, invitations and reservations.

This module sits below orders (an order may name its event); the rest of the domain sits above them.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, JSONType, UTCDateTime, str_enum


class ReservationStatus(enum.StrEnum):
    """A reservation holds stock until it is paid or its hold time runs out."""

    HELD = "held"
    PAID = "paid"
    EXPIRED = "expired"


class Event(Base):
    """An employee-purchase live event of a program; ``code`` names its public live page."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_program_starts", "program_id", "starts_at"),
        CheckConstraint("starts_at < ends_at", name="window"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    guests_per_employee: Mapped[int] = mapped_column(Integer)
    hold_minutes: Mapped[int] = mapped_column(Integer)
    stream_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EventItem(Base):
    """One line of an event's price list: the event price of a sku, its stock and per-person limit."""

    __tablename__ = "event_items"
    __table_args__ = (
        UniqueConstraint("event_id", "sku"),
        CheckConstraint("reserved >= 0 AND reserved <= stock", name="stock"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(64))
    price_fen: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer)
    per_person_limit: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)


class EventEmployee(Base):
    """An employee on an event's whitelist; ``member_id`` when they are one of the program's salespeople.
    The number binds to the first shopper who reserves with it (``customer_ref_hash``), as an
    invitation does: the employee's guests come through invitation codes."""

    __tablename__ = "event_employees"
    __table_args__ = (UniqueConstraint("event_id", "employee_no"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    employee_no: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    invitations: Mapped[int] = mapped_column(Integer, default=0)
    customer_ref_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Invitation(Base):
    """A personal invitation code of an employee; it binds to the first shopper who uses it."""

    __tablename__ = "event_invitations"
    __table_args__ = (
        Index("ix_event_invitations_employee", "employee_id"),
        # One invitation per shopper per event (migration 0047); a code bound to nobody is NULL.
        Index("uq_event_invitations_shopper", "event_id", "customer_ref_hash", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("event_employees.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    customer_ref_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InvitationRequest(Base):
    """Invitation codes issued under the caller's idempotency key (``Idempotency-Key``, or the workspace
    form's request id): a retry answers these codes and issues none; the unique key lets one of two
    retries at once issue them."""

    __tablename__ = "event_invitation_requests"
    __table_args__ = (UniqueConstraint("event_id", "request_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    request_id: Mapped[str] = mapped_column(String(64))
    employee_id: Mapped[int] = mapped_column(ForeignKey("event_employees.id", ondelete="CASCADE"))
    count: Mapped[int] = mapped_column(Integer)
    codes: Mapped[list[str]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Reservation(Base):
    """Event stock held for a shopper at the event price until paid or expired.

    A hot-path log written in batches behind the Redis gate: no foreign keys (the event and its items
    are never deleted while reservations point at them), ids made by the writer of the reservation.
    """

    __tablename__ = "event_reservations"
    __table_args__ = (
        Index("ix_event_reservations_hold", "event_id", "status", "expires_at"),
        Index("ix_event_reservations_customer", "event_id", "customer_ref_hash"),
        # A retried reservation finds the first under the caller's key instead of taking stock again.
        Index("uq_event_reservations_request", "event_id", "request_id", unique=True),
        CheckConstraint("quantity > 0", name="quantity"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    item_id: Mapped[int] = mapped_column(BigInteger)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    price_fen: Mapped[int] = mapped_column(BigInteger)
    customer_ref_hash: Mapped[str] = mapped_column(String(64))
    customer_ref_masked: Mapped[str] = mapped_column(String(32))
    employee_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    invitation_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    link_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    member_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[ReservationStatus] = mapped_column(str_enum(ReservationStatus))
    reserved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # When a full refund gave the reservation's units back (``refunds.release_refunded``, dated as that
    # refund), null on every other reservation: a released one is ``expired`` like a hold that ran out
    # unpaid, and only this tells them apart (the gate's seeding reads it, ``seeds.seed_state``).
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CustomerCount(Base):
    """How many units of an item a shopper holds (held and paid): the per-person limit's counter."""

    __tablename__ = "event_customer_counts"

    item_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_ref_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
