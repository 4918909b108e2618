"""Answers of the platform feed and reconciliation endpoints."""

from __future__ import annotations

from pydantic import BaseModel


class SkippedRow(BaseModel):
    """A row that was not applied: its position in ``rows``, a stable reason code and why, in English."""

    index: int
    reason: str
    message: str


class FeedOut(BaseModel):
    """What a feed did: orders created, existing orders moved forward, refunds posted, rows skipped."""

    created: int
    updated: int
    refunds: int
    skipped: list[SkippedRow]


class ReconciliationRow(BaseModel):
    """One platform order paid in the month: the platform's commission against neigou's, and why they differ."""

    external_id: str
    platform_status: str
    platform_commission_fen: int
    ledger_commission_fen: int
    members_commission_fen: int
    diff_fen: int
    cause: str | None


class ReconciliationCounts(BaseModel):
    """How many of the month's orders there are, agree, and differ by each cause."""

    orders: int
    agreeing: int
    missing: int
    status: int
    missing_line: int
    amount: int


class ReconciliationOut(BaseModel):
    """A page of a platform's month, order by order, with the whole month's totals (every order, whatever
    the page or the cause filter)."""

    platform: str
    month: str
    rows: list[ReconciliationRow]
    platform_commission_fen: int
    ledger_commission_fen: int
    members_commission_fen: int
    diff_fen: int
    counts: ReconciliationCounts
