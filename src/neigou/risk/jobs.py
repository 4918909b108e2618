"""When the rules run: cheap ones at order ingest and claim time (scoped to the order's member or
the claimed coupon, in the same transaction), every rule nightly for every program. A scan at ingest or
claim time that a request set off (an order POST, a webhook, a platform feed, a claim) waits for its
program's lock a bounded time, as a requested scan does (``service.scan``): while the nightly scan holds
the program the request is answered 503 ``overloaded`` with Retry-After, nothing written, and its
caller's retry (every one of those writes is idempotent) goes in after; a file import's batches wait."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.kit.actor import SYSTEM
from neigou.kit.events import Event, listen
from neigou.kit.jobs import job
from neigou.kit.scoping import in_request
from neigou.links.claims import CLAIMED
from neigou.orders import commission_events
from neigou.orders.models import Order
from neigou.programs.models import Program
from neigou.risk import service


@job("risk.scan_nightly", cron={"minute": "0", "hour": "18"}, retry_scheduled=True)
def scan_nightly(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Every night (02:00 in China, before settlement): every rule over every program."""
    for program in session.scalars(select(Program).order_by(Program.id)):
        service.scan(session, program=program, as_of=at, actor=SYSTEM, now=at)


@listen(commission_events.EARNED)
def check_new_order(session: Session, event: Event) -> None:
    """An order that pays commission: brushing and shared identity for its seller, around its time."""
    order = session.get(Order, int(event.data["order_id"]))
    if order is None or order.member_id is None:
        return
    program = session.get(Program, order.program_id)
    if program is None:
        return
    t = service.thresholds_of(session, program.id)
    since = order.paid_at - timedelta(minutes=t.brushing_window_minutes)
    service.scan(
        session,
        program=program,
        as_of=max(event.at, order.paid_at),
        actor=SYSTEM,
        now=event.at,
        names=("order_brushing", "shared_identity"),
        member_ids=[order.member_id],
        since=since,
        bounded_wait=in_request(session),
    )


@listen(CLAIMED)
def check_new_claim(session: Session, event: Event) -> None:
    """A claim from a known visitor: hoarding of that coupon over the lookback window."""
    program = session.get(Program, int(event.data["program_id"]))
    if program is None:
        return
    service.scan(
        session,
        program=program,
        as_of=event.at,
        actor=SYSTEM,
        now=event.at,
        names=("coupon_hoarding",),
        coupon_id=int(event.data["coupon_id"]),
        bounded_wait=in_request(session),
    )
