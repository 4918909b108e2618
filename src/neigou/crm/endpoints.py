"""HTTP endpoints of the customer book (``/api/v1``): customers, consent, export, import.

A member reaches only their own book (``/members/{id}/…`` of another member: 403 ``other_member``;
``/customers/{id}`` of another member's customer: 404); the organization's operators reach every book.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile, status

from neigou.auth.dependencies import Operator, OperatorOrMember, require_member_access
from neigou.crm import capture as _capture  # noqa: F401 - registers the consent listener
from neigou.crm import derive, imports, service
from neigou.crm import repository as repo
from neigou.crm.models import ConsentPurpose, CustomerSource, SpendingPower
from neigou.crm.schemas import (
    ConsentIn,
    ConsentsOut,
    CustomerCreate,
    CustomerExport,
    CustomerOut,
    CustomerUpdate,
    DerivedOut,
    IdOut,
    ImportOut,
    WithdrawalIn,
)
from neigou.kit.deps import ReaderLocale, SessionDep
from neigou.kit.instants import MoneyClockDep
from neigou.kit.paging import PageDep
from neigou.offers.schemas import Tag, tidy_tags
from neigou.programs.service import require_member, require_program

router = APIRouter(tags=["crm"])


@router.post("/members/{member_id}/customers", status_code=status.HTTP_201_CREATED, response_model=IdOut)
def create_customer(
    *,
    member_id: int,
    body: CustomerCreate,
    request: Request,
    session: SessionDep,
    principal: OperatorOrMember,
    clock: MoneyClockDep,
) -> IdOut:
    """Add a customer to the member's book; the same reference again is 409 ``customer_exists``, a
    shopper who opted out 409 ``customer_opted_out``."""
    require_member_access(principal, member_id)
    member = require_member(session, member_id)
    consent_at = clock.until_now(body.consent.at, field="consent.at") if body.consent is not None else None
    customer = service.add_customer(
        session,
        member=member,
        new=service.NewCustomer.of(request.app.state.settings.secret_key, body),
        source=CustomerSource.MANUAL,
        actor=principal.actor,
        at=clock.now,
        consent_at=consent_at,
    )
    return IdOut(id=customer.id)


@router.get("/members/{member_id}/customers", response_model=list[CustomerOut])
def list_customers(
    *,
    member_id: int,
    session: SessionDep,
    principal: OperatorOrMember,
    clock: MoneyClockDep,
    page: PageDep,
    tag: Annotated[list[Tag] | None, Query(max_length=20, description="every tag given")] = None,
    spending_power: SpendingPower | None = None,
    dormant_days: Annotated[
        int | None, Query(ge=0, le=3650, description="no click or order for N days")
    ] = None,
    category: Annotated[
        str | None, Query(min_length=1, max_length=40, description="a preferred category's code")
    ] = None,
    birthday_month: Annotated[int | None, Query(ge=1, le=12)] = None,
) -> list[CustomerOut]:
    """The member's customers, oldest first, narrowed by tags, spending power, dormancy, category and birthday month."""
    require_member_access(principal, member_id)
    require_member(session, member_id)
    where = repo.CustomerFilter(
        tags=tuple(tidy_tags(tag or [])),  # the form tags are stored in: `尺码：M` finds `尺码:M`
        spending_power=spending_power,
        dormant_days=dormant_days,
        category=category,
        birthday_month=birthday_month,
    )
    customers = repo.page_customers(session, page, member_id=member_id, where=where, at=clock.now)
    page.answer(customers.total)
    return service.customers_out(session, customers.items)


@router.post("/members/{member_id}/customers/import", response_model=ImportOut)
def import_customers(
    *,
    member_id: int,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or .xlsx: customer_ref,name,job,…")],
    request: Request,
    session: SessionDep,
    principal: OperatorOrMember,
    clock: MoneyClockDep,
    locale: ReaderLocale,
    dry_run: bool = False,
) -> ImportOut:
    """Import a store's VIP records whole or not at all (422 ``import_invalid`` lists every bad row),
    leaving out customers who opted out (``skipped``, each with its row and reason)."""
    require_member_access(principal, member_id)
    member = require_member(session, member_id)
    return imports.import_customers(
        session,
        member=member,
        content=file.file.read(imports.MAX_BYTES + 1),
        secret_key=request.app.state.settings.secret_key,
        actor=principal.actor,
        at=clock.now,
        locale=locale,
        dry_run=dry_run,
    )


@router.get("/customers/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: int, session: SessionDep, principal: OperatorOrMember) -> CustomerOut:
    """One customer (404 ``customer_not_found`` for another member's)."""
    return service.customers_out(session, [service.require_customer(session, principal, customer_id)])[0]


@router.patch("/customers/{customer_id}", response_model=CustomerOut)
def update_customer(
    customer_id: int,
    body: CustomerUpdate,
    session: SessionDep,
    principal: OperatorOrMember,
    clock: MoneyClockDep,
) -> CustomerOut:
    """Change a customer's name, job, spending power, tags or birthday."""
    customer = service.require_customer(session, principal, customer_id)
    service.update_customer(session, customer=customer, data=body, actor=principal.actor, at=clock.now)
    return service.customers_out(session, [customer])[0]


@router.get("/customers/{customer_id}/consents", response_model=ConsentsOut)
def get_consents(customer_id: int, session: SessionDep, principal: OperatorOrMember) -> ConsentsOut:
    """The customer's consent now and every decision behind it, newest first."""
    return service.consents_out(session, service.require_customer(session, principal, customer_id))


@router.post(
    "/customers/{customer_id}/consents", status_code=status.HTTP_201_CREATED, response_model=ConsentsOut
)
def grant_consent(
    customer_id: int, body: ConsentIn, session: SessionDep, principal: OperatorOrMember, clock: MoneyClockDep
) -> ConsentsOut:
    """Record the customer's consent for a purpose (marketing push): when and where they gave it."""
    customer = service.require_customer(session, principal, customer_id)
    service.record_grant(
        session,
        customer=customer,
        purpose=body.purpose,
        at=clock.until_now(body.at),
        source=body.source,
        recorded_at=clock.now,
    )
    return service.consents_out(session, customer)


@router.post("/customers/{customer_id}/consents/withdrawal", response_model=ConsentsOut)
def withdraw_consent(
    customer_id: int,
    body: WithdrawalIn,
    session: SessionDep,
    principal: OperatorOrMember,
    clock: MoneyClockDep,
) -> ConsentsOut:
    """Withdraw the standing consent for a purpose; the customer gets no push from then on."""
    customer = service.require_customer(session, principal, customer_id)
    service.withdraw(
        session,
        customer=customer,
        purpose=body.purpose or ConsentPurpose.MARKETING,
        at=clock.until_now(body.at),
    )
    return service.consents_out(session, customer)


@router.get("/customers/{customer_id}/export", response_model=CustomerExport)
def export_customer(customer_id: int, session: SessionDep, principal: OperatorOrMember) -> CustomerExport:
    """Everything the book holds about the customer (their access right): the record, consent, messages."""
    return service.export(session, service.require_customer(session, principal, customer_id))


@router.post("/programs/{program_id}/customers/derive", response_model=DerivedOut)
def derive_customers(
    program_id: int, session: SessionDep, _principal: Operator, clock: MoneyClockDep
) -> DerivedOut:
    """Derive every customer's last purchase, last click, spending power and preferred categories now
    (the nightly job does the same)."""
    require_program(session, program_id)
    return DerivedOut(customers=derive.derive_program(session, program_id=program_id, at=clock.now))
