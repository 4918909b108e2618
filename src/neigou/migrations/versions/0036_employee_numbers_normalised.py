"""events: every stored employee number in its one form

``event_employees.employee_no`` was stored as typed, so ``E001``, ``Ｅ００１`` (full-width) and `` e001 ``
were three employees of one event, each with its own guest quota, and a number typed in another form than
the whitelist's was refused. Each number is rewritten in the one form ``kit.employee_numbers`` gives,
frozen here as it was when this revision was written: NFKC, invisible marks (byte-order mark, zero-width
spaces and joiners, direction marks, the word joiner) dropped, white space trimmed, upper case.

Rows of one event whose numbers become the same are never merged: each keeps its invitations, invitation
requests and reservations. The row already in the one form keeps it; else the first row (lowest id)
takes it; every other such row is left as it was, and is logged (its id, never its number). A number
that would be empty or longer than the column is left as it was too. Only values change, in place.

Downgrading changes nothing: the forms as typed are not kept.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 10:00:00.000000
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

_INVISIBLE = dict.fromkeys((0xFEFF, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x206A)))
_MAX_LENGTH = 64


def normalised(value: str) -> str:
    """``kit.employee_numbers.employee_no`` as this revision was written, frozen."""
    if value.isascii():
        return value.strip().upper()
    text = unicodedata.normalize("NFKC", value.translate(_INVISIBLE)).translate(_INVISIBLE)
    return unicodedata.normalize("NFKC", text.strip().upper())


def renumbered(rows: Sequence[tuple[int, int, str]]) -> tuple[dict[int, str], list[int]]:
    """For ``(id, event_id, employee_no)`` rows: the new number of each row that changes, and the ids of
    the rows kept as they were because another row of their event holds (or takes) their one form."""
    taken = {(event_id, number) for _, event_id, number in rows}
    changes: dict[int, str] = {}
    kept: list[int] = []
    for row_id, event_id, number in sorted(rows):
        target = normalised(number)
        if target == number:
            continue
        if not target or len(target) > _MAX_LENGTH or (event_id, target) in taken:
            kept.append(row_id)
            continue
        taken.add((event_id, target))
        changes[row_id] = target
    return changes, kept


def upgrade() -> None:
    conn = op.get_bind()
    employees = sa.table("event_employees", sa.column("id"), sa.column("event_id"), sa.column("employee_no"))
    rows = [
        (int(i), int(e), str(n))
        for i, e, n in conn.execute(sa.select(employees.c.id, employees.c.event_id, employees.c.employee_no))
    ]
    changes, kept = renumbered(rows)
    for row_id, number in changes.items():
        conn.execute(employees.update().where(employees.c.id == row_id).values(employee_no=number))
    if kept:
        log.warning(
            "event_employees left as they were (their one form is another row's of their event, or empty): ids %s",
            ", ".join(map(str, kept)),
        )


def downgrade() -> None:
    pass
