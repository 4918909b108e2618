"""Queries of opt-outs, including the suppression check the links domain runs once per batch of touches.

This module and ``models`` sit below ``links`` in the layers (see pyproject.toml), so touches can
honour an opt-out; the erasure itself (``service``) sits above ``orders``.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from neigou.kit.paging import Cursor, CursorPaged, paginate_before
from neigou.privacy.models import OptOut


def suppressed(session: Session, pairs: Collection[tuple[int, str]]) -> set[tuple[int, str]]:
    """Those (program, customer hash) pairs whose customer opted out of that program or of all of them."""
    hashes = {customer for _, customer in pairs}
    if not hashes:
        return set()
    rows = session.execute(
        select(OptOut.program_id, OptOut.customer_ref_hash)
        .where(OptOut.customer_ref_hash.in_(sorted(hashes)))
        .distinct()
    ).all()
    everywhere = {customer for program, customer in rows if program is None}
    scoped = {(program, customer) for program, customer in rows if program is not None}
    return {(p, c) for p, c in pairs if c in everywhere or (p, c) in scoped}


def by_request(session: Session, request_id: str) -> OptOut | None:
    """The opt-out made under this idempotency key."""
    return session.scalars(select(OptOut).where(OptOut.request_id == request_id)).one_or_none()


def _opt_outs(program_id: int | None) -> Select[OptOut]:
    query = select(OptOut).order_by(OptOut.id.desc())
    return query.where(OptOut.program_id == program_id) if program_id is not None else query


def list_opt_outs(session: Session, *, program_id: int | None = None, limit: int = 100) -> list[OptOut]:
    """Opt-outs, newest first, optionally those naming one program."""
    return list(session.scalars(_opt_outs(program_id).limit(limit)))


def page_opt_outs(session: Session, cursor: Cursor, *, program_id: int | None = None) -> CursorPaged:
    """A page of :func:`list_opt_outs` older than the cursor, and how many opt-outs match."""
    return paginate_before(session, _opt_outs(program_id), OptOut.id, cursor)
