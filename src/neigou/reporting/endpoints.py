"""HTTP endpoints of group sales and the group leaderboard (``/api/v1``).

Operators see every group of a program; a member sees only their own groups, and of the commission
their orders pay only their own part (the leaderboard, which ranks other members' groups, is the
operator's).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from neigou.auth.dependencies import Operator, OperatorOrMember
from neigou.auth.models import Role
from neigou.auth.service import Principal
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Forbidden
from neigou.kit.i18n import Message
from neigou.kit.paging import PageDep
from neigou.programs import repository as programs
from neigou.programs.models import Program
from neigou.programs.service import require_program
from neigou.reporting.group_sales import (
    GroupSales,
    Ranking,
    Window,
    group_sales,
    leaderboard,
    owners_view,
    value_of,
    window,
)

router = APIRouter(tags=["groups"])
FromQuery = Annotated[dt.date | None, Query(alias="from", description="first day, program time zone")]
ToQuery = Annotated[dt.date | None, Query(alias="to", description="last day (inclusive), program time zone")]


class GroupSalesOut(BaseModel):
    """One group's sales over the range; ``gmv_fen`` = ``paid_fen`` − ``refunded_fen``."""

    model_config = ConfigDict(from_attributes=True)

    group_id: int
    name: str
    platform: str
    status: str
    owner_member_id: int
    owner_name: str
    clicks: int
    claims: int
    orders: int = Field(description="orders paid in the range, fully refunded ones left out")
    fully_refunded_orders: int
    paid_fen: int
    refunded_fen: int
    gmv_fen: int
    commission_fen: int = Field(
        description="all commission the group's orders pay, net of reversals (to a member: their own part)"
    )
    owner_commission_fen: int = Field(description="the part the group's owner earns")
    members_start: int | None
    members_end: int | None
    members_growth: int | None


class SalesTotalsOut(BaseModel):
    """The listed groups together."""

    groups: int
    clicks: int
    claims: int
    orders: int
    gmv_fen: int
    commission_fen: int
    owner_commission_fen: int


class GroupSalesReportOut(BaseModel):
    """Group sales of a program over ``[from, to]`` in its time zone."""

    program_id: int
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    timezone: str
    groups: list[GroupSalesOut]
    totals: SalesTotalsOut


class RankedGroupOut(GroupSalesOut):
    """A leaderboard row."""

    rank: int
    value: int | None


class LeaderboardOut(BaseModel):
    """Groups ranked by ``by``; ties go to the older group, groups without a value come last."""

    program_id: int
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    timezone: str
    by: Ranking
    groups: list[RankedGroupOut]


def totals_out(rows: list[GroupSales]) -> SalesTotalsOut:
    """Sums over the rows."""
    return SalesTotalsOut(
        groups=len(rows),
        clicks=sum(r.clicks for r in rows),
        claims=sum(r.claims for r in rows),
        orders=sum(r.orders for r in rows),
        gmv_fen=sum(r.gmv_fen for r in rows),
        commission_fen=sum(r.commission_fen for r in rows),
        owner_commission_fen=sum(r.owner_commission_fen for r in rows),
    )


def _program_for(session: Session, principal: Principal, program_id: int) -> Program:
    program = require_program(session, program_id)
    if principal.role is Role.MEMBER:
        member = programs.get_member(session, principal.member_id or 0)
        if member is None or member.program_id != program_id:
            raise Forbidden(Message("Members can only see their own program."), code="other_program")
    return program


@router.get(
    "/programs/{program_id}/group-sales", response_model=GroupSalesReportOut, response_model_by_alias=True
)
def get_group_sales(
    *,
    program_id: int,
    session: SessionDep,
    principal: OperatorOrMember,
    start_on: FromQuery = None,
    end_on: ToQuery = None,
    owner_member_id: int | None = None,
) -> GroupSalesReportOut:
    """Clicks, claims, orders, GMV and commission per group over a range of days (default: 30 to today)."""
    program = _program_for(session, principal, program_id)
    if principal.role is Role.MEMBER:
        if owner_member_id is not None and owner_member_id != principal.member_id:
            raise Forbidden(Message("Members can only see their own groups."), code="other_member")
        owner_member_id = principal.member_id
    span = window(program, start_on=start_on, end_on=end_on, at=utcnow())
    rows = group_sales(session, program=program, span=span, owner_member_id=owner_member_id)
    if principal.role is Role.MEMBER:
        rows = owners_view(rows)
    return _report(program, span, rows)


def _report(program: Program, span: Window, rows: list[GroupSales]) -> GroupSalesReportOut:
    return GroupSalesReportOut(
        program_id=program.id,
        from_=span.start_on,
        to=span.end_on,
        timezone=span.timezone,
        groups=[GroupSalesOut.model_validate(r) for r in rows],
        totals=totals_out(rows),
    )


@router.get(
    "/programs/{program_id}/group-leaderboard", response_model=LeaderboardOut, response_model_by_alias=True
)
def get_group_leaderboard(
    *,
    program_id: int,
    session: SessionDep,
    _principal: Operator,
    start_on: FromQuery = None,
    end_on: ToQuery = None,
    page: PageDep,
    by: Ranking = Ranking.GMV,
) -> LeaderboardOut:
    """The program's groups ranked by GMV, orders or member growth over a range of days."""
    program = require_program(session, program_id)
    span = window(program, start_on=start_on, end_on=end_on, at=utcnow())
    rows = group_sales(session, program=program, span=span, ranked=True)
    # The report is computed for every group of the program, so its length is the total.
    page.answer(len(rows))
    return LeaderboardOut(
        program_id=program.id,
        from_=span.start_on,
        to=span.end_on,
        timezone=span.timezone,
        by=by,
        groups=[
            RankedGroupOut(
                rank=rank, value=value_of(row, by), **GroupSalesOut.model_validate(row).model_dump()
            )
            for rank, row in leaderboard(rows, by=by, limit=page.limit, offset=page.offset)
        ],
    )
