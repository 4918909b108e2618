"""Readable names for the funnel's keys, read from the OLTP database: a link's code and its member's
name, a member's name, a group's name. One statement for a report's keys (the funnel has at most 200).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.groups.models import Group
from neigou.links.models import ShareLink
from neigou.programs.models import Member


def funnel_labels(session: Session, program_id: int, by: str, keys: Collection[int]) -> dict[int, str]:
    """The name of each key of the program's funnel split ``by`` link, member or group; a key the
    database does not know (or another program's) is left out, and the page shows its id."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    if by == "link":
        links = (
            select(ShareLink.id, ShareLink.code, Member.name)
            .outerjoin(Member, Member.id == ShareLink.member_id)
            .where(ShareLink.program_id == program_id, ShareLink.id.in_(wanted))
        )
        return {int(i): f"{code} · {name}" if name else str(code) for i, code, name in session.execute(links)}
    table = Member if by == "member" else Group
    named = select(table.id, table.name).where(table.program_id == program_id, table.id.in_(wanted))
    return {int(i): str(name) for i, name in session.execute(named)}
