"""How the feed ranks a day's campaign products (pure): what the member earns and what sells.

score = expected commission per 100 clicks (estimated commission × conversion)
      + coupon depth (bp of the app price the coupon takes off) / 5
      + freshness (up to 72 points for a campaign that started in the last 72 hours) × 10

Conversion is orders per click through the campaign's links in the program's groups, smoothed toward
a 3% prior worth 50 clicks so that a new campaign is neither buried nor crowned by its first clicks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

BP = 10_000
PRIOR_CONVERSION_BP = 300
PRIOR_CLICKS = 50
FRESH_HOURS = 72


@dataclass(frozen=True)
class Candidate:
    """A campaign product as the ranking sees it."""

    campaign_id: int
    position: int
    price_fen: int
    group_price_fen: int
    est_commission_fen: int
    clicks: int
    orders: int
    starts_at: datetime


def coupon_depth_bp(price_fen: int, group_price_fen: int) -> int:
    """The share of the app price the coupon takes off, in bp."""
    if price_fen <= 0:
        return 0
    return (price_fen - group_price_fen) * BP // price_fen


def conversion_bp(clicks: int, orders: int) -> int:
    """Orders per click in bp, smoothed toward the prior."""
    return (orders * BP + PRIOR_CONVERSION_BP * PRIOR_CLICKS) // (clicks + PRIOR_CLICKS)


def freshness(starts_at: datetime, at: datetime) -> int:
    """72 points at the start, one fewer per hour, never below 0."""
    hours = int((at - starts_at).total_seconds() // 3600)
    return max(0, FRESH_HOURS - max(0, hours))


def score(c: Candidate, at: datetime) -> int:
    """The ranking score of a candidate at ``at`` (higher first)."""
    expected = c.est_commission_fen * conversion_bp(c.clicks, c.orders) // 100
    return expected + coupon_depth_bp(c.price_fen, c.group_price_fen) // 5 + freshness(c.starts_at, at) * 10


def rank(candidates: Sequence[Candidate], at: datetime) -> list[Candidate]:
    """Highest score first; ties by campaign and the campaign's own order."""
    return sorted(candidates, key=lambda c: (-score(c, at), c.campaign_id, c.position))
