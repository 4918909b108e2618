"""Each program's rule thresholds, with the documented defaults (pure: no I/O)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Thresholds:
    """When each rule opens a case. Money in fen, rates in basis points, windows as named.

    Defaults: ``order_brushing`` opens when one member's links bring ≥ 10 orders of ≤ ¥5 paid
    each within 1 hour (or ≥ 3 orders paid in the month before a tier upgrade are refunded in
    full after it); ``coupon_hoarding`` when one visitor claims one coupon under ≥ 5 customer
    references; ``invite_ring`` when ≥ 2 of one inviter's recruits share a device, or
    ≥ 10 recruits who never buy join within 24 hours; ``refund_abuse`` when ≥ 3 of a member's
    ≥ 5 released orders are refunded after release and that rate is ≥ 20% and ≥ 3× the
    program's. Scans look back 35 days.
    """

    brushing_min_orders: int = 10
    brushing_max_paid_fen: int = 500
    brushing_window_minutes: int = 60
    brushing_refunded_min_orders: int = 3
    hoarding_min_refs: int = 5
    ring_min_shared: int = 2
    ring_burst_joins: int = 10
    ring_burst_hours: int = 24
    refund_abuse_min_orders: int = 5
    refund_abuse_min_refunds: int = 3
    refund_abuse_min_rate_bp: int = 2000
    refund_abuse_factor_bp: int = 30000
    lookback_days: int = 35


class Unit(enum.StrEnum):
    """What a threshold counts, so screens show and read it as people do: money in yuan, rates in
    percent, a factor as a multiple, windows in their own unit."""

    COUNT = "count"
    FEN = "fen"
    BP = "bp"
    FACTOR_BP = "factor_bp"  # a multiple in basis points: 30000 is 3×
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"


DEFAULTS = Thresholds()
NAMES = tuple(f.name for f in fields(Thresholds))
UNITS: dict[str, Unit] = {
    "brushing_min_orders": Unit.COUNT,
    "brushing_max_paid_fen": Unit.FEN,
    "brushing_window_minutes": Unit.MINUTES,
    "brushing_refunded_min_orders": Unit.COUNT,
    "hoarding_min_refs": Unit.COUNT,
    "ring_min_shared": Unit.COUNT,
    "ring_burst_joins": Unit.COUNT,
    "ring_burst_hours": Unit.HOURS,
    "refund_abuse_min_orders": Unit.COUNT,
    "refund_abuse_min_refunds": Unit.COUNT,
    "refund_abuse_min_rate_bp": Unit.BP,
    "refund_abuse_factor_bp": Unit.FACTOR_BP,
    "lookback_days": Unit.DAYS,
}


def merged(stored: Mapping[str, Any] | None) -> Thresholds:
    """The defaults with a program's stored values on top (unknown keys are ignored)."""
    if not stored:
        return DEFAULTS
    return replace(DEFAULTS, **{k: int(v) for k, v in stored.items() if k in NAMES})


def as_dict(thresholds: Thresholds) -> dict[str, int]:
    """Every threshold by name."""
    return asdict(thresholds)
