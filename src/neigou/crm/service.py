"""Writes of the customer book: add and edit customers, record consent decisions, and the views of a
customer the API answers. Every write validates first and flushes; the request owns the commit."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.auth.models import Role
from neigou.auth.service import Principal
from neigou.crm import customer_audit
from neigou.crm import repository as repo
from neigou.crm.models import Consent, ConsentPurpose, Customer, CustomerSource, SkipReason
from neigou.crm.push_cancel import cancel_pending
from neigou.crm.schemas import (
    ConsentGiven,
    ConsentOut,
    ConsentsOut,
    CustomerCreate,
    CustomerExport,
    CustomerOut,
    CustomerUpdate,
    ExportedMessage,
)
from neigou.kit.actor import Actor
from neigou.kit.clock import as_utc, local_date
from neigou.kit.errors import Conflict, Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.kit.ids import customer_ref_hash, customer_ref_mask
from neigou.privacy import repository as privacy
from neigou.programs.models import Member, Program

EDITABLE = ("name", "job", "spending_power", "tags", "birthday")


@dataclass(frozen=True)
class NewCustomer:
    """A checked customer to add: the reference already hashed and masked."""

    ref_hash: str
    masked: str
    data: CustomerCreate

    @classmethod
    def of(cls, secret_key: str, data: CustomerCreate) -> NewCustomer:
        """Hash and mask the reference (a mobile number however written is one customer)."""
        return cls(
            customer_ref_hash(secret_key, data.customer_ref), customer_ref_mask(data.customer_ref), data
        )


def customer_exists() -> Conflict:
    """The member's book already holds this customer."""
    return Conflict(
        Message("This customer is already in the member's customer book."), code="customer_exists"
    )


# Why a shopper who opted out (PIPL) is not added; it says no more: not where, when or by whom.
OPTED_OUT = Message("This customer has opted out of personal information processing and cannot be added.")


def customer_opted_out() -> Conflict:
    """The customer opted out of the program or of every program."""
    return Conflict(
        OPTED_OUT,
        code="customer_opted_out",
        extra={"field": "customer_ref"},
    )


def check_not_opted_out(session: Session, program_id: int, ref_hashes: Collection[str]) -> set[str]:
    """Those of the customers who opted out of the program or of every program (whoever recorded it),
    asked once; their opt-out locks are held until the commit, so one recorded meanwhile waits for this
    transaction and then erases what it added (``privacy.repository.lock_customers``)."""
    privacy.lock_customers(session, ref_hashes)
    return {h for _, h in privacy.suppressed(session, {(program_id, h) for h in ref_hashes})}


def program_today(session: Session, program_id: int, at: datetime) -> date:
    """The date at ``at`` in the program's zone: a birthday may be today there."""
    program = session.get(Program, program_id)
    return local_date(at, program.timezone if program is not None else "UTC")


def check_birthday(value: date | None, today: date) -> None:
    """A birthday lies between 1900 and today."""
    if value is not None and not date(1900, 1, 1) <= value <= today:
        raise Invalid(
            Message("That birthday is not a plausible date of birth."),  # personal data: never repeated
            code="invalid_birthday",
            extra={"field": "birthday"},
        )


def add_customer(
    session: Session,
    *,
    member: Member,
    new: NewCustomer,
    source: CustomerSource,
    actor: Actor,
    at: datetime,
    consent_at: datetime | None = None,
    source_link_id: int | None = None,
) -> Customer:
    """Add a customer to the member's book (409 ``customer_opted_out`` for a shopper who opted out of
    the program or of all, 409 ``customer_exists`` for a reference it holds), with their consent
    decision when one came with them."""
    data = new.data
    if data.birthday is not None:
        check_birthday(data.birthday, program_today(session, member.program_id, at))
    if check_not_opted_out(session, member.program_id, [new.ref_hash]):
        raise customer_opted_out()
    if repo.customer_by_ref(session, member.id, new.ref_hash) is not None:
        raise customer_exists()
    customer = Customer(
        program_id=member.program_id,
        member_id=member.id,
        customer_ref_hash=new.ref_hash,
        customer_ref_masked=new.masked,
        name=data.name,
        job=data.job,
        spending_power=data.spending_power,
        tags=list(data.tags),
        birthday=data.birthday,
        source=source,
        source_link_id=source_link_id,
        preferred_categories=[],
        created_at=at,
        updated_at=at,
    )
    try:
        with session.begin_nested():
            session.add(customer)
            session.flush()
    except IntegrityError as exc:  # the same customer added at the same moment by another request
        raise customer_exists() from exc
    if data.consent is not None:
        decide(session, customer=customer, given=data.consent, at=consent_at or at, recorded_at=at)
    audit.record(
        session,
        actor=actor,
        action="customer.create",
        entity="customer",
        entity_id=customer.id,
        after={"member_id": member.id, "customer": customer.customer_ref_masked, "source": source.value},
        at=at,
    )
    return customer


def decide(
    session: Session, *, customer: Customer, given: ConsentGiven, at: datetime, recorded_at: datetime
) -> None:
    """Record the marketing decision a customer came with (a grant, or a refusal)."""
    if given.marketing:
        grant(
            session,
            customer=customer,
            purpose=ConsentPurpose.MARKETING,
            at=at,
            source=given.source,
            recorded_at=recorded_at,
        )
        return
    session.add(
        Consent(
            program_id=customer.program_id,
            customer_id=customer.id,
            purpose=ConsentPurpose.MARKETING,
            granted=False,
            at=at,
            source=given.source or "salesperson",
            recorded_at=recorded_at,
        )
    )
    session.flush()


def grant(
    session: Session,
    *,
    customer: Customer,
    purpose: ConsentPurpose,
    at: datetime,
    source: str | None,
    recorded_at: datetime,
) -> Consent:
    """A new grant; the history keeps every earlier decision. A grant taken at or before the
    customer's latest withdrawal or refusal is old news (a backdated form, a late checkout): it never
    overrides the later "no" (422 ``consent_predates_withdrawal``; capture skips it silently)."""
    if predates_refusal(session, customer=customer, purpose=purpose, at=at):
        raise Invalid(
            Message("The customer withdrew or refused consent after this consent was given."),
            code="consent_predates_withdrawal",
            extra={"field": "at"},
        )
    consent = Consent(
        program_id=customer.program_id,
        customer_id=customer.id,
        purpose=purpose,
        granted=True,
        at=at,
        source=source or "salesperson",
        recorded_at=recorded_at,
    )
    session.add(consent)
    session.flush()
    return consent


def predates_refusal(session: Session, *, customer: Customer, purpose: ConsentPurpose, at: datetime) -> bool:
    """Whether a grant taken at ``at`` is at or before the customer's latest withdrawal or refusal."""
    last = repo.last_refusal(session, customer.id, purpose)
    return last is not None and as_utc(at) <= last


def record_grant(
    session: Session,
    *,
    customer: Customer,
    purpose: ConsentPurpose,
    at: datetime,
    source: str | None,
    recorded_at: datetime,
) -> Consent:
    """A grant asked for through the API: the customer's opt-out lock is taken first, as a withdrawal
    takes it, so a withdrawal at the same moment is either seen (and a grant before it refused) or
    comes after and ends this grant."""
    privacy.lock_customers(session, {customer.customer_ref_hash})
    return grant(session, customer=customer, purpose=purpose, at=at, source=source, recorded_at=recorded_at)


def withdraw(session: Session, *, customer: Customer, purpose: ConsentPurpose, at: datetime) -> Consent:
    """End the standing grant (``withdrawn_at``) and cancel the customer's pending push messages
    (``no_consent``); 409 ``no_consent`` when none stands. The customer's opt-out lock is taken first,
    as a push takes it: a push at the same moment either waits and finds no consent, or is done and
    its messages are cancelled here."""
    privacy.lock_customers(session, {customer.customer_ref_hash})
    current = repo.current_consent(session, customer.id, purpose)
    if current is None or not current.granted or current.withdrawn_at is not None:
        raise Conflict(Message("The customer has no consent standing to withdraw."), code="no_consent")
    if at < current.at:
        raise Invalid(
            Message("A withdrawal cannot come before the consent it ends ({at}).", at=current.at.isoformat()),
            code="withdrawal_before_consent",
            extra={"field": "at"},
        )
    current.withdrawn_at = at
    session.flush()
    if purpose is ConsentPurpose.MARKETING:
        cancel_pending(session, [customer.id], SkipReason.NO_CONSENT)
    return current


def update_customer(
    session: Session, *, customer: Customer, data: CustomerUpdate, actor: Actor, at: datetime
) -> Customer:
    """Change the fields sent (``null`` clears one)."""
    sent = data.model_fields_set
    if data.birthday is not None:
        check_birthday(data.birthday, program_today(session, customer.program_id, at))
    changes: dict[str, Any] = {name: getattr(data, name) for name in EDITABLE if name in sent}
    if "tags" in changes:
        changes["tags"] = list(changes["tags"] or [])
    before = {name: _plain(getattr(customer, name)) for name in changes}
    for name, value in changes.items():
        setattr(customer, name, value)
    after = {name: _plain(getattr(customer, name)) for name in changes}
    if after == before:
        return customer
    customer.updated_at = at
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="customer.update",
        entity=customer_audit.ENTITY,
        entity_id=customer.id,
        after=customer_audit.changed_fields(before, after),
        at=at,
    )
    return customer


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def require_customer(session: Session, principal: Principal, customer_id: int) -> Customer:
    """A customer the caller may reach: a member's own (404 for anyone else's), any for operators."""
    customer = session.get(Customer, customer_id)
    hidden = customer is None or customer.erased_at is not None
    if (
        customer is None
        or hidden
        or (principal.role is Role.MEMBER and principal.member_id != customer.member_id)
    ):
        raise NotFound(
            Message("This customer does not exist."),
            code="customer_not_found",
        )
    return customer


def customers_out(session: Session, customers: list[Customer]) -> list[CustomerOut]:
    """API views of a page of customers, with their consent in one query."""
    consents = repo.marketing_consents(session, [c.id for c in customers])
    return [
        CustomerOut.model_validate(c).model_copy(update={"marketing_consent": consents.get(c.id, False)})
        for c in customers
    ]


def consents_out(session: Session, customer: Customer) -> ConsentsOut:
    """A customer's standing consent and its history."""
    history = repo.consent_history(session, customer.id)
    marketing = repo.marketing_consents(session, [customer.id]).get(customer.id, False)
    return ConsentsOut(marketing=marketing, history=[ConsentOut.model_validate(c) for c in history])


def export(session: Session, customer: Customer) -> CustomerExport:
    """Everything the book holds about a customer (their access right under PIPL)."""
    return CustomerExport(
        customer=customers_out(session, [customer])[0],
        consents=[ConsentOut.model_validate(c) for c in repo.consent_history(session, customer.id)],
        messages=[ExportedMessage.model_validate(m) for m in repo.messages_of(session, customer.id)],
    )
