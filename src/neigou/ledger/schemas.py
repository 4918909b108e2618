"""Request and response bodies of balances, statements, withdrawals and payouts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from neigou.kit.instants import Instant
from neigou.kit.names import VisibleName
from neigou.ledger.payee_rules import PayeeKind

Fen = Annotated[int, Field(ge=0, le=10_000_000_000, strict=True)]


class BalanceOut(BaseModel):
    """A member's money by state; ``withdrawing_fen`` is requested but not yet paid."""

    member_id: int
    pending_fen: int
    frozen_fen: int
    available_fen: int
    withdrawing_fen: int
    withdrawn_fen: int


class StatementLineOut(BaseModel):
    """One entry of a member's statement."""

    model_config = ConfigDict(from_attributes=True)

    entry_id: int
    at: datetime
    kind: str
    account: str
    amount_fen: int
    source: str
    source_id: int
    memo: str


class WithdrawalBody(BaseModel):
    """Withdraw ``amount_fen``; ``request_id`` makes a retry safe."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    amount_fen: Annotated[int, Field(gt=0, le=10_000_000_000, strict=True)]
    request_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    at: Instant | None = None


class WithdrawalOut(BaseModel):
    """A withdrawal and where it stands."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    program_id: int
    member_id: int
    request_id: str
    amount_fen: int
    fee_fen: int
    net_fen: int
    status: str
    requested_at: datetime
    decided_at: datetime | None
    paid_at: datetime | None
    reason: str | None
    batch_id: int | None


class RejectBody(BaseModel):
    """Why the request is rejected."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class PayoutSettingsBody(BaseModel):
    """A program's withdrawal terms."""

    model_config = ConfigDict(extra="forbid")

    min_withdrawal_fen: Fen = 100
    fee_fixed_fen: Fen = 0
    fee_bp: Annotated[int, Field(ge=0, le=10_000, strict=True)] = 0


class PayoutSettingsOut(PayoutSettingsBody):
    """The terms in force."""

    program_id: int


class BatchOut(BaseModel):
    """A payout batch."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    program_id: int
    created_at: datetime
    paid_at: datetime | None
    count: int
    total_net_fen: int
    # Only in the answer that marks it paid: withdrawals left out unpaid, their member held by risk.
    held_withdrawal_ids: list[int] = []


class PaidBody(BaseModel):
    """When the bank paid the batch (default now)."""

    model_config = ConfigDict(extra="forbid")

    at: Instant | None = None


class PayeeBody(BaseModel):
    """Where the member is paid: a WeChat ID or mobile, an Alipay mobile or email, or a bank card."""

    model_config = ConfigDict(extra="forbid")

    kind: PayeeKind
    account: str = Field(min_length=1, max_length=64)
    holder_name: Annotated[str, Field(min_length=1, max_length=64), VisibleName]  # 422 blank_name


class PayeeOut(BaseModel):
    """The payee account as screens show it: masked, never in full."""

    model_config = ConfigDict(from_attributes=True)

    member_id: int
    kind: PayeeKind
    account_masked: str
    holder_masked: str
    updated_at: datetime
