"""Queries of the customer book: filtered pages of a member's customers, consent as it stands, segments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, extract, func, literal, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from neigou.crm import dormancy
from neigou.crm.models import Consent, ConsentPurpose, Customer, PushMessage, Segment, SpendingPower
from neigou.kit.bulk import chunks
from neigou.kit.clock import as_utc
from neigou.kit.paging import Page, Paged, count_rows, paginate
from neigou.programs.models import Member


@dataclass(frozen=True)
class CustomerFilter:
    """Criteria on a member's customers; each one given must hold (a segment is a saved one)."""

    tags: tuple[str, ...] = ()
    spending_power: SpendingPower | None = None
    dormant_days: int | None = None
    category: str | None = None
    birthday_month: int | None = None

    @classmethod
    def of(cls, segment: Segment) -> CustomerFilter:
        """The filter a segment saved."""
        return cls(
            tags=tuple(segment.tags or ()),
            spending_power=segment.spending_power,
            dormant_days=segment.dormant_days,
            category=segment.category,
            birthday_month=segment.birthday_month,
        )


def _contains(session: Session, column: InstrumentedAttribute[list[str]], value: str) -> ColumnElement[bool]:
    """The JSON list in ``column`` holds ``value`` (JSONB ``@>`` on PostgreSQL, ``json_each`` on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(column, JSONB).contains([value])
    each = func.json_each(column).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == value))


def customers_matching(
    session: Session, member_id: int, where: CustomerFilter, at: datetime
) -> Select[Customer]:
    """A member's customers (not erased) meeting ``where``, oldest first."""
    stmt = select(Customer).where(Customer.member_id == member_id, Customer.erased_at.is_(None))
    for tag in where.tags:
        stmt = stmt.where(_contains(session, Customer.tags, tag))
    if where.spending_power is not None:
        effective = func.coalesce(Customer.spending_power, Customer.spending_power_derived)
        stmt = stmt.where(effective == where.spending_power.value)
    if where.dormant_days is not None:
        program = select(Member.program_id).where(Member.id == member_id).scalar_subquery()
        stmt = stmt.where(dormancy.dormant(program_id=program, days=where.dormant_days, at=at))
    if where.category is not None:
        stmt = stmt.where(_contains(session, Customer.preferred_categories, where.category))
    if where.birthday_month is not None:
        stmt = stmt.where(extract("month", Customer.birthday) == where.birthday_month)
    return stmt.order_by(Customer.id)


def page_customers(
    session: Session, page: Page, *, member_id: int, where: CustomerFilter, at: datetime
) -> Paged[Customer]:
    """One page of a member's customers meeting ``where``, and how many meet it."""
    return paginate(session, customers_matching(session, member_id, where, at), page)


def count_customers(session: Session, *, member_id: int, where: CustomerFilter, at: datetime) -> int:
    """How many of a member's customers meet ``where``."""
    return count_rows(session, customers_matching(session, member_id, where, at))


def customer_ids_matching(
    session: Session, member_id: int, where: CustomerFilter, at: datetime, *, limit: int | None = None
) -> list[int]:
    """Ids of the customers of the member meeting ``where`` (a segment resolved for a push), oldest
    first, at most ``limit`` of them. Read without holding a row."""
    stmt = customers_matching(session, member_id, where, at).with_only_columns(Customer.id).limit(limit)
    return list(session.scalars(stmt))


def customer_by_ref(session: Session, member_id: int, ref_hash: str) -> Customer | None:
    """The member's customer with this keyed reference, if any."""
    return session.scalars(
        select(Customer).where(Customer.member_id == member_id, Customer.customer_ref_hash == ref_hash)
    ).one_or_none()


def existing_refs(session: Session, member_id: int, ref_hashes: Sequence[str]) -> set[str]:
    """Which of these keyed references the member's book already holds."""
    found: set[str] = set()
    for part in chunks(list(ref_hashes)):
        found.update(
            session.scalars(
                select(Customer.customer_ref_hash).where(
                    Customer.member_id == member_id, Customer.customer_ref_hash.in_(part)
                )
            )
        )
    return found


def newest_decision() -> ColumnElement[bool]:
    """True for the row that is its customer's newest decision for its purpose: the latest ``at`` (when
    the customer decided), the later record among decisions of the same moment. Every reader of consent
    decides "newest" this way, so a decision recorded late but taken earlier never hides a later one."""
    newer = aliased(Consent)
    return ~exists(
        select(newer.id).where(
            newer.customer_id == Consent.customer_id,
            newer.purpose == Consent.purpose,
            or_(newer.at > Consent.at, and_(newer.at == Consent.at, newer.id > Consent.id)),
        )
    )


def marketing_consents(session: Session, customer_ids: Sequence[int]) -> dict[int, bool]:
    """Per customer, whether marketing consent stands now: their newest decision is a grant not
    withdrawn. Customers without a decision are absent (no consent)."""
    answer: dict[int, bool] = {}
    for part in chunks(list(customer_ids)):
        rows = session.execute(
            select(Consent.customer_id, and_(Consent.granted, Consent.withdrawn_at.is_(None))).where(
                Consent.customer_id.in_(part),
                Consent.purpose == ConsentPurpose.MARKETING,
                newest_decision(),
            )
        )
        answer.update((customer_id, bool(standing)) for customer_id, standing in rows)
    return answer


def current_consent(session: Session, customer_id: int, purpose: ConsentPurpose) -> Consent | None:
    """The newest decision of a customer for a purpose (by when it was taken, then by record)."""
    return session.scalars(
        select(Consent)
        .where(Consent.customer_id == customer_id, Consent.purpose == purpose)
        .order_by(Consent.at.desc(), Consent.id.desc())
        .limit(1)
    ).first()


def last_refusal(session: Session, customer_id: int, purpose: ConsentPurpose) -> datetime | None:
    """When the customer last said no for a purpose: the latest withdrawal or refusal, if any."""
    base = select(Consent).where(Consent.customer_id == customer_id, Consent.purpose == purpose)
    withdrawn = session.scalars(
        base.where(Consent.withdrawn_at.is_not(None)).order_by(Consent.withdrawn_at.desc()).limit(1)
    ).first()
    refused = session.scalars(
        base.where(Consent.granted.is_(False)).order_by(Consent.at.desc()).limit(1)
    ).first()
    times = [as_utc(t) for t in (withdrawn and withdrawn.withdrawn_at, refused and refused.at) if t]
    return max(times, default=None)


def consent_history(session: Session, customer_id: int) -> list[Consent]:
    """Every consent decision of a customer, newest first (by when it was taken, then by record)."""
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.customer_id == customer_id)
            .order_by(Consent.at.desc(), Consent.id.desc())
        )
    )


def messages_of(session: Session, customer_id: int) -> list[PushMessage]:
    """The messages pushed to a customer, newest first."""
    return list(
        session.scalars(
            select(PushMessage).where(PushMessage.customer_id == customer_id).order_by(PushMessage.id.desc())
        )
    )


def page_segments(session: Session, page: Page, *, member_id: int) -> Paged[Segment]:
    """A member's segments, oldest first."""
    stmt = select(Segment).where(Segment.member_id == member_id).order_by(Segment.id)
    return paginate(session, stmt, page)
