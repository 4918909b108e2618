"""Labels of the risk review queue: rules, case statuses, severities, errors (``label("rk_rule", c.rule)``)."""

from __future__ import annotations

from neigou.kit.i18n import N_, NP_, Label

rk_rule: dict[str, Label] = {
    "order_brushing": N_("Order brushing"),
    "coupon_hoarding": N_("Coupon hoarding"),
    "shared_identity": N_("Shared identity"),
    "invite_ring": N_("Invite ring"),
    "refund_abuse": N_("Refund abuse"),
    "padded_group": N_("Padded group"),
}

rk_status: dict[str, Label] = {
    "open": NP_("risk case", "Open"),
    "cleared": N_("Cleared"),
    "confirmed": N_("Confirmed"),
}

rk_severity: dict[str, Label] = {
    "low": N_("Low"),
    "medium": N_("Medium"),
    "high": N_("High"),
}

rk_error: dict[str, Label] = {
    "bad_decision": N_("Choose clear or confirm for an existing case."),
}

FAMILIES: dict[str, dict[str, Label]] = {
    "rk_rule": rk_rule,
    "rk_status": rk_status,
    "rk_severity": rk_severity,
    "rk_error": rk_error,
}
