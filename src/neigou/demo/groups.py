"""Demo chat groups: owners running 20+ groups of 200–400 members, a month of daily counts, and
the field's schedule placed around today — 250 four days ago, 400 nine days after that, then
+3 a day, set the evening before its first point — so some groups are behind now and more will
miss the next point at their pace. An owner registered their groups on the day they joined, one every
``GROUP_SPACING``, so each group is older than its owner's links, sales, claims and counts
(``demo.orders`` makes a group's link once it exists).

Built through the services (the CSV import checks every count), like the rest of the demo.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from neigou.groups import alerts, count_files
from neigou.groups import service as groups
from neigou.groups.models import GroupPlatform
from neigou.groups.schemas import GroupCreate, TargetPointIn, TargetsIn
from neigou.kit.actor import Actor
from neigou.programs.service import require_member, require_program

DEMO_ACTOR = Actor(kind="cli", ref="demo", label="neigou demo")
THEMES = ["宝妈好物", "芬香内购", "美妆福利", "家居好价", "零食特卖", "母婴优选"]
OWNERS_WITH_GROUPS = 5
HISTORY_DAYS = 30
GROUP_SPACING = timedelta(minutes=10)
SCHEDULE_SET_AT = time(18)


def seed_groups(
    session: Session, *, program_id: int, owner_ids: list[int], sample_owner_id: int, now: datetime
) -> None:
    """Groups, a month of counts, the target schedule and yesterday's alert of the partner program."""
    rng = random.Random(20260402)
    program = require_program(session, program_id)
    zone = ZoneInfo(program.timezone)
    today = now.astimezone(zone).date()
    first_point = today - timedelta(days=4)
    groups.put_schedule(
        session,
        program_id=program_id,
        actor=DEMO_ACTOR,
        at=_at(first_point - timedelta(days=1), SCHEDULE_SET_AT, zone),  # the evening before it applies
        data=TargetsIn(
            points=[
                TargetPointIn(date=first_point, min_members=250),
                TargetPointIn(date=first_point + timedelta(days=9), min_members=400),
            ],
            daily_increase_after=3,
        ),
    )
    chosen = [sample_owner_id, *[o for o in owner_ids if o != sample_owner_id][: OWNERS_WITH_GROUPS - 1]]
    lines = ["owner_member_id,group,member_count,observed_at"]
    spike: list[str] = []
    for position, owner_id in enumerate(chosen):
        theme = THEMES[position % len(THEMES)]
        owner = require_member(session, owner_id)
        for number in range(1, rng.randint(20, 24) + 1):
            group = groups.create_group(
                session,
                owner_member_id=owner_id,
                actor=DEMO_ACTOR,
                at=min(owner.joined_at + GROUP_SPACING * (number - 1), now),
                data=GroupCreate(
                    name=f"{theme}{number}群",
                    platform=GroupPlatform.WECOM if number % 9 == 0 else GroupPlatform.WECHAT,
                    external_id=f"wx-{owner_id}-{number:02d}",
                ),
            )
            history = _history(
                rng,
                owner_id=owner_id,
                name=group.name,
                today=today,
                zone=zone,
                now=now,
                laggard=number % 7 == 3,
            )
            lines.extend(history)
            if number % 7 == 3 and history:
                spike = history[-1].split(",")
    # A laggard's count suddenly far above its history: held for the operator's review.
    yesterday_count = int(spike[2])
    spike_at = min(_at(today, time(9, 30), zone), now.astimezone(zone) - timedelta(minutes=10))
    lines.append(f"{spike[0]},{spike[1]},{yesterday_count + 160},{spike_at.isoformat()}")
    count_files.import_counts(
        session, content="\n".join(lines) + "\n", actor=DEMO_ACTOR, program_id=program_id, at=now
    )
    alerts.deliver_alert(session, program_id=program_id, on=today - timedelta(days=1), at=now)


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def _history(
    rng: random.Random,
    *,
    owner_id: int,
    name: str,
    today: date,
    zone: ZoneInfo,
    now: datetime,
    laggard: bool,
) -> list[str]:
    """A month of evening counts growing at the group's own pace (tenths of a member a day)."""
    start = rng.randint(180, 200) if laggard else rng.randint(200, 290)
    tenths_a_day = rng.randint(10, 16) if laggard else rng.randint(20, 60)
    rows: list[str] = []
    count = start
    for back in range(HISTORY_DAYS, 0, -1):
        day = today - timedelta(days=back)
        elapsed = HISTORY_DAYS - back
        count = max(count, min(490, start + tenths_a_day * elapsed // 10 + rng.randint(-2, 2)))
        observed = _at(day, time(21, rng.randint(0, 50)), zone)
        if observed < now:
            rows.append(f"{owner_id},{name},{count},{observed.isoformat()}")
    return rows
