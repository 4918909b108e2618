"""How the feed ranks a day's campaign products (pure): what the member earns and what sells.

score = expected commission per 100 clicks (estimated commission × conversion)
      + coupon depth (bp of the app price the coupon takes off) / 5
      + freshness (up to 72 points for a campaign that started in the last 72 hours) × 10

Conversion is the campaign's in comparable groups: orders per click through its links in the program's
groups of the member's size band (the band of the median latest count of the member's own groups),
smoothed toward the campaign's conversion in every group, itself smoothed toward a 3% prior; each
prior is worth 50 clicks, so a new campaign is neither buried nor crowned by its first clicks, and a
campaign that sells in groups of 400 but not in groups of 40 ranks by what it does in groups like
the member's. A member without counted groups sees the conversion in every group.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

BP = 10_000
PRIOR_CONVERSION_BP = 300
PRIOR_CLICKS = 50
FRESH_HOURS = 72
# Member-count bounds of the size bands: under 100, 100–249, 250–399, 400 and more.
SIZE_BANDS = (100, 250, 400)


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
    peer_clicks: int = 0
    peer_orders: int = 0


def coupon_depth_bp(price_fen: int, group_price_fen: int) -> int:
    """The share of the app price the coupon takes off, in bp."""
    if price_fen <= 0:
        return 0
    return (price_fen - group_price_fen) * BP // price_fen


def conversion_bp(clicks: int, orders: int) -> int:
    """Orders per click in bp, smoothed toward the prior."""
    return (orders * BP + PRIOR_CONVERSION_BP * PRIOR_CLICKS) // (clicks + PRIOR_CLICKS)


def size_band(member_count: int) -> int:
    """The size band of a group with ``member_count`` members (0 = the smallest)."""
    return bisect_right(SIZE_BANDS, member_count)


def band_range(band: int) -> tuple[int, int | None]:
    """The member counts of a band: from (inclusive), to (exclusive, None for the largest)."""
    low = SIZE_BANDS[band - 1] if band > 0 else 0
    return low, SIZE_BANDS[band] if band < len(SIZE_BANDS) else None


def typical_band(member_counts: Sequence[int]) -> int | None:
    """The band of the median (the lower middle one) of a member's groups' counts; None without any."""
    if not member_counts:
        return None
    ordered = sorted(member_counts)
    return size_band(ordered[(len(ordered) - 1) // 2])


def peer_conversion_bp(peer_clicks: int, peer_orders: int, overall_bp: int) -> int:
    """Orders per click in comparable groups, in bp, smoothed toward the conversion in every group."""
    return (peer_orders * BP + overall_bp * PRIOR_CLICKS) // (peer_clicks + PRIOR_CLICKS)


def conversion(c: Candidate) -> int:
    """The conversion a candidate is ranked by, in bp."""
    return peer_conversion_bp(c.peer_clicks, c.peer_orders, conversion_bp(c.clicks, c.orders))


def freshness(starts_at: datetime, at: datetime) -> int:
    """72 points at the start, one fewer per hour, never below 0."""
    hours = int((at - starts_at).total_seconds() // 3600)
    return max(0, FRESH_HOURS - max(0, hours))


def score(c: Candidate, at: datetime) -> int:
    """The ranking score of a candidate at ``at`` (higher first)."""
    expected = c.est_commission_fen * conversion(c) // 100
    return expected + coupon_depth_bp(c.price_fen, c.group_price_fen) // 5 + freshness(c.starts_at, at) * 10


def rank(candidates: Sequence[Candidate], at: datetime) -> list[Candidate]:
    """Highest score first; ties by campaign and the campaign's own order."""
    return sorted(candidates, key=lambda c: (-score(c, at), c.campaign_id, c.position))
