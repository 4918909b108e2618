"""Tier rules as pure code: who climbs, who drops, and what is still missing for the next tier.

* Upgrade: every condition of a tier's rule must hold over the period. A member climbs to the
  highest-ranked tier above their own whose rule holds (several rungs at once if earned); a tier
  without a rule is reached only by an operator.
* ``direct_recruits`` counts the member's recruits who joined during the period; with ``tier`` only
  those who hold that tier or a higher-ranked one at the period's end.
* Keep: a tier may carry ``keep: {periods: N, all: [...]}``. A member who holds the tier and falls
  short of the keep conditions in N consecutive periods drops one tier. An upgrade wins over a keep.
* Progress: the gaps to the next tier (the lowest-ranked tier above with a rule), in words.

No I/O here: ladders and metrics are plain values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from neigou.kit.money import format_yuan

DIRECT_RECRUITS = "direct_recruits"
ORDERS = "orders"
GMV_FEN = "gmv_fen"


@dataclass(frozen=True)
class Condition:
    """``metric >= gte`` over a period; ``tier`` narrows direct recruits to that tier or higher."""

    metric: str
    gte: int
    tier: str | None = None


@dataclass(frozen=True)
class Keep:
    """Missing ``conditions`` in ``periods`` consecutive periods drops the holder one tier."""

    periods: int
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class LadderTier:
    """A rung as evaluation sees it."""

    code: str
    name: str
    rank: int
    upgrade: tuple[Condition, ...] = ()
    keep: Keep | None = None


@dataclass(frozen=True)
class Metrics:
    """A member's figures over one period.

    ``recruits_by_tier`` counts recruits who joined in the period by the tier they hold at its end.
    """

    direct_recruits: int = 0
    recruits_by_tier: Mapping[str, int] = field(default_factory=dict)
    orders: int = 0
    gmv_fen: int = 0


@dataclass(frozen=True)
class Reason:
    """Why a tier changed: a stable code, the figures, and a sentence in English and Chinese."""

    code: str
    en: str
    zh: str
    metric: str | None = None
    tier: str | None = None
    actual: int | None = None
    required: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The stored and returned form."""
        return {
            "code": self.code,
            "metric": self.metric,
            "tier": self.tier,
            "actual": self.actual,
            "required": self.required,
            "en": self.en,
            "zh": self.zh,
        }


@dataclass(frozen=True)
class Decision:
    """A tier change decided for one member."""

    from_tier: str | None
    to_tier: str
    kind: str  # "upgrade" or "demotion"
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Gap:
    """One condition of the next tier: where the member stands and what is missing."""

    metric: str
    tier: str | None
    actual: int
    required: int

    @property
    def missing(self) -> int:
        """How much more is needed (0 when met)."""
        return max(0, self.required - self.actual)


@dataclass(frozen=True)
class Progress:
    """Progress toward ``target`` in the current period."""

    target: LadderTier
    gaps: tuple[Gap, ...]

    @property
    def met(self) -> bool:
        """Every condition holds already."""
        return all(g.missing == 0 for g in self.gaps)


def ladder_from_rows(rows: Iterable[tuple[str, str, int, Mapping[str, Any] | None]]) -> list[LadderTier]:
    """Stored tiers (code, name, rank, upgrade JSON) as a ladder, lowest rank first."""
    ladder = [
        LadderTier(
            code=code,
            name=name,
            rank=rank,
            upgrade=_conditions((upgrade or {}).get("all") or ()),
            keep=_keep((upgrade or {}).get("keep")),
        )
        for code, name, rank, upgrade in rows
    ]
    return sorted(ladder, key=lambda t: t.rank)


def _conditions(items: Iterable[Mapping[str, Any]]) -> tuple[Condition, ...]:
    return tuple(Condition(str(c["metric"]), int(c["gte"]), c.get("tier")) for c in items)


def _keep(raw: Mapping[str, Any] | None) -> Keep | None:
    if not raw:
        return None
    return Keep(periods=int(raw.get("periods", 1)), conditions=_conditions(raw.get("all") or ()))


def metric_value(ladder: Sequence[LadderTier], metrics: Metrics, cond: Condition) -> int:
    """The member's figure for one condition."""
    if cond.metric == DIRECT_RECRUITS:
        if cond.tier is None:
            return metrics.direct_recruits
        return _recruits_at_or_above(ladder, metrics.recruits_by_tier, cond.tier)
    if cond.metric == ORDERS:
        return metrics.orders
    if cond.metric == GMV_FEN:
        return metrics.gmv_fen
    return 0


def _recruits_at_or_above(ladder: Sequence[LadderTier], by_tier: Mapping[str, int], tier: str) -> int:
    if not by_tier:
        return 0  # most members recruited nobody this month
    ranks = {t.code: t.rank for t in ladder}
    floor = ranks.get(tier)
    if floor is None:
        return 0
    return sum(n for code, n in by_tier.items() if ranks.get(code, floor - 1) >= floor)


def holds(ladder: Sequence[LadderTier], metrics: Metrics, conditions: Sequence[Condition]) -> bool:
    """All conditions hold (an empty rule never does: it is no rule)."""
    return bool(conditions) and all(metric_value(ladder, metrics, c) >= c.gte for c in conditions)


def _tier_name(ladder: Sequence[LadderTier], code: str | None) -> str:
    return next((t.name for t in ladder if t.code == code), code or "")


def condition_reason(ladder: Sequence[LadderTier], cond: Condition, actual: int, code: str) -> Reason:
    """A sentence about one condition and the member's figure."""
    name = _tier_name(ladder, cond.tier)
    if cond.metric == DIRECT_RECRUITS and cond.tier is not None:
        en = f"Direct recruits at {name} or higher: {actual} (needs {cond.gte})."
        zh = f"直推{name}及以上 {actual} 人（要求 {cond.gte} 人）。"
    elif cond.metric == DIRECT_RECRUITS:
        en = f"Direct recruits: {actual} (needs {cond.gte})."
        zh = f"直推 {actual} 人（要求 {cond.gte} 人）。"
    elif cond.metric == ORDERS:
        en = f"Orders: {actual} (needs {cond.gte})."
        zh = f"订单 {actual} 单（要求 {cond.gte} 单）。"
    else:
        en = f"Sales: {format_yuan(actual)} (needs {format_yuan(cond.gte)})."
        zh = f"成交额 {format_yuan(actual)}（要求 {format_yuan(cond.gte)}）。"
    return Reason(code, en, zh, metric=cond.metric, tier=cond.tier, actual=actual, required=cond.gte)


def _rank(ladder: Sequence[LadderTier], code: str | None) -> int | None:
    return next((t.rank for t in ladder if t.code == code), None)


def upgrade_to(ladder: Sequence[LadderTier], current: str | None, metrics: Metrics) -> LadderTier | None:
    """The highest tier above ``current`` whose upgrade rule holds, if any."""
    rank = _rank(ladder, current)
    if current is not None and rank is None:
        return None  # a tier the ladder no longer knows: leave it to an operator
    # Highest first: the first rule that holds is the answer.
    for tier in sorted(ladder, key=lambda t: t.rank, reverse=True):
        if rank is not None and tier.rank <= rank:
            return None
        if holds(ladder, metrics, tier.upgrade):
            return tier
    return None


def decide(ladder: Sequence[LadderTier], current: str | None, history: Sequence[Metrics]) -> Decision | None:
    """The change for a member at ``current``, or None.

    ``history[0]`` holds the evaluated period's metrics; ``history[1:]`` the periods before it, most
    recent first, in each of which the member held ``current`` at the period's end (the caller stops
    at the first period they did not).
    """
    if not history:
        return None
    metrics = history[0]
    target = upgrade_to(ladder, current, metrics)
    if target is not None:
        reasons = tuple(
            condition_reason(ladder, c, metric_value(ladder, metrics, c), "upgrade_condition_met")
            for c in target.upgrade
        )
        return Decision(current, target.code, "upgrade", reasons)
    return _demotion(ladder, current, history)


def _demotion(
    ladder: Sequence[LadderTier], current: str | None, history: Sequence[Metrics]
) -> Decision | None:
    holder = next((t for t in ladder if t.code == current), None)
    if holder is None or holder.keep is None or not holder.keep.conditions:
        return None
    keep = holder.keep
    window = history[: keep.periods]
    if len(window) < keep.periods or any(holds(ladder, m, keep.conditions) for m in window):
        return None
    below = [t for t in ladder if t.rank < holder.rank]
    if not below:
        return None
    lower = max(below, key=lambda t: t.rank)
    missed = tuple(
        condition_reason(ladder, c, metric_value(ladder, history[0], c), "keep_condition_missed")
        for c in keep.conditions
        if metric_value(ladder, history[0], c) < c.gte
    )
    summary = Reason(
        "keep_rule_missed",
        f"Fell short of the {holder.name} keep rule for {keep.periods} consecutive month(s).",
        f"连续 {keep.periods} 个月未达到{holder.name}保级条件。",
        tier=holder.code,
        actual=keep.periods,
        required=keep.periods,
    )
    return Decision(current, lower.code, "demotion", (summary, *missed))


def next_tier(ladder: Sequence[LadderTier], current: str | None) -> LadderTier | None:
    """The lowest-ranked tier above ``current`` that evaluation can reach."""
    rank = _rank(ladder, current)
    if current is not None and rank is None:
        return None
    reachable = [t for t in ladder if t.upgrade and (rank is None or t.rank > rank)]
    return min(reachable, key=lambda t: t.rank) if reachable else None


def progress(ladder: Sequence[LadderTier], current: str | None, metrics: Metrics) -> Progress | None:
    """Where the member stands against the next tier's rule; None at the top."""
    target = next_tier(ladder, current)
    if target is None:
        return None
    gaps = tuple(Gap(c.metric, c.tier, metric_value(ladder, metrics, c), c.gte) for c in target.upgrade)
    return Progress(target, gaps)


def progress_text(ladder: Sequence[LadderTier], prog: Progress, locale: str) -> str:
    """``还差 3 位超级会员 · 12 单`` / ``3 more super members · 12 more orders``; a note when met."""
    english = locale == "en"
    if prog.met:
        if english:
            return f"All met: {prog.target.name} from next month."
        return f"已全部达标，下月起升为{prog.target.name}"
    parts: list[str] = []
    for gap in prog.gaps:
        if gap.missing == 0:
            continue
        name = _tier_name(ladder, gap.tier)
        if gap.metric == DIRECT_RECRUITS:
            if english:
                who = f"{name} recruit" if gap.tier else "direct recruit"
                parts.append(f"{gap.missing} more {who}{'s' if gap.missing != 1 else ''}")
            else:
                parts.append(f"{gap.missing} 位{name if gap.tier else '直推'}")
        elif gap.metric == ORDERS:
            parts.append(
                f"{gap.missing} more order{'s' if gap.missing != 1 else ''}"
                if english
                else f"{gap.missing} 单"
            )
        else:
            parts.append(
                f"{format_yuan(gap.missing)} more sales" if english else f"成交额 {format_yuan(gap.missing)}"
            )
    joined = " · ".join(parts)
    return f"{joined} to {prog.target.name}" if english else f"还差 {joined}"
