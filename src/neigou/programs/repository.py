"""Queries of the programs domain."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from neigou.kit.bulk import chunks
from neigou.kit.db import BigId, UTCDateTime, contains
from neigou.kit.ids import whole_number
from neigou.kit.paging import Page, Paged, Sortable, paginate
from neigou.organizations.models import Organization
from neigou.programs.models import Member, MemberInviterPeriod, MemberTierPeriod, Program, Tier


def get_program(session: Session, program_id: int) -> Program | None:
    """The program with this id."""
    return session.get(Program, program_id)


def organization_of(session: Session, program_id: int) -> int:
    """The organization of a program that exists (one a row the caller read names: a link's, an
    integration's): what pricing and order taking filter the catalog by, scoped or not."""
    return int(session.execute(select(Program.organization_id).where(Program.id == program_id)).scalar_one())


def of_live_organization(program_id: InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """``program_id`` names a program whose organization is not deleted: what every outbound due-query
    (pushes, webhooks, posts, alerts) keeps, so a deleted tenant sends nothing more."""
    live = (
        select(Program.id)
        .join(Organization, Organization.id == Program.organization_id)
        .where(Organization.deleted_at.is_(None))
    )
    return program_id.in_(live)


def of_deleted_organization(session: Session, program_id: int) -> bool:
    """Whether the program's organization is deleted: what a queued first attempt asks right before it
    sends (a job queued before the deletion runs after it). One statement."""
    deleted = session.execute(
        select(Organization.deleted_at)
        .join(Program, Program.organization_id == Organization.id)
        .where(Program.id == program_id)
    ).scalar_one_or_none()
    return deleted is not None


def programs_of(organization_id: int) -> Select[int]:
    """The ids of an organization's programs, for a set-based write over their rows."""
    return select(Program.id).where(Program.organization_id == organization_id)


def get_program_by_code(session: Session, organization_id: int, code: str) -> Program | None:
    """The program of the organization with this code (codes are unique within an organization only)."""
    return session.scalar(
        select(Program).where(Program.organization_id == organization_id, Program.code == code)
    )


def list_programs(session: Session) -> list[Program]:
    """All programs, oldest first."""
    return list(session.scalars(select(Program).order_by(Program.id)))


def page_programs(session: Session, page: Page) -> Paged[Program]:
    """A page of the programs, oldest first, and their number."""
    return paginate(session, select(Program).order_by(Program.id), page)


def _tiers(program_id: int) -> Select[Tier]:
    return select(Tier).where(Tier.program_id == program_id).order_by(Tier.rank)


def hold_tier_changes(session: Session, program_id: int) -> None:
    """Serialise a program's tier evaluation and its operators' tier overrides: both read the program
    ``FOR NO KEY UPDATE`` until commit, which each other (and ``replace_tiers``' ``FOR UPDATE``) wait
    for, but which the ``FOR KEY SHARE`` of every insert referencing the program (a member joining, a
    claim, a refund) does not: a recorded evaluation of a large program runs for tens of seconds, and a
    ``FOR UPDATE`` held that long stalled the program's joins and claims behind it."""
    session.execute(select(Program.id).where(Program.id == program_id).with_for_update(key_share=True))


def ladder_for_member(session: Session, program_id: int) -> list[Tier]:
    """The ladder a new member joins, read under a share lock on the program (``FOR KEY SHARE``, which
    ``replace_tiers``' ``FOR UPDATE`` waits for and many members' creations take at once): a ladder set
    at the same time either is read here or, written after this member commits, places them."""
    session.execute(
        select(Program.id).where(Program.id == program_id).with_for_update(read=True, key_share=True)
    )
    return list_tiers(session, program_id)


def list_tiers(session: Session, program_id: int) -> list[Tier]:
    """The ladder of a program, lowest rank first."""
    return list(session.scalars(_tiers(program_id)))


def tiers_in_history(session: Session, program_id: int) -> set[str]:
    """Every tier code a member of the program holds or has held (their dated tier history): the rates
    a late-reported order paid while its seller held one of them is priced with."""
    rows = session.scalars(
        select(MemberTierPeriod.tier_code)
        .join(Member, Member.id == MemberTierPeriod.member_id)
        .where(Member.program_id == program_id)
        .distinct()
    )
    return set(rows)


def place_tierless(session: Session, program_id: int, tier_code: str) -> int:
    """Put every member of the program without a tier on ``tier_code``, dated from when they joined (a
    history row each, so an order they were credited with since is priced at that tier); set-based.
    Returns how many members were placed."""
    tierless = (Member.program_id == program_id) & Member.tier_code.is_(None)
    session.execute(
        insert(MemberTierPeriod).from_select(
            ["member_id", "tier_code", "effective_from", "reason"],
            select(Member.id, literal(tier_code), Member.joined_at, literal("ladder set")).where(tierless),
        )
    )
    placed = session.execute(update(Member).where(tierless).values(tier_code=tier_code))
    return int(getattr(placed, "rowcount", 0) or 0)


def page_tiers(session: Session, program_id: int, page: Page) -> Paged[Tier]:
    """A page of a program's ladder, lowest rank first, and the number of tiers."""
    return paginate(session, _tiers(program_id), page)


def current_inviter_period(session: Session, member_id: int) -> MemberInviterPeriod | None:
    """The member's latest inviter period (the one in effect now), if any."""
    return session.scalars(
        select(MemberInviterPeriod)
        .where(MemberInviterPeriod.member_id == member_id)
        .order_by(MemberInviterPeriod.effective_from.desc(), MemberInviterPeriod.id.desc())
        .limit(1)
    ).first()


def get_member(session: Session, member_id: int) -> Member | None:
    """The member with this id."""
    return session.get(Member, member_id)


def find_member_by_ref(session: Session, program_id: int, ref_hash: str) -> Member | None:
    """The member of a program whose customer reference hashes to ``ref_hash``."""
    return session.scalar(
        select(Member).where(Member.program_id == program_id, Member.customer_ref_hash == ref_hash)
    )


def _members(program_id: int) -> Select[Member]:
    return select(Member).where(Member.program_id == program_id).order_by(Member.id)


# What the console's member list may be sorted and searched by.
MEMBER_SORTS: dict[str, Sortable] = {
    "id": Member.id,
    "name": Member.name,
    "tier": Member.tier_code,
    "joined": Member.joined_at,
}
MEMBER_SEARCH: tuple[Sortable, ...] = (Member.name,)


def members_statement(program_id: int, tier_code: str | None = None) -> Select[Member]:
    """A program's members (of one tier) in joining order: what the console's list pages through."""
    stmt = _members(program_id)
    return stmt if tier_code is None else stmt.where(Member.tier_code == tier_code)


def member_names(session: Session, member_ids: Iterable[int | None]) -> dict[int, str]:
    """The names of these members, by id (``None`` ids are skipped; any number of ids)."""
    wanted = sorted({i for i in member_ids if i is not None})
    names: dict[int, str] = {}
    for part in chunks(wanted):
        rows = session.execute(select(Member.id, Member.name).where(Member.id.in_(part)))
        names.update({int(i): name for i, name in rows})
    return names


def list_members(session: Session, program_id: int, *, limit: int, offset: int) -> list[Member]:
    """Members of a program in joining order."""
    return list(session.scalars(_members(program_id).limit(limit).offset(offset)))


def find_members(session: Session, program_id: int, text: str, *, limit: int) -> list[Member]:
    """Members of a program whose name holds ``text`` (any case) or whose id it is (``#`` allowed;
    that member first), in joining order: what a member picker suggests for what was typed."""
    typed = text.strip().lstrip("#")
    match: ColumnElement[bool] = Member.name.ilike(contains(typed), escape="\\")
    order: list[Sortable] = [Member.id]
    if (typed_id := whole_number(typed)) is not None:
        exact = Member.id == typed_id
        match, order = or_(exact, match), [case((exact, 0), else_=1), Member.id]
    stmt = select(Member).where(Member.program_id == program_id, match).order_by(*order)
    return list(session.scalars(stmt.limit(limit)))


def page_members(session: Session, program_id: int, page: Page) -> Paged[Member]:
    """A page of a program's members in joining order, and their number."""
    return paginate(session, _members(program_id), page)


def count_members(session: Session, program_id: int) -> int:
    """Number of members in a program."""
    return session.scalar(select(func.count(Member.id)).where(Member.program_id == program_id)) or 0


def direct_recruit_counts(session: Session, member_ids: list[int]) -> dict[int, int]:
    """Direct recruits per inviter, one grouped query for the whole page."""
    if not member_ids:
        return {}
    rows = session.execute(
        select(Member.inviter_id, func.count(Member.id))
        .where(Member.inviter_id.in_(member_ids))
        .group_by(Member.inviter_id)
    )
    return {int(inviter): int(n) for inviter, n in rows if inviter is not None}


def tier_counts(session: Session, program_id: int) -> dict[str | None, int]:
    """Members per tier code in a program."""
    rows = session.execute(
        select(Member.tier_code, func.count(Member.id))
        .where(Member.program_id == program_id)
        .group_by(Member.tier_code)
    )
    return {code: int(n) for code, n in rows}


def upline(session: Session, member_id: int, *, depth: int | None = None) -> list[int]:
    """The chain of inviters above a member, nearest first (a recursive query, bounded by ``depth``)."""
    chain = (
        select(Member.inviter_id.label("id"), literal(1, Integer).label("level"))
        .where(Member.id == member_id, Member.inviter_id.is_not(None))
        .cte("chain", recursive=True)
    )
    step = (
        select(Member.inviter_id, (chain.c.level + 1))
        .join(chain, Member.id == chain.c.id)
        .where(Member.inviter_id.is_not(None))
    )
    # Loops are refused on write; the bound keeps a corrupt tree from recursing forever.
    step = step.where(chain.c.level < (depth if depth is not None else 10_000))
    chain = chain.union_all(step)
    return [int(i) for i in session.scalars(select(chain.c.id).order_by(chain.c.level))]


def tree(session: Session, program_id: int) -> list[tuple[int, int | None, str, str | None]]:
    """(id, inviter_id, name, tier) of every member of a program, for the invite tree."""
    rows = session.execute(
        select(Member.id, Member.inviter_id, Member.name, Member.tier_code)
        .where(Member.program_id == program_id)
        .order_by(Member.id)
    )
    return [(int(a), b, c, d) for a, b, c, d in rows]


def list_direct_recruits(session: Session, member_id: int) -> list[Member]:
    """The members a member invited directly."""
    return list(session.scalars(select(Member).where(Member.inviter_id == member_id).order_by(Member.id)))


def _inviter_at(member: ColumnElement[int], at: ColumnElement[datetime]) -> ColumnElement[int | None]:
    """The member's inviter at ``at`` as the periods record it, read as commission reads them
    (``orders.commission.as_of``): the latest period begun by then, before the first one the first one's
    inviter, and for a member stored without periods ``members.inviter_id``."""
    p = aliased(MemberInviterPeriod)
    mine = p.member_id == member
    began = select(p.inviter_id).where(mine, p.effective_from <= at)
    first = select(p.inviter_id).where(mine).order_by(p.effective_from, p.id).limit(1)
    latest = began.order_by(p.effective_from.desc(), p.id.desc()).limit(1)
    stored = select(Member.inviter_id).where(Member.id == member).scalar_subquery()
    return case(
        (select(p.id).where(mine, p.effective_from <= at).exists(), latest.scalar_subquery()),
        (select(p.id).where(mine).exists(), first.scalar_subquery()),
        else_=stored,
    )


def upline_ever_includes(
    session: Session, *, program_id: int, member_id: int, inviter_id: int, since: datetime
) -> bool:
    """Whether ``member_id`` is above ``inviter_id`` at some instant from ``since`` on, as the inviter
    periods record the tree. An inviter changes only where a period other than a member's first begins
    (before its first period a member has its first inviter), so the instants looked at are ``since`` and
    every such start after it; at each, one recursive query walks up from ``inviter_id``. The walk keeps
    (instant, member) pairs without repeats (``UNION``), so it ends on a tree that loops already."""
    later = aliased(MemberInviterPeriod)
    earlier = aliased(MemberInviterPeriod)
    moves = (
        select(later.effective_from.label("at"))
        .join(Member, Member.id == later.member_id)
        .where(
            Member.program_id == program_id,
            later.effective_from > since,
            select(earlier.id)
            .where(
                earlier.member_id == later.member_id,
                or_(
                    earlier.effective_from < later.effective_from,
                    and_(earlier.effective_from == later.effective_from, earlier.id < later.id),
                ),
            )
            .exists(),
        )
    )
    instants = union(select(literal(since, UTCDateTime()).label("at")), moves).cte("instants")
    walk = select(instants.c.at.label("at"), literal(inviter_id, BigId).label("id")).cte(
        "walk", recursive=True
    )
    up = walk.alias("up")
    walk = walk.union(
        select(up.c.at, _inviter_at(up.c.id, up.c.at)).where(up.c.id.is_not(None), up.c.id != member_id)
    )
    found = select(walk.c.id).where(walk.c.id == member_id).limit(1)
    return session.execute(found).first() is not None
