"""Labels of commissions and withdrawals: accounts, movements as the console and a member read them,
levels, states, payees and the withdrawal form's refusals (``label("o_kind", m.kind.value)``)."""

from __future__ import annotations

from neigou.kit.i18n import N_, NP_, Label

o_account: dict[str, Label] = {
    "pending": N_("Pending"),
    "frozen": N_("Frozen"),
    "available": N_("Available"),
    "withdrawing": N_("Being withdrawn"),
    "withdrawn": N_("Withdrawn"),
    "commission_expense": N_("Platform commission expense"),
    "payout_fees": N_("Withdrawal fees"),
}
o_kind: dict[str, Label] = {
    "commission_earned": N_("Order commission"),
    "commission_frozen": N_("Order completed, commission frozen"),
    "commission_released": N_("Freeze over, commission available"),
    "commission_reversed": N_("Refund, commission reversed"),
    "withdrawal_requested": N_("Withdrawal requested"),
    "withdrawal_rejected": N_("Withdrawal rejected, returned"),
    "withdrawal_paid": N_("Withdrawal paid"),
}
m_kind: dict[str, Label] = {  # a movement as a member reads it on their phone
    "commission_earned": N_("Earned"),
    "commission_frozen": N_("Frozen: order completed"),
    "commission_released": N_("Available: freeze over"),
    "commission_reversed": N_("Clawed back: refund"),
    "withdrawal_requested": N_("Withdrawal requested"),
    "withdrawal_rejected": N_("Withdrawal returned"),
    "withdrawal_paid": N_("Withdrawn"),
}
o_level: dict[str, Label] = {
    "1": N_("Own sale"),
    "2": N_("Upline 1"),
    "3": N_("Upline 2"),
}
o_state: dict[str, Label] = {
    "pending": N_("Pending"),
    "frozen": N_("Frozen"),
    "available": N_("Released"),
    "reversed": N_("Reversed (fully refunded)"),
}
o_status: dict[str, Label] = {
    "requested": N_("Requested"),
    "approved": N_("Approved"),
    "paid": NP_("payout status", "Paid"),
    "rejected": N_("Rejected"),
}
o_error: dict[str, Label] = {
    "insufficient_balance": N_("Not enough available balance."),
    "below_minimum": N_("Below the minimum withdrawal."),
    "fee_exceeds_amount": N_("The fee would take the whole amount."),
    "invalid_amount": N_("Enter a valid amount."),
    "invalid_account": N_("That is not an account of this kind: check the number."),
    "invalid_holder": N_("Enter the account holder's name."),
    "blank_name": N_("A name is required: white space and invisible characters alone are none."),
    "request_id_reused": N_("This request was sent already."),
    "withdrawal_before_available": N_(
        "Part of this balance is not available yet; please try again in a few minutes."
    ),
}
payee_kind: dict[str, Label] = {
    "wechat": N_("WeChat"),
    "alipay": N_("Alipay"),
    "bank_card": N_("Bank card"),
}

FAMILIES: dict[str, dict[str, Label]] = {
    "o_account": o_account,
    "o_kind": o_kind,
    "m_kind": m_kind,
    "o_level": o_level,
    "o_state": o_state,
    "o_status": o_status,
    "o_error": o_error,
    "payee_kind": payee_kind,
}
