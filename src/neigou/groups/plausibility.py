"""Pure rule for implausible member counts: stored, but held for an operator's review.

A count needs review when

- it is above the platform's group size limit (WeChat groups stop at 500 members), or
- it jumps far above the group's previous counted observation: by more than
  ``jump_members_per_day`` members **and** more than ``jump_bp_per_day`` basis points of the
  previous count, for each day between the two observations (partial days round up, at least one).

With the defaults (50 members and 20% a day), 300 → 340 in a day passes (+40), 300 → 380 is held
(+80 and +26.7%), 30 → 60 passes (+30), and 300 → 420 over three days passes (+120 ≤ 150).
Drops are never held: groups shrink when owners clean them up. Counts held for review do not
count towards compliance and are not the "previous" observation of later counts until accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from neigou.kit.money import BP_SCALE

OVER_PLATFORM_LIMIT = "over_platform_limit"
IMPLAUSIBLE_JUMP = "implausible_jump"

# Platform group size limits (members): WeChat and WeCom customer groups hold 500; QQ groups
# reach 3000 at their largest; "other" has no known limit. Programs may override each.
DEFAULT_SIZE_LIMITS: dict[str, int | None] = {"wechat": 500, "wecom": 500, "qq": 3000, "other": None}
DEFAULT_JUMP_MEMBERS_PER_DAY = 50
DEFAULT_JUMP_BP_PER_DAY = 2000


@dataclass(frozen=True)
class PlausibilityRule:
    """A program's thresholds for one platform."""

    size_limit: int | None = None
    jump_members_per_day: int = DEFAULT_JUMP_MEMBERS_PER_DAY
    jump_bp_per_day: int = DEFAULT_JUMP_BP_PER_DAY


def review_reason(
    rule: PlausibilityRule,
    *,
    member_count: int,
    observed_at: datetime,
    previous: tuple[datetime, int] | None,
) -> str | None:
    """Why this count needs review (a stable code), or None when it is plausible."""
    if rule.size_limit is not None and member_count > rule.size_limit:
        return OVER_PLATFORM_LIMIT
    if previous is None:
        return None
    previous_at, previous_count = previous
    days = max(1, -(-(observed_at - previous_at) // timedelta(days=1)))
    gain = member_count - previous_count
    if (
        gain > rule.jump_members_per_day * days
        and gain * BP_SCALE > previous_count * rule.jump_bp_per_day * days
    ):
        return IMPLAUSIBLE_JUMP
    return None
