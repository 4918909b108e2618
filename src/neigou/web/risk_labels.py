"""Labels of the risk review queue: rules, case statuses, severities, errors, thresholds
(``label("rk_rule", c.rule)``)."""

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

rk_threshold: dict[str, Label] = {
    "brushing_min_orders": N_("Order brushing: orders within the window"),
    "brushing_max_paid_fen": N_("Order brushing: most paid per order"),
    "brushing_window_minutes": N_("Order brushing: window"),
    "brushing_refunded_min_orders": N_("Order brushing: orders refunded in full after a tier upgrade"),
    "hoarding_min_refs": N_("Coupon hoarding: customers behind one visitor"),
    "ring_min_shared": N_("Invite ring: recruits sharing a device"),
    "ring_burst_joins": N_("Invite ring: recruits who join in a burst and never buy"),
    "ring_burst_hours": N_("Invite ring: burst window"),
    "refund_abuse_min_orders": N_("Refund abuse: released orders, at least"),
    "refund_abuse_min_refunds": N_("Refund abuse: refunds after release, at least"),
    "refund_abuse_min_rate_bp": N_("Refund abuse: lowest refund rate"),
    "refund_abuse_factor_bp": N_("Refund abuse: times the program's refund rate"),
    "lookback_days": N_("Scans look back"),
}

FAMILIES: dict[str, dict[str, Label]] = {
    "rk_rule": rk_rule,
    "rk_status": rk_status,
    "rk_severity": rk_severity,
    "rk_error": rk_error,
    "rk_threshold": rk_threshold,
}
