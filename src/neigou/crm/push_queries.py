"""The reads a push needs: the member's customers, their marketing consent, their pushes so far,
a push's messages and skips, and the group each customer came from (its robot delivers to them)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from neigou.crm.models import (
    Consent,
    ConsentPurpose,
    Customer,
    Push,
    PushMessage,
    PushSkip,
)
from neigou.crm.repository import newest_decision
from neigou.groups.models import Group, GroupStatus
from neigou.kit.bulk import chunks
from neigou.kit.clock import as_utc
from neigou.kit.paging import Page, Paged, paginate
from neigou.links.models import ShareLink
from neigou.privacy import repository as privacy


def customers_of(
    session: Session, member_id: int, ids: Collection[int], *, lock: bool = False
) -> dict[int, Customer]:
    """The member's customers among ``ids`` (another member's are left out); ``lock`` holds their rows
    (in id order) until commit, so two pushes to one customer check the frequency cap one after the other."""
    found: dict[int, Customer] = {}
    for part in chunks(sorted(set(ids))):
        stmt = (
            select(Customer)
            .where(Customer.member_id == member_id, Customer.id.in_(part))
            .order_by(Customer.id)
        )
        if lock:
            stmt = stmt.with_for_update()
        found.update((c.id, c) for c in session.scalars(stmt))
    return found


_CAP_LOCK_PG = "SELECT pg_advisory_xact_lock(%s)"
_CAP_LOCK_SHARED_PG = "SELECT pg_advisory_xact_lock_shared(%s)"


def lock_program_cap(session: Session, program_id: int, *, wide: bool) -> None:
    """Serialize the frequency cap of pushes of one program that the customers' locks do not (PostgreSQL;
    SQLite's write lock, taken by ``privacy.lock_customers``, already does): a push of a few customers
    holds this lock shared and each of its shoppers' locks exclusively, so two of them wait for each other
    only over a shared shopper; a wide push, which takes the opt-outs' one shared lock in place of its
    shoppers' (``privacy.repository.WIDE_FROM``), holds it exclusively and waits for every other push of
    the program. Taken before the customers' locks, by every push."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    key = privacy.lock_key(f"neigou.push-cap:{program_id}")
    connection.exec_driver_sql(_CAP_LOCK_PG if wide else _CAP_LOCK_SHARED_PG, (key,))


def customer_hashes(session: Session, member_id: int, ids: Collection[int]) -> set[str]:
    """The customer hashes of the member's customers among ``ids``, read without holding a row."""
    found: set[str] = set()
    for part in chunks(sorted(set(ids))):
        found.update(
            session.scalars(
                select(Customer.customer_ref_hash).where(
                    Customer.member_id == member_id, Customer.id.in_(part)
                )
            )
        )
    return found


def consenting(session: Session, customer_ids: Collection[int]) -> set[int]:
    """The customers whose newest marketing decision (``repository.newest_decision``) is a grant not
    withdrawn."""
    granted: set[int] = set()
    for part in chunks(sorted(set(customer_ids))):
        stmt = select(Consent.customer_id).where(
            Consent.customer_id.in_(part),
            Consent.purpose == ConsentPurpose.MARKETING,
            newest_decision(),
            Consent.granted.is_(True),
            Consent.withdrawn_at.is_(None),
        )
        granted.update(session.scalars(stmt))
    return granted


def push_times(session: Session, program_id: int, ref_hashes: Collection[str]) -> dict[str, list[datetime]]:
    """Each shopper's pushes so far in the program (sent or scheduled), by keyed reference: a shopper in
    several salespeople's books is one person, whichever entry a push reached. A push counts at the time
    of its first message to them, or at the push's own time when that is later: a push is never counted
    before it was made (messages written with a past ``at`` before it came to mean now kept that time,
    yet went out when written)."""
    times: dict[str, list[datetime]] = {}
    for part in chunks(sorted(set(ref_hashes))):
        stmt = (
            select(Customer.customer_ref_hash, func.min(PushMessage.send_at), Push.created_at)
            .join(PushMessage, PushMessage.customer_id == Customer.id)
            .join(Push, Push.id == PushMessage.push_id)
            .where(Customer.program_id == program_id, Customer.customer_ref_hash.in_(part))
            .group_by(Customer.customer_ref_hash, PushMessage.push_id, Push.created_at)
        )
        for ref_hash, at, made in session.execute(stmt):
            times.setdefault(ref_hash, []).append(max(as_utc(at), as_utc(made)))
    return times


def by_request(session: Session, member_id: int, request_id: str) -> Push | None:
    """The member's push made under this idempotency key."""
    return session.scalar(select(Push).where(Push.member_id == member_id, Push.request_id == request_id))


def messages_of(session: Session, push_ids: Collection[int]) -> dict[int, list[PushMessage]]:
    """Each push's messages, in the order written."""
    found: dict[int, list[PushMessage]] = {pid: [] for pid in push_ids}
    for part in chunks(sorted(set(push_ids))):
        stmt = select(PushMessage).where(PushMessage.push_id.in_(part)).order_by(PushMessage.id)
        for message in session.scalars(stmt):
            found[message.push_id].append(message)
    return found


def skips_of(session: Session, push_id: int) -> list[PushSkip]:
    """A push's skipped customers, in the order written."""
    return list(session.scalars(select(PushSkip).where(PushSkip.push_id == push_id).order_by(PushSkip.id)))


def _pushes(member_id: int | None, program_id: int | None) -> Select[Push]:
    stmt = select(Push).order_by(Push.created_at.desc(), Push.id.desc())
    if member_id is not None:
        stmt = stmt.where(Push.member_id == member_id)
    if program_id is not None:
        stmt = stmt.where(Push.program_id == program_id)
    return stmt


def page_pushes(
    session: Session, page: Page, *, member_id: int | None = None, program_id: int | None = None
) -> Paged[Push]:
    """A page of pushes, newest first, and their number."""
    return paginate(session, _pushes(member_id, program_id), page)


def customer_rows(session: Session, ids: Collection[int]) -> dict[int, Customer]:
    """Customers by id."""
    found: dict[int, Customer] = {}
    for part in chunks(sorted(set(ids))):
        found.update((c.id, c) for c in session.scalars(select(Customer).where(Customer.id.in_(part))))
    return found


def link_codes(session: Session, link_ids: Collection[int]) -> dict[int, str]:
    """The codes of these links."""
    found: dict[int, str] = {}
    for part in chunks(sorted(set(link_ids))):
        stmt = select(ShareLink.id, ShareLink.code).where(ShareLink.id.in_(part))
        found.update((int(lid), str(code)) for lid, code in session.execute(stmt))
    return found


def skip_counts(session: Session, push_ids: Collection[int]) -> dict[int, int]:
    """How many customers each push skipped."""
    found: dict[int, int] = {}
    for part in chunks(sorted(set(push_ids))):
        stmt = (
            select(PushSkip.push_id, func.count(PushSkip.id))
            .where(PushSkip.push_id.in_(part))
            .group_by(PushSkip.push_id)
        )
        found.update((int(p), int(n)) for p, n in session.execute(stmt))
    return found


def customer_groups(session: Session, customer_ids: Collection[int]) -> dict[int, int]:
    """Each customer's own group: the group of the share link that brought them into the book, while it
    is active and still run by the member whose book they are in (customers without one are left out)."""
    found: dict[int, int] = {}
    for part in chunks(sorted(set(customer_ids))):
        stmt = (
            select(Customer.id, Group.id)
            .join(ShareLink, ShareLink.id == Customer.source_link_id)
            .join(Group, Group.id == ShareLink.group_id)
            .where(
                Customer.id.in_(part),
                Group.owner_member_id == Customer.member_id,
                Group.status == GroupStatus.ACTIVE,
            )
        )
        found.update((customer_id, group_id) for customer_id, group_id in session.execute(stmt))
    return found
