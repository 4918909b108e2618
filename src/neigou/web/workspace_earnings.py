"""The member's earnings on a phone: money by state, the statement, and a withdrawal form."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.kit.instants import MoneyClockDep
from neigou.kit.money import parse_yuan
from neigou.kit.sealed import Sealer
from neigou.ledger import payees, withdrawals
from neigou.ledger import repository as ledger
from neigou.ledger.models import PayeeAccount
from neigou.ledger.payee_rules import PayeeKind
from neigou.orders import repository as orders
from neigou.programs.service import require_member, require_program
from neigou.web.pager import PageNumber, listed
from neigou.web.pages import WorkspaceMember, render

router = APIRouter(include_in_schema=False)
MOVEMENTS_PER_PAGE = 12
WITHDRAWALS_PER_PAGE = 10  # the member's own withdrawals, a phone screen's worth


def yuan_to_fen(text: str) -> int | None:
    """``"12.3"`` → 1230, without floats; None when it is not an amount."""
    return parse_yuan(text)


@router.get("/m/earnings", response_class=HTMLResponse)
def earnings(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    done: bool = False,
    payee_saved: bool = False,
    error: Annotated[str | None, Query(max_length=60)] = None,
    payee_error: Annotated[str | None, Query(max_length=60)] = None,
    amount: Annotated[str, Query(max_length=20)] = "",
    page: PageNumber = 1,
    withdrawals_page: PageNumber = 1,
) -> HTMLResponse:
    """Pending, frozen, available and withdrawn; one line per movement, paged; the withdrawal form; the
    member's own withdrawals, paged on their own."""
    member = require_member(session, principal.member_id or 0)
    movements = listed(request, page, MOVEMENTS_PER_PAGE, partial(ledger.page_movements, session, member.id))
    taken = listed(
        request,
        withdrawals_page,
        WITHDRAWALS_PER_PAGE,
        partial(ledger.page_withdrawals, session, member_id=member.id),
        param="withdrawals_page",
        fragment="my-withdrawals",
    )
    return render(
        request,
        "m/earnings/index.html",
        member=member,
        program=require_program(session, member.program_id),
        balance=ledger.balance(session, member.id),
        movements=movements.items,
        order_numbers=orders.order_numbers_of_member(
            session, member.id, (m.source_id for m in movements.items if m.source == "order")
        ),
        pager=movements.pager,
        withdrawals=taken.items,
        withdrawals_pager=taken.pager,
        rules=withdrawals.rules_of(session, member.program_id),
        request_id=uuid.uuid4().hex,
        payee=session.get(PayeeAccount, member.id),
        payee_kinds=[k.value for k in PayeeKind],
        payee_saved=payee_saved,
        done=done,
        error=error,
        payee_error=payee_error,
        amount=amount,
    )


@router.post("/m/earnings/withdrawals")
def withdraw(
    session: SessionDep,
    principal: WorkspaceMember,
    clock: MoneyClockDep,
    amount: Annotated[str, Form(max_length=20)],
    request_id: Annotated[str, Form(min_length=1, max_length=64)],
) -> RedirectResponse:
    """Request a withdrawal; a double tap sends the same request id and withdraws once."""
    fen = parse_yuan(amount)
    if fen is None or fen <= 0:
        return _refused("invalid_amount", amount)
    member = require_member(session, principal.member_id or 0)
    try:
        with session.begin_nested():
            withdrawals.request(
                session,
                member=member,
                amount_fen=fen,
                request_id=request_id,
                actor=principal.actor,
                at=clock.now,
                catch_up=clock.skew,
            )
    except ProblemError as exc:
        return _refused(exc.code, amount)
    return RedirectResponse("/m/earnings?done=1", status_code=303)


def _refused(code: str, amount: str) -> RedirectResponse:
    """Back to the withdrawal form with the refusal beside the amount, the amount typed kept."""
    query = urlencode({"error": code, "amount": amount})
    return RedirectResponse(f"/m/earnings?{query}#withdraw", status_code=303)


@router.post("/m/earnings/payee")
def set_payee(
    *,
    request: Request,
    session: SessionDep,
    principal: WorkspaceMember,
    kind: Annotated[PayeeKind, Form()],
    account: Annotated[str, Form(max_length=64)],
    holder_name: Annotated[str, Form(max_length=64)],
) -> RedirectResponse:
    """Say where to be paid; the page shows it masked from then on."""
    member = require_member(session, principal.member_id or 0)
    try:
        with session.begin_nested():
            payees.put_payee(
                session,
                member=member,
                kind=kind,
                account=account,
                holder=holder_name,
                sealer=Sealer.from_settings(request.app.state.settings),
                actor=principal.actor,
                at=utcnow(),
            )
    except ProblemError as exc:
        # The typed account never goes into a URL: the refusal is shown in the form, which is asked again.
        return RedirectResponse(f"/m/earnings?payee_error={exc.code}#payee", status_code=303)
    return RedirectResponse("/m/earnings?payee_saved=1#payee", status_code=303)
