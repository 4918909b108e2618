"""How a customer's suggestions are scored (pure): what fits their taste, purse and history.

score = 30 per taste tag the product shares with the customer (at most 3 counted)
      + 40 when the product's category is one the customer buys
      + price fit to the spending power: +40 in their band, 0 one band away, -60 two bands away
      + 15 per customer who bought it together with something this customer bought (at most 6)
      + new season: 40 on the day it was added, falling to 10 by day 30
      + 35 when it is in a live campaign of the merchant whose coupon is not sold out

A product qualifies only with a reason of interest (taste, category, bought together, new season,
campaign): a price that fits is no reason by itself. Products the customer bought through the
salesperson in the last ``JUST_BOUGHT_DAYS`` days and products off sale never reach the scoring (the
signals leave them out; ``crm.signals.purchases`` reads only the salesperson's own sales).
Every point comes with the sentence that explains it, in the reader's language when shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from neigou.kit.i18n import Message

POWERS = ("low", "mid", "high")
TAG_POINTS = 30
MAX_TAGS = 3
CATEGORY_POINTS = 40
PRICE_FIT_POINTS = 40
PRICE_MISFIT_POINTS = -60
CO_BUYER_POINTS = 15
MAX_CO_BUYERS = 6
NEW_DAYS = 30
NEW_MAX_POINTS = 40
NEW_MIN_POINTS = 10
CAMPAIGN_POINTS = 35
JUST_BOUGHT_DAYS = 30
TAG_SEPARATOR = " / "

_FIT_REASONS = {
    "low": Message("Priced for a careful spender"),
    "mid": Message("Priced for a mid-range spender"),
    "high": Message("Priced for a big spender"),
}


def normal_tag(tag: str) -> str:
    """A tag as it is compared: trimmed, case folded."""
    return tag.strip().casefold()


@dataclass(frozen=True)
class Profile:
    """The customer as the scoring sees them."""

    tags: frozenset[str]
    preferred_categories: frozenset[str]  # category codes
    spending_power: str | None


@dataclass(frozen=True)
class PriceBands:
    """The program's catalog split in three by price: low up to ``low_max_fen``, high above ``mid_max_fen``."""

    low_max_fen: int
    mid_max_fen: int

    def band(self, price_fen: int) -> int:
        """0 low, 1 mid, 2 high."""
        if price_fen <= self.low_max_fen:
            return 0
        return 1 if price_fen <= self.mid_max_fen else 2


@dataclass(frozen=True)
class Candidate:
    """A product on sale with the signals gathered for one customer."""

    sku: str
    title: str
    price_fen: int
    category: str | None  # the category's code
    tags: frozenset[str]
    added_at: datetime
    category_name: str | None = None
    co_buyers: int = 0
    bought_with: str | None = None
    campaign: str | None = None


@dataclass(frozen=True)
class Suggestion:
    """A scored product and why."""

    sku: str
    score: int
    reasons: tuple[Message, ...]


def price_bands(prices: Sequence[int]) -> PriceBands:
    """Terciles of ``prices`` (nearest rank); an empty catalog puts everything in the middle band."""
    if not prices:
        return PriceBands(low_max_fen=-1, mid_max_fen=2**62)
    ordered = sorted(prices)
    n = len(ordered)
    return PriceBands(low_max_fen=ordered[(n - 1) // 3], mid_max_fen=ordered[(2 * (n - 1)) // 3])


def new_season_points(added_at: datetime, at: datetime) -> int:
    """40 on the day the product was added, a point less per day, 10 on day 30, then 0."""
    days = (at - added_at).days
    if days < 0 or days >= NEW_DAYS:
        return 0
    return NEW_MIN_POINTS + (NEW_MAX_POINTS - NEW_MIN_POINTS) * (NEW_DAYS - days) // NEW_DAYS


def score(profile: Profile, candidate: Candidate, bands: PriceBands, at: datetime) -> Suggestion | None:
    """The candidate's score and reasons for ``profile``, or None when nothing recommends it."""
    points = 0
    reasons: list[Message] = []
    wanted = {normal_tag(t) for t in profile.tags}
    shared = sorted({normal_tag(t) for t in candidate.tags} & wanted)
    if shared:
        points += TAG_POINTS * min(len(shared), MAX_TAGS)
        reasons.append(Message("Matches their taste: {tags}", tags=TAG_SEPARATOR.join(shared)))
    if candidate.category is not None and candidate.category in profile.preferred_categories:
        points += CATEGORY_POINTS
        name = candidate.category_name or candidate.category
        reasons.append(Message("A category they buy: {category}", category=name))
    if candidate.co_buyers > 0 and candidate.bought_with is not None:
        points += CO_BUYER_POINTS * min(candidate.co_buyers, MAX_CO_BUYERS)
        reasons.append(
            Message(
                "Bought together with {title} by {n} customers",
                title=candidate.bought_with,
                n=candidate.co_buyers,
            )
        )
    fresh = new_season_points(candidate.added_at, at)
    if fresh:
        points += fresh
        reasons.append(Message("New this season"))
    if candidate.campaign is not None:
        points += CAMPAIGN_POINTS
        reasons.append(Message("In the merchant's campaign {name}", name=candidate.campaign))
    if not reasons:
        return None
    if profile.spending_power in POWERS:
        distance = abs(bands.band(candidate.price_fen) - POWERS.index(profile.spending_power))
        if distance == 0:
            points += PRICE_FIT_POINTS
            reasons.append(_FIT_REASONS[profile.spending_power])
        elif distance == 2:
            points += PRICE_MISFIT_POINTS
    if points <= 0:
        return None
    return Suggestion(sku=candidate.sku, score=points, reasons=tuple(reasons))


def recommend(
    profile: Profile, candidates: Iterable[Candidate], bands: PriceBands, at: datetime, *, limit: int
) -> list[Suggestion]:
    """The best ``limit`` suggestions, highest score first (ties by sku)."""
    scored = [s for s in (score(profile, c, bands, at) for c in candidates) if s is not None]
    scored.sort(key=lambda s: (-s.score, s.sku))
    return scored[:limit]
