"""HTTP endpoints of the analytics reports (``/api/v1``).

Operators read a whole program; a member reads only their own figures (the orders they sold, the
commission they earned, their own team); integrations read nothing. Figures are as of the last
refresh of the analytics store (``POST /analytics/refresh``, or the scheduled extract).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from neigou.analytics import breakdowns, reports
from neigou.analytics import jobs as _jobs  # noqa: F401 - registers the scheduled extract
from neigou.analytics.extract import refresh
from neigou.analytics.reports import Span
from neigou.analytics.runtime import store_for
from neigou.analytics.schemas import (
    ChannelValueOut,
    ClaimPriceOut,
    CohortOut,
    CohortsOut,
    CustomerValueOut,
    DepthOut,
    EconomicsOut,
    EconomicsRowOut,
    FissionOut,
    FunnelOut,
    FunnelRowOut,
    LevelOut,
    PriceRowOut,
    PricesOut,
    RefreshOut,
    RepeatOut,
    RepeatRowOut,
    SimulationIn,
    SimulationOut,
    SkuPriceOut,
    TopCustomerOut,
)
from neigou.analytics.store import Store
from neigou.auth.dependencies import Operator, OperatorOrMember
from neigou.auth.models import Role
from neigou.auth.service import Principal
from neigou.kit.dates import check_day, check_month
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Forbidden, Invalid
from neigou.kit.i18n import Message
from neigou.programs import repository as programs
from neigou.programs.service import require_program

router = APIRouter(tags=["analytics"])
FromQuery = Annotated[dt.date, Query(alias="from", description="first day, program time zone")]
ToQuery = Annotated[dt.date, Query(alias="to", description="last day (inclusive), program time zone")]
MAX_YEARS = 3


def _store(request: Request) -> Store:
    return store_for(request.app.state.settings)


def _member_scope(session: Session, principal: Principal, program_id: int) -> int:
    """0 for an operator (the whole program); the member's own id, checked against the program."""
    require_program(session, program_id)
    if principal.role is not Role.MEMBER:
        return 0
    member = programs.get_member(session, principal.member_id or 0)
    if member is None or member.program_id != program_id:
        raise Forbidden(Message("Members can only see their own program."), code="other_program")
    return member.id


def checked_span(program_id: int, start_on: dt.date, end_on: dt.date, member_id: int) -> Span:
    """A range of days the product works with (``kit.dates``): not inverted, at most three years."""
    check_day(start_on, "from")
    check_day(end_on, "to")
    if start_on > end_on:
        raise Invalid(Message("'from' is after 'to'."), code="bad_range")
    try:
        limit = start_on.replace(year=start_on.year + MAX_YEARS)
    except ValueError:  # 29 February
        limit = start_on.replace(year=start_on.year + MAX_YEARS, day=28)
    if end_on >= limit:
        raise Invalid(Message("At most {years} years at a time.", years=MAX_YEARS), code="range_too_long")
    return Span(program_id, start_on, end_on, member_id)


@router.post("/analytics/refresh", response_model=RefreshOut, response_model_exclude_none=True)
def post_refresh(*, request: Request, session: SessionDep, principal: Operator) -> RefreshOut:
    """Run the extract now: copy every fact written since the last refresh into the analytics store.

    The store is one for the deployment, read per program: the extract copies every organization's
    facts (``analytics.extract.refresh``); what a caller reads stays confined to its own programs, so
    the rows copied per table (every organization's) are a platform administrator's answer only. A
    refresh already running (in any process) answers 503 ``analytics_refresh_running`` at once."""
    copied = refresh(session, _store(request))
    return RefreshOut(refreshed=True, tables=copied if principal.organization_id is None else None)


@router.get("/programs/{program_id}/analytics/repeat", response_model=RepeatOut, response_model_by_alias=True)
def get_repeat(
    *,
    program_id: int,
    request: Request,
    session: SessionDep,
    principal: OperatorOrMember,
    start_on: FromQuery,
    end_on: ToQuery,
    window_days: Annotated[int, Query(ge=1, le=3650)] = 30,
    channel: str | None = None,
) -> RepeatOut:
    """Customers whose first order in the range came through each channel, and how many bought again."""
    member_id = _member_scope(session, principal, program_id)
    if channel is not None and channel not in reports.CHANNELS:
        raise Invalid(
            Message("Unknown channel: use one of {known}.", known=", ".join(reports.CHANNELS)),
            code="unknown_channel",
        )
    span = checked_span(program_id, start_on, end_on, member_id)
    result = reports.repeat(_store(request), span, window_days=window_days, channel=channel)
    return RepeatOut(
        program_id=program_id,
        from_=span.start_on,
        to=span.end_on,
        window_days=window_days,
        channels=[
            RepeatRowOut(
                channel=r.key,
                customers=r.customers,
                repeat_customers=r.repeat_customers,
                repeat_rate_bp=r.repeat_rate_bp,
                customers_in_window=r.in_window,
            )
            for r in result.channels
        ],
        prices=[
            PriceRowOut(
                price=r.key,
                customers=r.customers,
                repeat_customers=r.repeat_customers,
                repeat_rate_bp=r.repeat_rate_bp,
                customers_in_window=r.in_window,
            )
            for r in result.prices
        ],
    )


@router.get("/programs/{program_id}/analytics/cohorts", response_model=CohortsOut)
def get_cohorts(
    *,
    program_id: int,
    request: Request,
    session: SessionDep,
    principal: OperatorOrMember,
    start_on: FromQuery,
    end_on: ToQuery,
) -> CohortsOut:
    """Monthly cohorts by first order's month and channel, with the share still buying month by month."""
    span = checked_span(program_id, start_on, end_on, _member_scope(session, principal, program_id))
    rows = reports.cohorts(_store(request), span)
    return CohortsOut(
        program_id=program_id,
        cohorts=[
            CohortOut(
                month=c.month,
                channel=c.channel,
                customers=c.customers,
                active=c.active,
                retention_bp=c.retention_bp,
            )
            for c in rows
        ],
    )


@router.get(
    "/programs/{program_id}/analytics/economics", response_model=EconomicsOut, response_model_by_alias=True
)
def get_economics(
    *,
    program_id: int,
    request: Request,
    session: SessionDep,
    principal: OperatorOrMember,
    start_on: FromQuery,
    end_on: ToQuery,
    by: Literal["day", "tier", "group", "sku", "brand"] | None = None,
) -> EconomicsOut:
    """GMV, refunds, commission net of reversals and what is left, for orders paid in the range; with
    ``by``, the same per day, seller's tier, group, sku or brand."""
    span = checked_span(program_id, start_on, end_on, _member_scope(session, principal, program_id))
    store = _store(request)
    result = reports.economics(store, span)
    rows = None
    if by is not None:
        rows = [
            EconomicsRowOut(net_fen=r.net_fen, **vars(r)) for r in breakdowns.economics_by(store, span, by=by)
        ]
    return EconomicsOut(
        program_id=program_id,
        from_=span.start_on,
        to=span.end_on,
        orders=result.orders,
        gmv_fen=result.gmv_fen,
        refund_fen=result.refund_fen,
        commission_fen=result.commission_fen,
        net_fen=result.net_fen,
        coupon_fen=result.coupon_fen,
        promotion_fen=result.promotion_fen,
        commission_by_level=[
            LevelOut(level=k, commission_fen=v) for k, v in result.commission_by_level.items()
        ],
        by=by,
        rows=rows,
    )


@router.get("/programs/{program_id}/analytics/fission", response_model=FissionOut)
def get_fission(
    *,
    program_id: int,
    request: Request,
    session: SessionDep,
    principal: OperatorOrMember,
    period: Annotated[str, Query(min_length=7, max_length=7, description="YYYY-MM")],
) -> FissionOut:
    """Members at the month's start, recruits in it, K-factor and the invite tree's depth."""
    member_id = _member_scope(session, principal, program_id)
    period = check_month(period, "period")  # the month read, never the typed text
    result = reports.fission(_store(request), reports.month_span(program_id, period, member_id))
    return FissionOut(
        program_id=program_id,
        period=period,
        members_at_start=result.members_at_start,
        recruits=result.recruits,
        k_factor_bp=result.k_factor_bp,
        recruits_active_after_30_days=result.recruits_active_after_30_days,
        recruits_within_30_days=result.recruits_within_30_days,
        depth=[DepthOut(level=level, members=members) for level, members in result.depth],
    )


@router.post("/programs/{program_id}/analytics/simulations", response_model=SimulationOut)
def post_simulation(
    *,
    program_id: int,
    body: SimulationIn,
    request: Request,
    session: SessionDep,
    principal: OperatorOrMember,
) -> SimulationOut:
    """Commission on the range's orders recomputed with other tier rates (writes nothing)."""
    span = checked_span(program_id, body.from_, body.to, _member_scope(session, principal, program_id))
    codes = [t.code for t in body.tiers]
    if len(set(codes)) != len(codes):
        raise Invalid(Message("Each tier may appear once."), code="duplicate_tier")
    rates = [reports.TierRates(t.code, t.share_bp, t.override_bp) for t in body.tiers]
    result = reports.simulate(_store(request), span, rates, volume_change_bp=body.volume_change_bp)
    if result.volume_change_bp is None:
        assumption = "Same orders as history: no change in demand assumed."
    else:
        assumption = (
            f"Assumes orders change by {result.volume_change_bp / 100:.2f}% with the new rates, "
            "commission scaling with them (an assumption, not a forecast)."
        )
    return SimulationOut(
        program_id=program_id,
        actual_commission_fen=result.actual_commission_fen,
        simulated_commission_fen=result.simulated_commission_fen,
        delta_fen=result.delta_fen,
        volume_change_bp=result.volume_change_bp,
        adjusted_commission_fen=result.adjusted_commission_fen,
        assumption=assumption,
    )


@router.get("/programs/{program_id}/analytics/customers", response_model=CustomerValueOut)
def get_customer_value(
    *,
    program_id: int,
    request: Request,
    session: SessionDep,
    _principal: Operator,
    start_on: FromQuery,
    end_on: ToQuery,
    by: Literal["channel", "tier", "group"] = "channel",
) -> CustomerValueOut:
    """Net contribution per customer by the channel, seller's tier or group of their first order: total,
    average, exact percentiles, the top ten (masked)."""
    require_program(session, program_id)
    span = checked_span(program_id, start_on, end_on, 0)
    channels, top = reports.customer_value(_store(request), span, by=by)
    return CustomerValueOut(
        program_id=program_id,
        by=by,
        channels=[
            ChannelValueOut(
                key=c.channel,
                channel=c.channel if by == "channel" else None,
                customers=c.customers,
                net_fen=c.net_fen,
                average_net_fen=c.average_net_fen,
                coupon_fen=c.coupon_fen,
                promotion_fen=c.promotion_fen,
                percentiles={f"p{p}": v for p, v in c.percentiles.items()},
            )
            for c in channels
        ],
        top=[TopCustomerOut(**vars(t)) for t in top],
    )


@router.get("/programs/{program_id}/analytics/prices", response_model=PricesOut)
def get_prices(
    *,
    program_id: int,
    request: Request,
    session: SessionDep,
    principal: OperatorOrMember,
    start_on: FromQuery,
    end_on: ToQuery,
) -> PricesOut:
    """Group price against list price per sku, from the orders' quoted lines and from claims; the
    hidden-coupon share of GMV, average discount depth."""
    span = checked_span(program_id, start_on, end_on, _member_scope(session, principal, program_id))
    store = _store(request)
    rows = reports.prices(store, span)
    claimed = breakdowns.claim_prices(store, span)
    claimed_list = sum(c.list_fen for c in claimed)
    list_fen, paid_fen = sum(r.list_fen for r in rows), sum(r.paid_fen for r in rows)
    return PricesOut(
        program_id=program_id,
        list_fen=list_fen,
        paid_fen=paid_fen,
        discount_bp=reports.rate_bp(list_fen - paid_fen, list_fen),
        hidden_share_bp=reports.rate_bp(sum(r.hidden_paid_fen for r in rows), paid_fen),
        skus=[
            SkuPriceOut(
                sku=r.sku,
                units=r.units,
                list_fen=r.list_fen,
                paid_fen=r.paid_fen,
                discount_bp=r.discount_bp,
                hidden_units=r.hidden_units,
                hidden_paid_fen=r.hidden_paid_fen,
                hidden_share_bp=r.hidden_share_bp,
            )
            for r in rows
        ],
        claims=sum(c.claims for c in claimed),
        claim_discount_bp=reports.rate_bp(claimed_list - sum(c.group_fen for c in claimed), claimed_list),
        claimed_skus=[
            ClaimPriceOut(
                sku=c.sku,
                claims=c.claims,
                hidden_claims=c.hidden_claims,
                average_list_fen=c.average_list_fen,
                average_group_fen=c.average_group_fen,
                discount_bp=c.discount_bp,
            )
            for c in claimed
        ],
    )


@router.get("/programs/{program_id}/analytics/funnel", response_model=FunnelOut)
def get_funnel(
    *,
    program_id: int,
    request: Request,
    session: SessionDep,
    principal: OperatorOrMember,
    start_on: FromQuery,
    end_on: ToQuery,
    by: Literal["link", "member", "group"] = "link",
) -> FunnelOut:
    """Clicks → claims → orders → net GMV per link, member or group (top 200 by net GMV)."""
    span = checked_span(program_id, start_on, end_on, _member_scope(session, principal, program_id))
    rows = reports.funnel(_store(request), span, by=by)
    return FunnelOut(program_id=program_id, by=by, rows=[FunnelRowOut(**vars(r)) for r in rows])
