"""The rule registry: pure functions from a prepared context to findings (no I/O).

The context (``risk.context``) is a handful of set-based queries that already did the heavy
lifting (windows over a whole program's orders, joins through shared devices); each rule here
groups those facts per member or subject, applies the program's thresholds and says why, with a
stable code, a severity, evidence and an explanation in the catalog's languages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from neigou.kit.i18n import Message
from neigou.kit.money import format_bp, format_yuan
from neigou.risk.thresholds import Thresholds

LOW, MEDIUM, HIGH = "low", "medium", "high"


@dataclass(frozen=True)
class Finding:
    """What a rule found: one future case (or more orders for an open one)."""

    rule: str
    subject: str
    member_id: int | None
    severity: str
    order_ids: tuple[int, ...]
    evidence: dict[str, Any]
    explanation: Message


@dataclass(frozen=True)
class OrderFact:
    """An order a query picked out, with what the rules show of it."""

    order_id: int
    member_id: int
    paid_fen: int
    paid_at: datetime


@dataclass(frozen=True)
class ClaimCluster:
    """One visitor's claims of one coupon under several customer references."""

    coupon_id: int
    visitor_id: str
    refs: int
    claims: int
    member_ids: tuple[int, ...]
    first_at: datetime
    last_at: datetime
    order_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class SharedOrder:
    """An order whose buyer shares a phone or a device with the seller or their upline."""

    order_id: int
    member_id: int
    via: str  # "phone" or "device"
    whom: str  # "seller" or "upline"


@dataclass(frozen=True)
class RingFact:
    """A recruit of ``inviter_id`` flagged by ``why``: shared phone or device, or an idle burst."""

    inviter_id: int
    recruit_id: int
    why: str  # "shared_device" or "idle_burst"


@dataclass(frozen=True)
class RefundFigures:
    """A member's released orders and how many of them were refunded after release."""

    member_id: int
    released: int
    refunded_after: int
    open_order_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ImplausibleCount:
    """A group-count observation held for review as implausible."""

    count_id: int
    group_id: int
    member_id: int
    member_count: int
    reason: str | None
    observed_at: datetime


@dataclass(frozen=True)
class Context:
    """Everything the rules read, prepared by set-based queries for one program and window."""

    brushing_bursts: Sequence[OrderFact] = ()
    brushing_refunded: Sequence[OrderFact] = ()
    claim_clusters: Sequence[ClaimCluster] = ()
    shared_orders: Sequence[SharedOrder] = ()
    ring_facts: Sequence[RingFact] = ()
    refund_figures: Sequence[RefundFigures] = ()
    program_released: int = 0
    program_refunded_after: int = 0
    implausible_counts: Sequence[ImplausibleCount] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


def _by_member(facts: Iterable[OrderFact]) -> dict[int, list[OrderFact]]:
    out: dict[int, list[OrderFact]] = defaultdict(list)
    for fact in facts:
        out[fact.member_id].append(fact)
    return out


def order_brushing(ctx: Context, t: Thresholds) -> list[Finding]:
    """Bursts of small orders through one member's links, or orders refunded after the evaluation
    they helped pass."""
    bursts, refunded = _by_member(ctx.brushing_bursts), _by_member(ctx.brushing_refunded)
    found = []
    for member_id in sorted(set(bursts) | set(refunded)):
        burst = sorted(bursts.get(member_id, []), key=lambda f: (f.paid_at, f.order_id))
        undone = refunded.get(member_id, [])
        if len(burst) < t.brushing_min_orders:
            burst = []
        if len(undone) < t.brushing_refunded_min_orders:
            undone = []
        if not burst and not undone:
            continue
        ids = tuple(sorted({f.order_id for f in burst} | {f.order_id for f in undone}))
        evidence: dict[str, Any] = {
            "burst_orders": len(burst),
            "burst_paid_fen": sum(f.paid_fen for f in burst),
            "refunded_after_evaluation": len(undone),
            "max_paid_fen": t.brushing_max_paid_fen,
            "window_minutes": t.brushing_window_minutes,
        }
        if burst:
            evidence["first_at"] = burst[0].paid_at.isoformat()
            evidence["last_at"] = burst[-1].paid_at.isoformat()
        severity = HIGH if undone or len(burst) >= 2 * t.brushing_min_orders else MEDIUM
        if burst and undone:
            why = Message(
                "{n} orders of at most {max_yuan} within {minutes} minutes through this member's links, "
                "and {m} orders refunded after the tier evaluation they counted for.",
                n=len(burst),
                max_yuan=format_yuan(t.brushing_max_paid_fen),
                minutes=t.brushing_window_minutes,
                m=len(undone),
            )
        elif burst:
            why = Message(
                "{n} orders of at most {max_yuan} within {minutes} minutes through this member's links.",
                n=len(burst),
                max_yuan=format_yuan(t.brushing_max_paid_fen),
                minutes=t.brushing_window_minutes,
            )
        else:
            why = Message(
                "{m} orders refunded in full after the tier evaluation they counted for.", m=len(undone)
            )
        found.append(
            Finding("order_brushing", f"member:{member_id}", member_id, severity, ids, evidence, why)
        )
    return found


def coupon_hoarding(ctx: Context, t: Thresholds) -> list[Finding]:
    """Many claims of one coupon from one visitor under different customer references."""
    found = []
    for c in sorted(ctx.claim_clusters, key=lambda c: (c.coupon_id, c.visitor_id)):
        if c.refs < t.hoarding_min_refs:
            continue
        member_id = c.member_ids[0] if len(c.member_ids) == 1 else None
        found.append(
            Finding(
                "coupon_hoarding",
                f"coupon:{c.coupon_id}:visitor:{c.visitor_id}",
                member_id,
                HIGH if c.refs >= 2 * t.hoarding_min_refs else MEDIUM,
                tuple(sorted(c.order_ids)),
                {
                    "coupon_id": c.coupon_id,
                    "visitor": c.visitor_id[:8],
                    "customer_refs": c.refs,
                    "claims": c.claims,
                    "member_ids": list(c.member_ids),
                    "first_at": c.first_at.isoformat(),
                    "last_at": c.last_at.isoformat(),
                },
                Message(
                    "One device claimed coupon {coupon_id} {claims} times under {refs} customer references.",
                    coupon_id=c.coupon_id,
                    claims=c.claims,
                    refs=c.refs,
                ),
            )
        )
    return found


def shared_identity(ctx: Context, t: Thresholds) -> list[Finding]:
    """Buyers who share a phone or a device with the member credited, or with that member's upline."""
    per_member: dict[int, list[SharedOrder]] = defaultdict(list)
    for s in ctx.shared_orders:
        per_member[s.member_id].append(s)
    found = []
    for member_id in sorted(per_member):
        rows = per_member[member_id]
        ids = tuple(sorted({r.order_id for r in rows}))
        kinds = sorted({f"{r.via}_{r.whom}" for r in rows})
        found.append(
            Finding(
                "shared_identity",
                f"member:{member_id}",
                member_id,
                HIGH if any(r.whom == "seller" for r in rows) else MEDIUM,
                ids,
                {"orders": len(ids), "shared": kinds},
                Message(
                    "{n} orders were bought by shoppers who share a phone or a device with this member "
                    "or their upline.",
                    n=len(ids),
                ),
            )
        )
    return found


def invite_ring(ctx: Context, t: Thresholds) -> list[Finding]:
    """Recruits sharing devices, or bursts of joins that never buy."""
    per_inviter: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for f in ctx.ring_facts:
        per_inviter[f.inviter_id][f.why].add(f.recruit_id)
    found = []
    for inviter_id in sorted(per_inviter):
        why = per_inviter[inviter_id]
        shared = why.get("shared_device", set())
        idle = why.get("idle_burst", set())
        if len(shared) < t.ring_min_shared:
            shared = set()
        if len(idle) < t.ring_burst_joins:
            idle = set()
        if not shared and not idle:
            continue
        found.append(
            Finding(
                "invite_ring",
                f"inviter:{inviter_id}",
                inviter_id,
                HIGH if shared else MEDIUM,
                (),
                {
                    "shared_recruits": sorted(shared),
                    "idle_burst_recruits": sorted(idle),
                    "burst_hours": t.ring_burst_hours,
                },
                Message(
                    "{shared} recruits share a device with another recruit; {idle} recruits joined within {hours} "
                    "hours and never bought.",
                    shared=len(shared),
                    idle=len(idle),
                    hours=t.ring_burst_hours,
                ),
            )
        )
    return found


def rate_bp(part: int, whole: int) -> int:
    """``part / whole`` in basis points, rounded down (0 for an empty whole)."""
    return part * 10_000 // whole if whole > 0 else 0


def refund_abuse(ctx: Context, t: Thresholds) -> list[Finding]:
    """Members whose orders are refunded after release far more often than the program's."""
    program_bp = rate_bp(ctx.program_refunded_after, ctx.program_released)
    bar = max(t.refund_abuse_min_rate_bp, program_bp * t.refund_abuse_factor_bp // 10_000)
    found = []
    for r in sorted(ctx.refund_figures, key=lambda r: r.member_id):
        member_bp = rate_bp(r.refunded_after, r.released)
        if (
            r.released < t.refund_abuse_min_orders
            or r.refunded_after < t.refund_abuse_min_refunds
            or member_bp < bar
        ):
            continue
        found.append(
            Finding(
                "refund_abuse",
                f"member:{r.member_id}",
                r.member_id,
                HIGH,
                tuple(sorted(r.open_order_ids)),
                {
                    "released_orders": r.released,
                    "refunded_after_release": r.refunded_after,
                    "member_rate_bp": member_bp,
                    "program_rate_bp": program_bp,
                    "bar_bp": bar,
                },
                Message(
                    "{refunded} of {released} released orders were refunded after release "
                    "({member_rate} against the program's {program_rate}).",
                    refunded=r.refunded_after,
                    released=r.released,
                    member_rate=format_bp(member_bp),
                    program_rate=format_bp(program_bp),
                ),
            )
        )
    return found


def padded_group(ctx: Context, t: Thresholds) -> list[Finding]:
    """Group-count observations held as implausible join the queue."""
    return [
        Finding(
            "padded_group",
            f"group_count:{c.count_id}",
            c.member_id,
            LOW,
            (),
            {
                "group_id": c.group_id,
                "count_id": c.count_id,
                "member_count": c.member_count,
                "reason": c.reason,
                "observed_at": c.observed_at.isoformat(),
            },
            Message(
                "Group {group_id} reported {count} members, which the plausibility check held for review.",
                group_id=c.group_id,
                count=c.member_count,
            ),
        )
        for c in sorted(ctx.implausible_counts, key=lambda c: c.count_id)
    ]


Rule = Callable[[Context, Thresholds], list[Finding]]

RULES: dict[str, Rule] = {
    "order_brushing": order_brushing,
    "coupon_hoarding": coupon_hoarding,
    "shared_identity": shared_identity,
    "invite_ring": invite_ring,
    "refund_abuse": refund_abuse,
    "padded_group": padded_group,
}
# Run at order ingest and claim time (cheap, scoped to one member or coupon); the rest nightly.
CHEAP = ("order_brushing", "shared_identity", "coupon_hoarding")


def run(ctx: Context, t: Thresholds, names: Iterable[str] = RULES) -> list[Finding]:
    """Every named rule's findings, in registry order."""
    wanted = set(names)
    return [f for name, rule in RULES.items() if name in wanted for f in rule(ctx, t)]
