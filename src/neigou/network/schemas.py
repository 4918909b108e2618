"""Response bodies of the network API: team, leaderboard and recruiting link."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class TeamMemberOut(BaseModel):
    """A recruit (or a recruit's recruit) with their sales in the period."""

    id: int
    name: str
    tier: str | None
    tier_name: str | None
    inviter_id: int
    inviter_name: str
    level: int
    joined_at: datetime
    orders: int
    gmv_fen: int


class TeamLevelOut(BaseModel):
    """Totals of one level of the team."""

    level: int
    members: int
    orders: int
    gmv_fen: int


class TeamOut(BaseModel):
    """A member's team down to the program's max_levels, with this period's orders and GMV."""

    member_id: int
    program_id: int
    period: str
    period_start: datetime
    period_end: datetime
    max_levels: int
    own_orders: int
    own_gmv_fen: int
    levels: list[TeamLevelOut]
    total_members: int
    limit: int
    offset: int
    members: list[TeamMemberOut]  # this page: by level, then joining order


class LeaderboardRowOut(BaseModel):
    """A place on a leaderboard; names other than the caller's own are masked for members."""

    rank: int
    member_id: int | None
    name: str
    value: int
    me: bool = False


class MyRankOut(BaseModel):
    """The calling member's own place (rank null when they have no score in the period)."""

    member_id: int
    rank: int | None
    value: int


class LeaderboardOut(BaseModel):
    """A program's leaderboard for one metric and one calendar month of its time zone."""

    program_id: int
    period: str
    period_start: datetime
    period_end: datetime
    metric: str
    ranked: int
    rows: list[LeaderboardRowOut]
    me: MyRankOut | None = None


class RecruitingLinkOut(BaseModel):
    """A member's recruiting link: whoever joins through it is bound to them as inviter."""

    member_id: int
    code: str
    url: str
    poster_url: str
