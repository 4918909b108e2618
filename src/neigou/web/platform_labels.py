"""Labels of the platform order feeds and their reconciliation: platforms, order statuses and the
cause of a difference (``label("pf_cause", row.cause)``)."""

from __future__ import annotations

from neigou.kit.i18n import N_, NP_, Label

pf_platform: dict[str, Label] = {
    "jd_union": N_("JD Union"),
    "pdd": N_("Duoduo Jinbao"),
    "taobao": N_("Taobao Union"),
}
pf_status: dict[str, Label] = {
    "unpaid": N_("Awaiting payment"),
    "paid": NP_("platform order", "Paid"),
    "completed": NP_("platform order", "Completed"),
    "settled": NP_("platform order", "Settled"),
    "invalid": NP_("platform order", "Invalid"),
}
pf_cause: dict[str, Label] = {
    "missing": N_("Missing in neigou"),
    "missing_line": N_("Line missing in neigou"),
    "amount": N_("Amount differs"),
    "status": N_("Status differs"),
    # the console's filter: the agreeing orders, every difference
    "none": N_("No difference"),
    "differing": N_("Any difference"),
}

FAMILIES: dict[str, dict[str, Label]] = {
    "pf_platform": pf_platform,
    "pf_status": pf_status,
    "pf_cause": pf_cause,
}
