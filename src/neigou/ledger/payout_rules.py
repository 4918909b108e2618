"""Withdrawal rules as pure code: the fee and the reasons a request is refused."""

from __future__ import annotations

from dataclasses import dataclass

from neigou.kit.i18n import Message

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


def refusal(
    rules: PayoutRules, amount_fen: int, available_fen: int | None = None
) -> tuple[str, Message] | None:
    """(code, message) when a withdrawal of ``amount_fen`` may not be requested, else None."""
    if amount_fen <= 0:
        return "invalid_amount", Message("The amount must be positive.")
    if amount_fen < rules.min_withdrawal_fen:
        return (
            "below_minimum",
            Message("The smallest withdrawal is {minimum_fen} fen.", minimum_fen=rules.min_withdrawal_fen),
        )
    if fee(rules, amount_fen) >= amount_fen:
        return "fee_exceeds_amount", Message("The fee would take the whole amount.")
    if available_fen is not None and amount_fen > available_fen:
        return (
            "insufficient_balance",
            Message("Only {available} fen are available.", available=max(available_fen, 0)),
        )
    return None
