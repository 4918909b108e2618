"""Withdrawal rules as pure code: the fee and the reasons a request is refused."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MIN_WITHDRAWAL_FEN = 100  # ¥1.00
BP_SCALE = 10_000


@dataclass(frozen=True)
class PayoutRules:
    """A program's withdrawal terms."""

    min_withdrawal_fen: int = DEFAULT_MIN_WITHDRAWAL_FEN
    fee_fixed_fen: int = 0
    fee_bp: int = 0


def fee(rules: PayoutRules, amount_fen: int) -> int:
    """The fee kept from a withdrawal: the fixed part plus floor(amount × fee_bp / 10^4)."""
    return rules.fee_fixed_fen + amount_fen * rules.fee_bp // BP_SCALE


def refusal(rules: PayoutRules, amount_fen: int, available_fen: int | None = None) -> tuple[str, str] | None:
    """(code, message) when a withdrawal of ``amount_fen`` may not be requested, else None."""
    if amount_fen <= 0:
        return "invalid_amount", "The amount must be positive. 提现金额必须大于 0。"
    if amount_fen < rules.min_withdrawal_fen:
        return (
            "below_minimum",
            f"The smallest withdrawal is {rules.min_withdrawal_fen} fen. 低于最低提现金额。",
        )
    if fee(rules, amount_fen) >= amount_fen:
        return "fee_exceeds_amount", "The fee would take the whole amount. 手续费不低于提现金额。"
    if available_fen is not None and amount_fen > available_fen:
        return (
            "insufficient_balance",
            f"Only {max(available_fen, 0)} fen are available. 可提现余额不足。",
        )
    return None
