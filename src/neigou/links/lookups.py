"""Look-ups of a batch of orders' attribution: the orders' links, the buyers' touches or bindings, and
which buyers are members. One query per program and kind whatever the batch's size: the batch's keys
go as one parameter (an array on PostgreSQL, a JSON list on SQLite), never as one IN list of
thousands of bound values.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from neigou.kit.pg_arrays import one_of
from neigou.links import attribution
from neigou.links.models import Binding, ShareLink, Touch
from neigou.programs.models import Member


def _one_of(
    session: Session, column: InstrumentedAttribute[Any], values: Collection[str]
) -> ColumnElement[bool]:
    """``column`` is one of ``values``, bound as one parameter."""
    return one_of(session, column, sorted(values), "VARCHAR")


@dataclass(frozen=True)
class LinkFacts:
    """What attributing an order needs of the link it names."""

    code: str
    program_id: int
    member_id: int
    group_id: int | None
    coupon_id: int | None
    campaign_id: int | None


def links_by_code(session: Session, codes: Collection[str]) -> dict[str, LinkFacts]:
    """The links of these codes (unknown codes are left out): only the columns attribution reads, a
    batch's thousands of links without building a mapped object each."""
    if not codes:
        return {}
    rows = session.execute(
        select(
            ShareLink.code,
            ShareLink.program_id,
            ShareLink.member_id,
            ShareLink.group_id,
            ShareLink.coupon_id,
            ShareLink.campaign_id,
        ).where(_one_of(session, ShareLink.code, codes))
    )
    return {
        code: LinkFacts(code, int(program_id), int(member_id), group_id, coupon_id, campaign_id)
        for code, program_id, member_id, group_id, coupon_id, campaign_id in rows
    }


def by_program(keys: Iterable[tuple[int, str]]) -> dict[int, set[str]]:
    """(program, customer hash) pairs grouped per program: each query reads one program's index range."""
    grouped: dict[int, set[str]] = {}
    for program_id, customer in keys:
        grouped.setdefault(program_id, set()).add(customer)
    return grouped


def touches(
    session: Session, program_id: int, customers: Collection[str], *, since: datetime, until: datetime
) -> dict[str, list[attribution.Touch]]:
    """These customers' touches in a program from ``since`` to ``until``, per customer."""
    found: dict[str, list[attribution.Touch]] = {}
    if not customers:
        return found
    rows = session.execute(
        select(
            Touch.customer_ref_hash, Touch.member_id, Touch.touched_at, Touch.link_code, Touch.group_id
        ).where(
            Touch.program_id == program_id,
            _one_of(session, Touch.customer_ref_hash, customers),
            Touch.touched_at >= since,
            Touch.touched_at <= until,
        )
    )
    for customer, member_id, at, link_code, group_id in rows:
        found.setdefault(customer, []).append(attribution.Touch(member_id, at, link_code, group_id))
    return found


def bindings(session: Session, program_id: int, customers: Collection[str]) -> dict[str, attribution.Touch]:
    """The locked model's binding (the first touch ever) of these customers in a program."""
    if not customers:
        return {}
    rows = session.execute(
        select(
            Binding.customer_ref_hash,
            Binding.member_id,
            Binding.bound_at,
            Binding.link_code,
            Binding.group_id,
        ).where(Binding.program_id == program_id, _one_of(session, Binding.customer_ref_hash, customers))
    )
    return {
        customer: attribution.Touch(member_id, at, link_code, group_id)
        for customer, member_id, at, link_code, group_id in rows
    }


def buyers(session: Session, program_id: int, customers: Collection[str]) -> dict[str, frozenset[int]]:
    """The members these customers are in a program (for self-purchase)."""
    found: dict[str, set[int]] = {}
    if customers:
        rows = session.execute(
            select(Member.customer_ref_hash, Member.id).where(
                Member.program_id == program_id, _one_of(session, Member.customer_ref_hash, customers)
            )
        )
        for customer, member_id in rows:
            found.setdefault(str(customer), set()).add(int(member_id))
    return {customer: frozenset(members) for customer, members in found.items()}
