"""Shops feeding a program: their webhook secrets, the inbound webhooks seen (replays), and the
commission events delivered to them with every attempt."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, JSONType, UTCDateTime, str_enum


class Integration(Base):
    """A shop feeding a program: signs its order webhooks and receives our commission events."""

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # HMAC needs the secrets themselves, so they are kept, sealed with the payee keys (``kit.sealed``)
    # and opened only to verify or sign; they are shown once, when created, and never listed.
    inbound_secret_sealed: Mapped[str] = mapped_column(Text)
    outbound_secret_sealed: Mapped[str] = mapped_column(Text)
    # The receiver's URL may carry a token (query, path, user and password): sealed the same way and
    # opened only to send; the API, pages and the audit log show it masked (``outbound_url_masked``,
    # ``kit.urls.masked_url``).
    outbound_url_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    outbound_url_masked: Mapped[str | None] = mapped_column(String(500), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookReceipt(Base):
    """An inbound webhook's signature, kept for the tolerance window so a replay is refused."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (UniqueConstraint("integration_id", "signature"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    signature: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DeliveryStatus(enum.StrEnum):
    """An outbound event: waiting for (another) attempt, delivered, or given up."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(Base):
    """One commission event for one integration, with its attempts so far."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WebhookAttempt(Base):
    """The delivery log: every attempt and what the receiver answered."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(String(500))
