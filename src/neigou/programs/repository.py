"""Queries of the programs domain."""

from __future__ import annotations

from sqlalchemy import Integer, func, literal, select
from sqlalchemy.orm import Session

from neigou.programs.models import Member, Program, Tier


def get_program(session: Session, program_id: int) -> Program | None:
    """The program with this id."""
    return session.get(Program, program_id)


def get_program_by_code(session: Session, code: str) -> Program | None:
    """The program with this code."""
    return session.scalar(select(Program).where(Program.code == code))


def list_programs(session: Session) -> list[Program]:
    """All programs, oldest first."""
    return list(session.scalars(select(Program).order_by(Program.id)))


def list_tiers(session: Session, program_id: int) -> list[Tier]:
    """The ladder of a program, lowest rank first."""
    return list(session.scalars(select(Tier).where(Tier.program_id == program_id).order_by(Tier.rank)))


def get_member(session: Session, member_id: int) -> Member | None:
    """The member with this id."""
    return session.get(Member, member_id)


def find_member_by_ref(session: Session, program_id: int, ref_hash: str) -> Member | None:
    """The member of a program whose customer reference hashes to ``ref_hash``."""
    return session.scalar(
        select(Member).where(Member.program_id == program_id, Member.customer_ref_hash == ref_hash)
    )


def list_members(session: Session, program_id: int, *, limit: int, offset: int) -> list[Member]:
    """Members of a program in joining order."""
    query = (
        select(Member).where(Member.program_id == program_id).order_by(Member.id).limit(limit).offset(offset)
    )
    return list(session.scalars(query))


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
