"""Reads of the distribution network: a member's team and a program's leaderboards by period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from neigou.kit.clock import utcnow
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message
from neigou.kit.paging import MAX_LIMIT
from neigou.network import repository as repo
from neigou.network.repository import Metric
from neigou.network.rules import Period, mask_name, parse_period, period_of
from neigou.network.schemas import (
    LeaderboardOut,
    LeaderboardRowOut,
    MyRankOut,
    TeamLevelOut,
    TeamMemberOut,
    TeamOut,
)
from neigou.programs import repository as programs
from neigou.programs.models import Program
from neigou.programs.service import require_member, require_program

LEADERBOARD_PAGE = 20  # places a leaderboard lists by default
MAX_LEADERBOARD = MAX_LIMIT
TEAM_PAGE = 100  # members a team page lists by default
MAX_TEAM_PAGE = MAX_LIMIT


def resolve_period(program: Program, label: str | None, *, at: datetime | None = None) -> Period:
    """The named month of the program's zone, or the current one; a malformed name is a 422."""
    if label is None or not label.strip():
        return period_of(at or utcnow(), program.timezone)
    period = parse_period(label, program.timezone)
    if period is None:
        raise Invalid(
            Message("The period must be a month such as 2026-03."),
            code="invalid_period",
        )
    return period


def team_of(
    session: Session,
    *,
    member_id: int,
    period: str | None,
    limit: int = TEAM_PAGE,
    offset: int = 0,
    at: datetime | None = None,
) -> TeamOut:
    """A member's recruits down to the program's max_levels, with this period's orders and GMV: the
    totals of every level, and one page of the members (by level, then joining order)."""
    member = require_member(session, member_id)
    program = require_program(session, member.program_id)
    bounds = resolve_period(program, period, at=at)
    limit, offset = max(1, min(limit, MAX_TEAM_PAGE)), max(0, offset)
    depth = program.max_levels
    totals = repo.team_levels(session, member_id=member.id, program_id=program.id, depth=depth, period=bounds)
    rows = repo.team(
        session,
        member_id=member.id,
        program_id=program.id,
        depth=depth,
        period=bounds,
        limit=limit,
        offset=offset,
    )
    tier_names = {t.code: t.name for t in programs.list_tiers(session, program.id)}
    own = repo.sales_of(session, member_id=member.id, program_id=program.id, period=bounds)
    levels = [
        TeamLevelOut(level=level, members=n, orders=orders, gmv_fen=gmv)
        for level in range(1, program.max_levels + 1)
        for n, orders, gmv in [totals.get(level, (0, 0, 0))]
    ]
    return TeamOut(
        member_id=member.id,
        program_id=program.id,
        period=bounds.label,
        period_start=bounds.start,
        period_end=bounds.end,
        max_levels=program.max_levels,
        own_orders=own.orders,
        own_gmv_fen=own.gmv_fen,
        levels=levels,
        total_members=sum(level.members for level in levels),
        limit=limit,
        offset=offset,
        members=[
            TeamMemberOut(
                id=r.id,
                name=r.name,
                tier=r.tier_code,
                tier_name=tier_names.get(r.tier_code or ""),
                inviter_id=r.inviter_id,
                inviter_name=r.inviter_name,
                level=r.level,
                joined_at=r.joined_at,
                orders=r.orders,
                gmv_fen=r.gmv_fen,
            )
            for r in rows
        ],
    )


def parse_metric(value: str) -> Metric:
    """A leaderboard metric, or a 422 naming the accepted ones."""
    for metric in repo.METRICS:
        if metric == value:
            return metric
    raise Invalid(
        Message("The metric must be one of orders, gmv_fen, recruits."),
        code="invalid_metric",
    )


def leaderboard_of(
    session: Session,
    *,
    program_id: int,
    period: str | None,
    metric: Metric,
    limit: int,
    viewer_member_id: int | None,
    offset: int = 0,
    at: datetime | None = None,
) -> LeaderboardOut:
    """A program's leaderboard (``limit`` places after the first ``offset``); a member viewer sees
    others' names masked and their own rank."""
    program = require_program(session, program_id)
    bounds = resolve_period(program, period, at=at)
    limit, offset = max(1, min(limit, MAX_LEADERBOARD)), max(0, offset)
    rows = repo.leaderboard(
        session, program_id=program.id, period=bounds, metric=metric, limit=limit, offset=offset
    )
    me: MyRankOut | None = None
    if viewer_member_id is not None:
        mine = repo.rank_of(
            session, program_id=program.id, period=bounds, metric=metric, member_id=viewer_member_id
        )
        me = MyRankOut(
            member_id=viewer_member_id,
            rank=mine[0] if mine else None,
            value=mine[1] if mine else 0,
        )
    masked = viewer_member_id is not None
    return LeaderboardOut(
        program_id=program.id,
        period=bounds.label,
        period_start=bounds.start,
        period_end=bounds.end,
        metric=metric,
        ranked=repo.ranked_members(session, program_id=program.id, period=bounds, metric=metric),
        rows=[
            LeaderboardRowOut(
                rank=r.rank,
                # Members see other members' places, not who they are: no id, a masked name.
                member_id=r.member_id if not masked or r.member_id == viewer_member_id else None,
                name=mask_name(r.name) if masked and r.member_id != viewer_member_id else r.name,
                value=r.value,
                me=r.member_id == viewer_member_id,
            )
            for r in rows
        ],
        me=me,
    )
