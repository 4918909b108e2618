"""Console pages of orders (with their commission breakdown), a member's ledger, and withdrawals to
approve, batch, export and mark paid."""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neigou.auth.dependencies import ConsoleOperator
from neigou.groups import repository as groups
from neigou.kit import exports
from neigou.kit.clock import utcnow
from neigou.kit.db import get_or_404
from neigou.kit.deps import LaterReadsDep, SessionDep
from neigou.kit.i18n import Message
from neigou.kit.sealed import Sealer
from neigou.ledger import payouts, withdrawals
from neigou.ledger import repository as ledger
from neigou.ledger.models import WithdrawalStatus
from neigou.offers import repository as offers
from neigou.orders import repository as orders
from neigou.orders import settlement
from neigou.orders.models import Order
from neigou.orders.views import order_out
from neigou.programs import repository as programs
from neigou.programs.service import require_member, require_program
from neigou.risk import holds
from neigou.web.i18n import locale_of
from neigou.web.pager import PageNumber, listed, pager
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
LEDGER_LINES_PER_PAGE = 25
WITHDRAWALS_PER_PAGE = 50  # rows of each withdrawals list (the withdrawals page's, a member's ledger's)
_SETTLED = re.compile(r"([0-9]{1,9}):([0-9]{1,15})")


def settled_notice(text: str | None) -> tuple[int, int] | None:
    """The ``orders:released_fen`` a settlement redirects with, or None for anything else (the
    query is the reader's to edit: a bad value shows no notice, never an error)."""
    match = _SETTLED.fullmatch(text or "")
    return (int(match[1]), int(match[2])) if match else None


@router.get("/console/orders", response_class=HTMLResponse)
def orders_page(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    program_id: int | None = None,
    page: PageNumber = 1,
    settled: str | None = None,
) -> HTMLResponse:
    """Orders, newest first, with member, amounts, commission and its state."""
    rows = orders.list_orders(session, program_id=program_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    total = orders.count_orders(session, program_id=program_id)
    return render(
        request,
        "console/orders/index.html",
        principal=principal,
        programs=programs.list_programs(session),
        program_id=program_id,
        rows=rows,
        names=programs.member_names(session, [o.member_id for o in rows]),
        pager=pager(request, page, PAGE_SIZE, total),
        total=total,
        settled=settled_notice(settled),
    )


@router.get("/console/orders/{order_id}", response_class=HTMLResponse)
def order_page(
    request: Request, order_id: int, session: SessionDep, principal: ConsoleOperator
) -> HTMLResponse:
    """One order: priced lines, offers snapshot, commission breakdown and refunds."""
    order = get_or_404(
        session,
        Order,
        order_id,
        code="order_not_found",
        detail=Message("This order does not exist."),
    )
    view = order_out(session, order)
    group = groups.get_group(session, order.group_id) if order.group_id is not None else None
    program = require_program(session, order.program_id)
    return render(
        request,
        "console/orders/detail.html",
        principal=principal,
        order=view,
        group=group,
        program=program,
        names=programs.member_names(session, [order.member_id, *(c.member_id for c in view.commissions)]),
        refunds=orders.refunds_of(session, order.id),
        titles=offers.titles_by_sku(session, program.organization_id, (line.sku for line in view.lines)),
        tiers={t.code: t.name for t in programs.list_tiers(session, order.program_id)},
    )


@router.post("/console/programs/{program_id}/settle")
def settle_now(program_id: int, session: SessionDep, principal: ConsoleOperator) -> RedirectResponse:
    """Release what finished its freeze, now."""
    program = require_program(session, program_id)
    row = settlement.settle(session, program=program, as_of=utcnow(), actor=principal.actor, now=utcnow())
    return RedirectResponse(
        f"/console/orders?program_id={program_id}&settled={row.orders}:{row.released_fen}", status_code=303
    )


@router.get("/console/members/{member_id}/ledger", response_class=HTMLResponse)
def member_ledger(
    request: Request,
    *,
    member_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    page: PageNumber = 1,
    withdrawals_page: PageNumber = 1,
) -> HTMLResponse:
    """A member's balance by state, statement and withdrawals, each paged on its own."""
    member = require_member(session, member_id)
    lines = listed(
        request, page, LEDGER_LINES_PER_PAGE, partial(ledger.page_statement_lines, session, member_id)
    )
    taken = listed(
        request,
        withdrawals_page,
        WITHDRAWALS_PER_PAGE,
        partial(ledger.page_withdrawals, session, member_id=member_id),
        param="withdrawals_page",
        fragment="withdrawals",
    )
    return render(
        request,
        "console/orders/ledger.html",
        principal=principal,
        member=member,
        program=require_program(session, member.program_id),
        balance=ledger.balance(session, member_id),
        lines=lines.items,
        pager=lines.pager,
        withdrawals=taken.items,
        withdrawals_pager=taken.pager,
        orders=orders.list_orders(session, member_id=member_id, limit=10),
    )


@router.get("/console/withdrawals", response_class=HTMLResponse)
def withdrawals_page(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    program_id: int | None = None,
    requested_page: PageNumber = 1,
    approved_page: PageNumber = 1,
    batches_page: PageNumber = 1,
) -> HTMLResponse:
    """Requests to review, approved ones waiting for a batch, and the batches, each list paged on its own;
    a member a risk case holds or suspended is marked, with no approve button (batches leave such
    withdrawals out). A program with an approved withdrawal in no batch gets its batch button whatever
    page the lists show."""
    size = WITHDRAWALS_PER_PAGE
    requested = listed(
        request,
        requested_page,
        size,
        partial(ledger.page_withdrawals, session, program_id=program_id, status=WithdrawalStatus.REQUESTED),
        param="requested_page",
        fragment="to-review",
    )
    approved = listed(
        request,
        approved_page,
        size,
        partial(
            ledger.page_withdrawals,
            session,
            program_id=program_id,
            status=WithdrawalStatus.APPROVED,
            unbatched=True,
        ),
        param="approved_page",
        fragment="approved",
    )
    batches = listed(
        request,
        batches_page,
        size,
        lambda page: ledger.page_batches(session, page, program_id),
        param="batches_page",
        fragment="batches",
    )
    shown = [w.member_id for w in requested.items + approved.items]
    return render(
        request,
        "console/orders/withdrawals.html",
        principal=principal,
        programs=programs.list_programs(session),
        program_id=program_id,
        requested=requested.items,
        requested_pager=requested.pager,
        approved=approved.items,
        approved_pager=approved.pager,
        to_batch=ledger.programs_to_batch(session, program_id),
        batches=batches.items,
        batches_pager=batches.pager,
        names=programs.member_names(session, shown),
        balances=ledger.balances(session, [w.member_id for w in requested.items]),
        held=holds.withdrawal_holds(session, shown),
    )


@router.post("/console/withdrawals/{withdrawal_id}/approve")
def approve(withdrawal_id: int, session: SessionDep, principal: ConsoleOperator) -> RedirectResponse:
    """Approve a request."""
    withdrawals.approve(session, withdrawal_id=withdrawal_id, actor=principal.actor, at=utcnow())
    return RedirectResponse("/console/withdrawals", status_code=303)


@router.post("/console/withdrawals/{withdrawal_id}/reject")
def reject(
    withdrawal_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    reason: Annotated[str, Form(min_length=1, max_length=200)],
) -> RedirectResponse:
    """Reject a request: the amount returns to the member's available balance."""
    withdrawals.reject(
        session, withdrawal_id=withdrawal_id, reason=reason, actor=principal.actor, at=utcnow()
    )
    return RedirectResponse("/console/withdrawals", status_code=303)


@router.post("/console/programs/{program_id}/payout-batches")
def create_batch(program_id: int, session: SessionDep, principal: ConsoleOperator) -> RedirectResponse:
    """Batch every approved withdrawal of the program."""
    payouts.create_batch(session, program_id=program_id, actor=principal.actor, at=utcnow())
    return RedirectResponse("/console/withdrawals#batches", status_code=303)


@router.post("/console/payout-batches/{batch_id}/paid")
def mark_paid(batch_id: int, session: SessionDep, principal: ConsoleOperator) -> RedirectResponse:
    """The bank paid the batch."""
    payouts.pay_batch(session, batch_id=batch_id, actor=principal.actor, at=utcnow())
    return RedirectResponse("/console/withdrawals#batches", status_code=303)


@router.get("/console/payout-batches/{batch_id}/export")
def export(
    batch_id: int,
    request: Request,
    session: SessionDep,
    reads: LaterReadsDep,
    _principal: ConsoleOperator,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    """Download the batch for finance (each payee's account in full, the one place it is shown)."""
    sealer = Sealer.from_settings(request.app.state.settings)
    filename = f"payout-batch-{batch_id}.{format}"
    if format == "xlsx":  # read in pages into a temporary file, then streamed
        sheets = payouts.export_sheets(session, batch_id, sealer, locale_of(request))
        return exports.workbook_response(sheets, filename)
    return exports.csv_response(
        payouts.csv_chunks(session, reads.session, batch_id, sealer, locale_of(request)), filename
    )
