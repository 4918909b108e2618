"""Commission maths as pure code: who earns what on an order, and what a refund takes back.

* The pool of a line is ``paid_fen × commission_rate_bp / 10^4``, or, where the sku has a fixed
  commission, ``fixed_commission_fen × quantity`` (never more than the line paid).
* The seller (level 1) earns their tier's ``share_bp`` of the pool; each upline (levels 2 … max_levels)
  their own tier's ``override_bp``. Each amount is ``floor(paid_fen × rate_bp × bp / 10^8)`` per line
  (``floor(pool × bp / 10^4)`` for a fixed pool), summed per member and level; the rest stays with the
  platform.
* An order attributed to nobody pays nothing. A self-purchase pays the seller nothing when the program
  says so; the uplines still earn their override (they brought the buyer into the team).
* After refunds totalling R of paid P, a commission of original amount A is worth
  ``A − floor(A × R / P)``.
* A refund that names its line (a platform's line, whose pool is that line's own fee) takes back per
  line instead: a commission's share ``s`` of a line that paid ``P_l`` is worth ``s − floor(s × R_l / P_l)``
  after refunds ``R_l`` of that line (``line_reversal``), so a line without fee takes back nothing and
  a line that carried the whole fee takes back all of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

BP = 10_000
MAX_LEVELS = 3


@dataclass(frozen=True)
class Line:
    """A paid line's commission terms."""

    paid_fen: int
    quantity: int
    commission_rate_bp: int
    fixed_commission_fen: int | None = None
    platform_pool_fen: int | None = None

    @property
    def pool_fen(self) -> int:
        """The line's commission pool in whole fen (the exact pool may carry a fraction)."""
        return pool_of(
            self.paid_fen,
            self.quantity,
            self.commission_rate_bp,
            self.fixed_commission_fen,
            self.platform_pool_fen,
        )

    def share(self, bp: int) -> int:
        """``floor(pool × bp)`` computed exactly, without rounding the pool first."""
        pooled = self.platform_pool_fen is not None or self.fixed_commission_fen is not None
        return share_of(self.paid_fen, self.commission_rate_bp, self.pool_fen if pooled else None, bp)


def share_of(paid_fen: int, rate_bp: int, pool_fen: int | None, bp: int) -> int:
    """``bp`` of a line's commission: of its whole-fen ``pool_fen`` when the pool is given (a platform's
    fee or a fixed commission), else ``floor(paid × rate × bp / 10^8)``, exactly, without rounding the
    rate's pool first."""
    if pool_fen is not None:
        return pool_fen * bp // BP
    return paid_fen * rate_bp * bp // (BP * BP)


def pool_of(
    paid_fen: int,
    quantity: int,
    rate_bp: int,
    fixed_commission_fen: int | None,
    platform_pool_fen: int | None,
) -> int:
    """A line's commission pool in whole fen: the platform's fee, else the fixed commission per unit
    (never more than the line paid), else the rate's share of what was paid, rounded down."""
    if platform_pool_fen is not None:
        return platform_pool_fen
    if fixed_commission_fen is not None:
        return min(fixed_commission_fen * quantity, paid_fen)
    return paid_fen * rate_bp // BP


@dataclass(frozen=True)
class Earner:
    """A member in the order's chain: level 1 is the seller, 2 and 3 their uplines."""

    member_id: int
    level: int
    tier_code: str | None
    bp: int


@dataclass(frozen=True)
class Earning:
    """What one member earns at one level."""

    member_id: int
    level: int
    tier_code: str | None
    bp: int
    amount_fen: int


def earners(
    *,
    seller: tuple[int, str | None, int] | None,
    uplines: Sequence[tuple[int, str | None, int]],
    max_levels: int,
    self_purchase: bool,
    self_purchase_commission: bool,
) -> list[Earner]:
    """The chain that earns: (member, tier, share_bp) of the seller, (member, tier, override_bp) above."""
    if seller is None:
        return []
    if not 1 <= max_levels <= MAX_LEVELS:
        raise ValueError("max_levels must be 1-3")
    chain: list[Earner] = []
    if not (self_purchase and not self_purchase_commission):
        chain.append(Earner(seller[0], 1, seller[1], seller[2]))
    for level, (member_id, tier, bp) in enumerate(uplines[: max_levels - 1], start=2):
        chain.append(Earner(member_id, level, tier, bp))
    return chain


def compute(lines: Sequence[Line], chain: Sequence[Earner]) -> list[Earning]:
    """Per member and level, the sum of the per-line floors; zero amounts are left out."""
    out: list[Earning] = []
    for earner in chain:
        if earner.bp < 0 or earner.bp > BP:
            raise ValueError("bp must be 0-10000")
        amount = sum(line.share(earner.bp) for line in lines)
        if amount > 0:
            out.append(Earning(earner.member_id, earner.level, earner.tier_code, earner.bp, amount))
    return out


def worth_after_refunds(amount_fen: int, refunded_fen: int, paid_fen: int) -> int:
    """What a commission of ``amount_fen`` is worth after refunds of ``refunded_fen`` of ``paid_fen``."""
    if not 0 <= refunded_fen <= paid_fen:
        raise ValueError("refunds must lie between 0 and the paid amount")
    if paid_fen == 0:
        return amount_fen
    return amount_fen - amount_fen * refunded_fen // paid_fen


def reversal(amount_fen: int, reversed_fen: int, refunded_fen: int, paid_fen: int) -> int:
    """What a refund bringing the total refunded to ``refunded_fen`` takes back now (nothing when more
    was taken back already, as when a confirmed risk case reversed the whole commission)."""
    return max(0, amount_fen - worth_after_refunds(amount_fen, refunded_fen, paid_fen) - reversed_fen)


def line_reversal(share_fen: int, line_paid_fen: int, before_fen: int, after_fen: int) -> int:
    """What refunding a line from ``before_fen`` to ``after_fen`` of its ``line_paid_fen`` takes back of
    a commission's ``share_fen`` of it: ``floor(s × after / P_l) − floor(s × before / P_l)``, the
    difference of ``worth_after_refunds`` on the line alone (nothing for a line that paid 0)."""
    if not 0 <= before_fen <= after_fen <= line_paid_fen:
        raise ValueError("a line's refunds only grow, up to what it paid")
    return worth_after_refunds(share_fen, before_fen, line_paid_fen) - worth_after_refunds(
        share_fen, after_fen, line_paid_fen
    )


V = TypeVar("V")


def as_of(periods: Sequence[tuple[datetime, V]], at: datetime, fallback: V) -> V:
    """The value in effect at ``at`` from (effective_from, value) periods sorted oldest first.

    An instant before the first period falls back to the first period's value (the one the member
    joined with); a member without history keeps ``fallback``.
    """
    if not periods:
        return fallback
    current = periods[0][1]
    for effective_from, value in periods:
        if effective_from <= at:
            current = value
        else:
            break
    return current


def changes_within(periods: Sequence[tuple[datetime, object]], start: datetime, end: datetime) -> bool:
    """Whether ``as_of`` may answer differently for two instants of ``[start, end]``: a period after the
    first begins in ``(start, end]``."""
    return any(start < effective_from <= end for effective_from, _ in periods[1:])


def tier_at(periods: Sequence[tuple[datetime, str]], at: datetime, fallback: str | None) -> str | None:
    """The tier held at ``at`` (``as_of`` of the member's tier periods)."""
    return as_of(periods, at, fallback)
