"""Pure program rules: legal depth of paid levels, tier-ladder validation, invite loops.

No I/O here: these functions take plain values and are tested exhaustively.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from neigou.kit.i18n import Message
from neigou.kit.money import BP_SCALE

# China's rules against pyramid selling (and the chat platforms' own rules) make more than
# three paid levels illegal or banned; a program may pay at most this many.
MAX_LEGAL_LEVELS = 3
METRICS = frozenset({"direct_recruits", "orders", "gmv_fen"})
# A keep rule looks back at most a year of consecutive periods.
MAX_KEEP_PERIODS = 12


@dataclass(frozen=True)
class UpgradeCondition:
    """One condition of an upgrade rule: ``metric >= gte`` (recruits optionally at a tier or higher)."""

    metric: str
    gte: int
    tier: str | None = None


@dataclass(frozen=True)
class KeepRule:
    """A tier's keep rule: falling short of ``conditions`` for ``periods`` consecutive periods drops a tier."""

    periods: int
    conditions: Sequence[UpgradeCondition]


@dataclass(frozen=True)
class TierRule:
    """A tier as the ladder validation sees it."""

    code: str
    rank: int
    share_bp: int
    override_bp: int
    upgrade: Sequence[UpgradeCondition] = field(default_factory=tuple)
    keep: KeepRule | None = None


@dataclass(frozen=True)
class LadderProblem:
    """Why a ladder is refused: a stable code and a sentence for people."""

    code: str
    message: Message
    tier: str | None = None


def levels_problem(max_levels: int) -> LadderProblem | None:
    """A problem when ``max_levels`` is outside 1..3."""
    if 1 <= max_levels <= MAX_LEGAL_LEVELS:
        return None
    return LadderProblem(
        "too_many_levels" if max_levels > MAX_LEGAL_LEVELS else "invalid_max_levels",
        Message(
            "max_levels must be between 1 and {max_legal_levels}: multi-level distribution beyond {max_legal_levels} paid levels is pyramid selling under Chinese law and banned by chat platforms.",
            max_legal_levels=MAX_LEGAL_LEVELS,
        ),
    )


def ladder_problems(tiers: Sequence[TierRule], *, max_levels: int) -> list[LadderProblem]:
    """Everything wrong with a ladder; empty when it may be stored."""
    problems: list[LadderProblem] = []
    codes = [t.code for t in tiers]
    ranks = [t.rank for t in tiers]
    if not tiers:
        problems.append(LadderProblem("empty_ladder", Message("A ladder needs at least one tier.")))
    if len(set(codes)) != len(codes):
        problems.append(LadderProblem("duplicate_tier_code", Message("Tier codes must be unique.")))
    if len(set(ranks)) != len(ranks):
        problems.append(LadderProblem("duplicate_tier_rank", Message("Tier ranks must be unique.")))
    for tier in tiers:
        if not (0 <= tier.share_bp <= BP_SCALE and 0 <= tier.override_bp <= BP_SCALE):
            problems.append(
                LadderProblem(
                    "rate_out_of_range",
                    Message("{tier}: rates are 0–10000 bp.", tier=tier.code),
                    tier.code,
                )
            )
        if max_levels == 1 and tier.override_bp > 0:
            problems.append(
                LadderProblem(
                    "override_without_levels",
                    Message("{tier}: the program pays one level only, so no override.", tier=tier.code),
                    tier.code,
                )
            )
        for cond in tier.upgrade:
            problems.extend(_condition_problems(tier.code, cond, set(codes)))
        if tier.keep is not None:
            problems.extend(_keep_problems(tier, tiers, set(codes)))
    if tiers and not problems:
        worst = max(t.share_bp for t in tiers) + (max_levels - 1) * max(t.override_bp for t in tiers)
        if worst > BP_SCALE:
            problems.append(
                LadderProblem(
                    "shares_exceed_pool",
                    Message(
                        "The seller's share plus {uplines} upline override(s) can reach {worst} bp, more than the whole commission pool (10000 bp).",
                        uplines=max_levels - 1,
                        worst=worst,
                    ),
                    # Shown beside the best-paid seller's tier, the usual culprit.
                    max(tiers, key=lambda t: t.share_bp).code,
                )
            )
    return problems


def _keep_problems(tier: TierRule, tiers: Sequence[TierRule], codes: set[str]) -> list[LadderProblem]:
    keep = tier.keep
    assert keep is not None
    found: list[LadderProblem] = []
    if not 1 <= keep.periods <= MAX_KEEP_PERIODS:
        found.append(
            LadderProblem(
                "keep_periods_out_of_range",
                Message(
                    "{tier}: a keep rule looks back 1–{max_keep_periods} periods.",
                    tier=tier.code,
                    max_keep_periods=MAX_KEEP_PERIODS,
                ),
                tier.code,
            )
        )
    if not keep.conditions:
        found.append(
            LadderProblem(
                "empty_keep_rule",
                Message("{tier}: a keep rule needs a condition.", tier=tier.code),
                tier.code,
            )
        )
    if all(other.rank >= tier.rank for other in tiers):
        found.append(
            LadderProblem(
                "keep_on_lowest_tier",
                Message(
                    "{tier}: the lowest tier has nowhere to drop to, so it cannot have a keep rule.",
                    tier=tier.code,
                ),
                tier.code,
            )
        )
    for cond in keep.conditions:
        found.extend(_condition_problems(tier.code, cond, codes))
    return found


def _condition_problems(code: str, cond: UpgradeCondition, codes: set[str]) -> list[LadderProblem]:
    found: list[LadderProblem] = []
    if cond.metric not in METRICS:
        found.append(
            LadderProblem(
                "unknown_metric",
                Message("An upgrade condition names an unknown metric."),
                code,
            )
        )
    if cond.gte < 0:
        found.append(
            LadderProblem("negative_threshold", Message("{code}: thresholds are ≥ 0.", code=code), code)
        )
    if cond.tier is not None:
        if cond.metric != "direct_recruits":
            found.append(
                LadderProblem(
                    "tier_on_wrong_metric",
                    Message("{code}: 'tier' only qualifies direct_recruits.", code=code),
                    code,
                )
            )
        elif cond.tier not in codes:
            found.append(
                LadderProblem(
                    "unknown_tier",
                    Message("An upgrade condition's tier is not in this ladder."),
                    code,
                )
            )
    return found


def would_loop(member_id: int, inviter_id: int, inviter_upline: Sequence[int]) -> bool:
    """True when binding ``member_id`` under ``inviter_id`` makes a cycle in the invite tree.

    ``inviter_upline`` is the chain above the inviter (its inviter, that one's inviter, …).
    """
    return member_id == inviter_id or member_id in inviter_upline
