"""Labels of the merchant portal and the review queue (``label("mr_status", r.status.value)``)."""

from __future__ import annotations

from neigou.kit.i18n import N_, NP_, Label

mr_status: dict[str, Label] = {
    "pending": NP_("review status", "Pending"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
}
mr_kind: dict[str, Label] = {
    "coupon": N_("New coupon"),
    "commission_rate": N_("Commission change"),
}
ms_by: dict[str, Label] = {
    "day": N_("By day"),
    "group": N_("By group"),
    "program": N_("By program"),
}

FAMILIES: dict[str, dict[str, Label]] = {"mr_status": mr_status, "mr_kind": mr_kind, "ms_by": ms_by}
