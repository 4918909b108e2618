"""The commission ledger: balanced postings of signed entries, wallets, withdrawals and payouts.

Sign convention: a member account's balance is what the platform owes (or paid) that member in
that state, so member balances are positive when money is theirs. Every posting's entries sum to
zero; the platform's side of an earned commission is a negative ``commission_expense`` entry.
Rows are only ever inserted: a correction is a new posting, never an edit.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, UTCDateTime, key_string, str_enum
from neigou.ledger.payee_rules import PayeeKind


class Account(enum.StrEnum):
    """Where a fen sits: a member's state of earnings, or the platform's side."""

    PENDING = "pending"
    FROZEN = "frozen"
    AVAILABLE = "available"
    WITHDRAWING = "withdrawing"
    WITHDRAWN = "withdrawn"
    COMMISSION_EXPENSE = "commission_expense"
    PAYOUT_FEES = "payout_fees"


MEMBER_ACCOUNTS = (
    Account.PENDING,
    Account.FROZEN,
    Account.AVAILABLE,
    Account.WITHDRAWING,
    Account.WITHDRAWN,
)


class PostingKind(enum.StrEnum):
    """Why money moved."""

    COMMISSION_EARNED = "commission_earned"
    COMMISSION_FROZEN = "commission_frozen"
    COMMISSION_RELEASED = "commission_released"
    COMMISSION_REVERSED = "commission_reversed"
    WITHDRAWAL_REQUESTED = "withdrawal_requested"
    WITHDRAWAL_REJECTED = "withdrawal_rejected"
    WITHDRAWAL_PAID = "withdrawal_paid"


class Posting(Base):
    """One balanced movement; ``key`` makes it idempotent (a second posting with it is refused)."""

    __tablename__ = "ledger_postings"
    # Found by ``key`` or id only: statements and balances read the entries, so the program and the
    # source are kept without an index (migration 0030).

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Postings and entries are append-only and written in bulk: no per-row foreign keys (the poster
    # checks the program and the members; entries are written with their posting).
    program_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[PostingKind] = mapped_column(str_enum(PostingKind))
    key: Mapped[str] = mapped_column(key_string(120), unique=True)
    # What caused it: ("order", id), ("withdrawal", id), ("settlement", id).
    source: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    memo: Mapped[str] = mapped_column(String(200), default="")


class Entry(Base):
    """One signed leg of a posting on one account (a member's, or the platform's when no member)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_member_account", "member_id", "account"),
        Index("ix_ledger_entries_posting_id", "posting_id"),
        CheckConstraint("amount_fen <> 0", name="not_zero"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    posting_id: Mapped[int] = mapped_column(BigInteger)
    program_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    account: Mapped[Account] = mapped_column(str_enum(Account, bytewise=True))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Wallet(Base):
    """A member's lock row: withdrawals take ``SELECT … FOR UPDATE`` on it before reading available and
    the payee account, and a change of the payee account before it writes (``ledger.wallets``)."""

    __tablename__ = "ledger_wallets"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    withdrawals: Mapped[int] = mapped_column(Integer, default=0)


class PayoutSettings(Base):
    """A program's withdrawal rules: the smallest amount and the fee (fixed plus a rate)."""

    __tablename__ = "program_payout_settings"
    __table_args__ = (
        CheckConstraint("min_withdrawal_fen >= 0 AND fee_fixed_fen >= 0", name="not_negative"),
        CheckConstraint("fee_bp >= 0 AND fee_bp <= 10000", name="fee_bp_range"),
    )

    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True)
    min_withdrawal_fen: Mapped[int] = mapped_column(BigInteger)
    fee_fixed_fen: Mapped[int] = mapped_column(BigInteger)
    fee_bp: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WithdrawalStatus(enum.StrEnum):
    """requested → approved → paid, or rejected (the money goes back to available)."""

    REQUESTED = "requested"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"


class Withdrawal(Base):
    """A member's request to be paid ``amount_fen`` (``fee_fen`` kept, ``net_fen`` paid out)."""

    __tablename__ = "withdrawals"
    __table_args__ = (
        UniqueConstraint("member_id", "request_id"),
        Index("ix_withdrawals_program_status", "program_id", "status"),
        CheckConstraint("amount_fen > 0 AND fee_fen >= 0 AND net_fen > 0", name="amounts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    request_id: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    fee_fen: Mapped[int] = mapped_column(BigInteger)
    net_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[WithdrawalStatus] = mapped_column(str_enum(WithdrawalStatus))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("payout_batches.id"), nullable=True, index=True)
    # Where this withdrawal is paid: the member's payee account as it was when they asked (the sealed
    # tokens copied as they are, so the payee keys open them as they open the member's), or as they first
    # set it while the request still waited for review. The console shows it masked when the operator
    # approves and the payout file pays it; a later change of the member's account does not reach it.
    # All null when there was none to copy (the file's payee cells stay empty).
    payee_kind: Mapped[PayeeKind | None] = mapped_column(str_enum(PayeeKind), nullable=True)
    payee_account_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    payee_account_masked: Mapped[str | None] = mapped_column(String(40), nullable=True)
    payee_holder_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    payee_holder_masked: Mapped[str | None] = mapped_column(String(40), nullable=True)


class PayoutBatch(Base):
    """Approved withdrawals handed to finance as one file; marked paid when the bank has paid it."""

    __tablename__ = "payout_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    count: Mapped[int] = mapped_column(Integer)
    total_net_fen: Mapped[int] = mapped_column(BigInteger)


class PayeeAccount(Base):
    """Where a member is paid; the account and the holder's name are sealed (``kit.sealed``), and only
    their masked forms are stored in the clear."""

    __tablename__ = "payee_accounts"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[PayeeKind] = mapped_column(str_enum(PayeeKind))
    account_sealed: Mapped[str] = mapped_column(Text)
    account_masked: Mapped[str] = mapped_column(String(40))
    holder_sealed: Mapped[str] = mapped_column(Text)
    holder_masked: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
