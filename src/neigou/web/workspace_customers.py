"""The salesperson's customer book on a phone: customers with filters, a customer's card (history,
consent, suggestions with reasons), the add-customer form, and today's customer tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from neigou.auth.service import Principal
from neigou.crm import calendar, recommend
from neigou.crm import repository as book
from neigou.crm import service as crm
from neigou.crm import workspace_repository as workspace
from neigou.crm.dormancy import DORMANT_DAYS
from neigou.crm.models import ConsentPurpose, Customer, CustomerSource, SpendingPower
from neigou.crm.recommendations import recommendations
from neigou.crm.schemas import ConsentGiven, CustomerCreate
from neigou.groups.compliance import local_date
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import NotFound, ProblemError
from neigou.kit.ids import whole_number
from neigou.kit.phones import mainland_mobile
from neigou.offers.schemas import tidy_tags
from neigou.programs.models import Member
from neigou.programs.service import require_member, require_program
from neigou.web.pager import PageNumber, page_of, pager
from neigou.web.pages import WorkspaceMember, render

router = APIRouter(include_in_schema=False)
CUSTOMERS_PER_PAGE = 10
MAX_DORMANT_DAYS = 3650
TASK_ROWS = 10
SUGGESTIONS = 5
NEW_SEASON_ROWS = 5
Text40 = Annotated[str, Query(max_length=40)]


@router.get("/m/customers", response_class=HTMLResponse)
def customers(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    tag: Text40 = "",
    power: Text40 = "",
    dormant: Text40 = "",
    page: PageNumber = 1,
) -> HTMLResponse:
    """The member's customers, a page at a time, filtered by tag, spending power and dormancy (days
    without a click or an order; the form sends an empty value for "any")."""
    member = require_member(session, principal.member_id or 0)
    days = whole_number(dormant, digits=6)
    days = days if days is not None and 1 <= days <= MAX_DORMANT_DAYS else None
    program = require_program(session, member.program_id)
    chosen = SpendingPower(power) if power in {p.value for p in SpendingPower} else None
    where = book.CustomerFilter(tags=tuple(tidy_tags([tag])), spending_power=chosen, dormant_days=days)
    paged = book.page_customers(
        session, page_of(page, CUSTOMERS_PER_PAGE), member_id=member.id, where=where, at=utcnow()
    )
    rows = paged.items
    return render(
        request,
        "m/customers/index.html",
        member=member,
        program=program,
        customers=rows,
        consents=book.marketing_consents(session, [c.id for c in rows]),
        pager=pager(request, page, CUSTOMERS_PER_PAGE, paged.total),
        tag=tag.strip(),
        power=chosen.value if chosen else "",
        dormant=days,
        powers=[p.value for p in SpendingPower],
        filtered=bool(where.tags or chosen or days),
    )


# Where a refusal is shown: beside the field it is about, else above the form.
ERROR_FIELDS = {
    "invalid_customer_ref": "phone",
    "customer_exists": "phone",
    "customer_opted_out": "phone",
    "invalid_birthday": "birthday",
}


@router.get("/m/customers/new", response_class=HTMLResponse)
def new_customer(request: Request, session: SessionDep, principal: WorkspaceMember) -> HTMLResponse:
    """The form that adds a customer to the member's book, with their marketing consent (a refused
    add renders the form again itself, so the page takes no error in its address)."""
    member = require_member(session, principal.member_id or 0)
    return _form(request, session, member)


def _form(
    request: Request,
    session: Session,
    member: Member,
    *,
    error: str = "",
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "m/customers/new.html",
        member=member,
        program=require_program(session, member.program_id),
        powers=[p.value for p in SpendingPower],
        error=error,
        error_field=ERROR_FIELDS.get(error),
        values=values or {},
        status_code=status_code,
    )


@router.post("/m/customers", response_model=None)
def add_customer(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    phone: Annotated[str, Form(max_length=40)],
    name: Annotated[str, Form(max_length=120)] = "",
    job: Annotated[str, Form(max_length=120)] = "",
    spending_power: Annotated[str, Form(max_length=10)] = "",
    tags: Annotated[str, Form(max_length=400)] = "",
    birthday: Annotated[str, Form(max_length=10)] = "",
    consent: Annotated[bool, Form()] = False,
) -> Response:
    """Add a customer named by mobile number; the card opens, or the form again with the reason
    beside its field and the values as typed (nothing written)."""
    member = require_member(session, principal.member_id or 0)
    typed = {
        "phone": phone,
        "name": name,
        "job": job,
        "spending_power": spending_power,
        "tags": tags,
        "birthday": birthday,
        "consent": "true" if consent else "",
    }
    number = mainland_mobile(phone)
    if number is None:
        return _form(request, session, member, error="invalid_customer_ref", values=typed, status_code=422)
    now = utcnow()
    try:
        data = CustomerCreate(
            customer_ref=number.e164,
            name=name.strip() or None,
            job=job.strip() or None,
            spending_power=SpendingPower(spending_power) if spending_power else None,
            tags=[t for t in tags.replace("，", ",").replace("、", ",").split(",") if t.strip()],
            birthday=date.fromisoformat(birthday) if birthday else None,
            consent=ConsentGiven(marketing=True, source="workspace") if consent else None,
        )
        with session.begin_nested():
            customer = crm.add_customer(
                session,
                member=member,
                new=crm.NewCustomer.of(request.app.state.settings.secret_key, data),
                source=CustomerSource.MANUAL,
                actor=principal.actor,
                at=now,
            )
    except ProblemError as exc:
        return _form(request, session, member, error=exc.code, values=typed, status_code=exc.status)
    except (ValidationError, ValueError):
        return _form(request, session, member, error="invalid", values=typed, status_code=422)
    return RedirectResponse(f"/m/customers/{customer.id}?added=1", status_code=303)


@dataclass(frozen=True)
class CustomerTasks:
    """How many of today's customer tasks wait (shown on the workspace home)."""

    birthdays: int
    dormant: int
    season: calendar.SeasonChange | None
    dormant_days: int = DORMANT_DAYS

    def __bool__(self) -> bool:
        return bool(self.birthdays or self.dormant or self.season)


def customer_tasks(session: Session, member_id: int, day: date, now: datetime) -> CustomerTasks:
    """The counts behind today's customer tasks: birthdays this week, dormant customers, the season."""
    dormant = book.count_customers(
        session, member_id=member_id, where=book.CustomerFilter(dormant_days=DORMANT_DAYS), at=now
    )
    return CustomerTasks(
        birthdays=len(workspace.birthdays(session, member_id, calendar.birthday_days(day))),
        dormant=dormant,
        season=calendar.season_change(day),
    )


@router.get("/m/customers/today", response_class=HTMLResponse)
def today(request: Request, session: SessionDep, principal: WorkspaceMember) -> HTMLResponse:
    """Today's customer tasks: birthdays this week, the season change, dormant customers to wake."""
    member = require_member(session, principal.member_id or 0)
    program = require_program(session, member.program_id)
    now = utcnow()
    day = local_date(now, program.timezone)
    born = workspace.birthdays(session, member.id, calendar.birthday_days(day))
    born.sort(key=lambda c: (calendar.next_birthday(c.birthday or day, day), c.id))
    season = calendar.season_change(day)
    dormant = book.page_customers(
        session,
        page_of(1, TASK_ROWS),
        member_id=member.id,
        where=book.CustomerFilter(dormant_days=DORMANT_DAYS),
        at=now,
    )
    fresh = (
        workspace.new_products(
            session,
            program.organization_id,
            since=now - timedelta(days=recommend.NEW_DAYS),
            at=now,
            limit=NEW_SEASON_ROWS,
        )
        if season
        else []
    )
    return render(
        request,
        "m/customers/today.html",
        member=member,
        program=program,
        birthdays=[(c, calendar.next_birthday(c.birthday or day, day)) for c in born],
        season=season,
        new_products=fresh,
        dormant=dormant.items,
        dormant_total=dormant.total,
        dormant_days=DORMANT_DAYS,
        consents=book.marketing_consents(session, [c.id for c in born + dormant.items]),
    )


@router.get("/m/customers/{customer_id}", response_model=None)
def customer_card(
    customer_id: int,
    request: Request,
    session: SessionDep,
    principal: WorkspaceMember,
    added: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    """One customer: profile, consent and its history, orders and clicks with this member, suggestions."""
    customer = _own_customer(session, principal, customer_id)
    if customer is None:
        return render(request, "m/customers/missing.html", status_code=404)
    program = require_program(session, customer.program_id)
    now = utcnow()
    return render(
        request,
        "m/customers/card.html",
        program=program,
        customer=customer,
        added=bool(added),
        consent=book.current_consent(session, customer.id, ConsentPurpose.MARKETING),
        consents=book.consent_history(session, customer.id),
        orders=workspace.orders_with_member(session, customer, customer.member_id),
        touches=workspace.touches_with_member(session, customer, customer.member_id),
        suggestions=recommendations(session, customer=customer, at=now, limit=SUGGESTIONS),
    )


def _own_customer(session: Session, principal: Principal, customer_id: int) -> Customer | None:
    try:
        return crm.require_customer(session, principal, customer_id)
    except NotFound:
        return None
