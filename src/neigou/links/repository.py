"""Queries of the links domain: one statement per page or batch, never one per row."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Select, and_, case, func, literal, select
from sqlalchemy.orm import Session

from neigou.kit import bulk
from neigou.kit.paging import Page, Paged, Sortable, paginate
from neigou.links.models import CouponClaim, LinkClick, ShareLink, Touch
from neigou.links.useragent import UaClass
from neigou.programs.models import Member, Program

_CLICK_COLUMNS = (
    "ref",
    "link_id",
    "program_id",
    "member_id",
    "clicked_at",
    "visitor_id",
    "ua_class",
    "customer_ref_hash",
)
# Binary COPY takes the columns' PostgreSQL types.
_CLICK_TYPES_PG = ("varchar", "int8", "int4", "int4", "timestamptz", "varchar", "varchar", "varchar")


def insert_clicks(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    """Clicks straight to the driver, duplicates (same ``ref``) skipped.

    The click table is the busiest insert we have, so this skips SQLAlchemy's per-row parameter
    processing (about 20 µs a row). SQLite takes one executemany (a prepared statement stepped per row
    in C); PostgreSQL takes a binary COPY inside a savepoint, and a batch met before (a resend after a
    writer died, a stream entry delivered twice) goes through a staging table that skips the refs
    already stored. ``rows`` follow ``_CLICK_COLUMNS``, times aware.
    """
    if not rows:
        return
    if session.connection().dialect.name == "sqlite":
        sqlite_rows = [(*r[:4], _sqlite_time(r[4]), *r[5:]) for r in rows]
        bulk.insert_driver_rows(session, "link_clicks", _CLICK_COLUMNS, sqlite_rows, unique=("ref",))
        return
    bulk.copy_ignoring_duplicates(
        session, "link_clicks", _CLICK_COLUMNS, rows, unique=("ref",), types=_CLICK_TYPES_PG
    )


def _sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy stores for a UTC time on SQLite (a batch shares a few seconds: cached)."""
    utc = value.astimezone(UTC)
    return f"{_utc_second(int(utc.timestamp()))}.{utc.microsecond:06d}"


@lru_cache(maxsize=512)
def _utc_second(epoch_second: int) -> str:
    return datetime.fromtimestamp(epoch_second, UTC).strftime("%Y-%m-%d %H:%M:%S")


def identified_visitors(session: Session, visitor_ids: Collection[str]) -> dict[str, tuple[str, int | None]]:
    """The customer behind each of these visitor ids that identified itself (primary-key lookups), with
    the organization it identified itself to (None: a linkage stored before migration 0052).

    Asked per click batch with the batch's own visitors, as one parameter (an array on PostgreSQL, a
    JSON list on SQLite): an IN list of thousands of bound values cost more to build than the lookups.
    """
    if not visitor_ids:
        return {}
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(_IDENTIFIED_SQLITE, (json.dumps(sorted(visitor_ids)),))
    else:
        rows = connection.exec_driver_sql(_IDENTIFIED_PG, (sorted(visitor_ids),))
    return {
        str(visitor): (str(customer), int(org) if org is not None else None)
        for visitor, customer, org in rows
    }


_IDENTIFIED_PG = "SELECT visitor_id, customer_ref_hash, organization_id FROM link_visitors WHERE visitor_id = ANY(%b)"  # binary array
_IDENTIFIED_SQLITE = "SELECT visitor_id, customer_ref_hash, organization_id FROM link_visitors WHERE visitor_id IN (SELECT value FROM json_each(?))"


def program_organizations(session: Session, program_ids: Collection[int]) -> dict[int, int]:
    """The organization of each of these programs (primary-key lookups, one query)."""
    if not program_ids:
        return {}
    rows = session.execute(
        select(Program.id, Program.organization_id).where(Program.id.in_(sorted(program_ids)))
    )
    return {int(program): int(org) for program, org in rows}


def get_link(session: Session, link_id: int) -> ShareLink | None:
    """The link with this id."""
    return session.get(ShareLink, link_id)


def get_link_by_code(session: Session, code: str) -> ShareLink | None:
    """The link with this code."""
    return session.scalar(select(ShareLink).where(ShareLink.code == code))


def code_taken(session: Session, code: str) -> bool:
    """True when a link has this code already."""
    return session.scalar(select(ShareLink.id).where(ShareLink.code == code)) is not None


def list_links(
    session: Session,
    *,
    member_id: int | None = None,
    program_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[ShareLink]:
    """Links, newest first, of a member or a program."""
    return list(session.scalars(_links(member_id, program_id).limit(limit).offset(offset)))


def page_links(
    session: Session, page: Page, *, member_id: int | None = None, program_id: int | None = None
) -> Paged[ShareLink]:
    """A page of :func:`list_links` and how many links match."""
    return paginate(session, _links(member_id, program_id), page)


SORTS: dict[str, Sortable] = {
    "created": ShareLink.id,
    "code": ShareLink.code,
    "sku": ShareLink.sku,
    "member": Member.name,
}
SEARCH: tuple[Sortable, ...] = (ShareLink.code, ShareLink.sku, Member.name)


def links_statement(*, program_id: int | None, active: bool | None) -> Select[ShareLink]:
    """Links (of a program; enabled or disabled) with their member joined for search and sort, newest
    first: what the console's list pages through."""
    stmt = _links(None, program_id).join(Member, Member.id == ShareLink.member_id)
    return stmt if active is None else stmt.where(ShareLink.active.is_(active))


def _links(member_id: int | None, program_id: int | None) -> Select[ShareLink]:
    query = select(ShareLink).order_by(ShareLink.id.desc())
    if member_id is not None:
        query = query.where(ShareLink.member_id == member_id)
    if program_id is not None:
        query = query.where(ShareLink.program_id == program_id)
    return query


@dataclass(frozen=True)
class LinkStats:
    """What a link brought: clicks by people (bots left out), all opens, and coupon claims."""

    clicks: int = 0
    opens: int = 0
    claims: int = 0
    last_click_at: datetime | None = None


def link_stats(session: Session, link_ids: Collection[int]) -> dict[int, LinkStats]:
    """Stats of these links in two grouped queries."""
    if not link_ids:
        return {}
    ids = sorted(link_ids)
    people = func.sum(case((LinkClick.ua_class != UaClass.BOT, 1), else_=0), type_=Integer)
    clicks = {
        int(link_id): (int(p or 0), int(n or 0), last)
        for link_id, p, n, last in session.execute(
            select(LinkClick.link_id, people, func.count(LinkClick.id), func.max(LinkClick.clicked_at))
            .where(LinkClick.link_id.in_(ids))
            .group_by(LinkClick.link_id)
        )
    }
    claims = {
        int(link_id): int(n)
        for link_id, n in session.execute(
            select(CouponClaim.link_id, func.count(CouponClaim.id))
            .where(CouponClaim.link_id.in_(ids))
            .group_by(CouponClaim.link_id)
        )
        if link_id is not None
    }
    stats: dict[int, LinkStats] = {}
    for link_id in ids:
        p, n, last = clicks.get(link_id, (0, 0, None))
        stats[link_id] = LinkStats(clicks=p, opens=n, claims=claims.get(link_id, 0), last_click_at=last)
    return stats


def links_by_id(session: Session, link_ids: Collection[int]) -> dict[int, ShareLink]:
    """Those of these links that exist, by id (stream entries may outlive a link)."""
    if not link_ids:
        return {}
    return {
        link.id: link for link in session.scalars(select(ShareLink).where(ShareLink.id.in_(sorted(link_ids))))
    }


def untouched_clicks_of_visitor(
    session: Session, visitor_id: str, organization_id: int
) -> list[tuple[LinkClick, ShareLink]]:
    """A visitor's stored clicks on this organization's links that are not touches yet, with their
    links (the visitor identified themselves to this organization, to no other)."""
    query = (
        select(LinkClick, ShareLink)
        .join(ShareLink, ShareLink.id == LinkClick.link_id)
        .join(Program, Program.id == ShareLink.program_id)
        .outerjoin(Touch, Touch.source_ref == literal("click:") + LinkClick.ref)
        .where(
            and_(
                LinkClick.visitor_id == visitor_id,
                Program.organization_id == organization_id,
                Touch.id.is_(None),
            )
        )
        .order_by(LinkClick.clicked_at)
    )
    return [(click, link) for click, link in session.execute(query)]


def claim_by_request(session: Session, coupon_id: int, request_id: str) -> CouponClaim | None:
    """The claim a caller made with this idempotency key."""
    return session.scalar(
        select(CouponClaim).where(CouponClaim.coupon_id == coupon_id, CouponClaim.request_id == request_id)
    )


def claims_of_customer(
    session: Session, coupon_id: int, customer_ref_hash: str, *, through_member: int | None = None
) -> int:
    """How many claims of a coupon a customer holds; with ``through_member``, only those made through
    that member's links (what a member may know of a shopper: never a claim through another's link)."""
    query = select(func.count(CouponClaim.id)).where(
        CouponClaim.coupon_id == coupon_id, CouponClaim.customer_ref_hash == customer_ref_hash
    )
    if through_member is not None:
        query = query.where(CouponClaim.member_id == through_member)
    return session.scalar(query) or 0
