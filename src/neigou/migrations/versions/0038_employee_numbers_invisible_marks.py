"""events: stored employee numbers without the invisible marks migration 0036 left in them

Migration 0036 rewrote every stored employee number under the rule of its day, which dropped only some
invisible marks (byte-order mark, zero-width spaces and joiners, direction marks, the word joiner). The
rule ``kit.employee_numbers`` gives now (its second version) drops every invisible format character
(``kit.invisible``: the soft hyphen, the Arabic letter mark, the Mongolian vowel separator, the
deprecated format controls U+206A–U+206F, the interlinear annotation marks, …) and folds only width and
case. A number stored before it, such as ``HR\\u00ad007``, was no longer the number a reservation or a
whitelist asks for (``HR007``): the reservation gate, seeded from the stored rows, answered
``not_invited``, and adding the number again made a second employee with its own guest quota.

Each number is rewritten in the one form the rule gives, frozen here as it was when this revision was
written. As in 0036, rows of one event whose numbers become the same are never merged: the row already
in the one form keeps it, else the first row (lowest id) takes it, and every other such row is left as
it was and logged (its id, never its number). A number the rule refuses (nothing visible left, a
character it would have to merge with another, longer than the column) is left as it was, and logged
by id too. Only values change, in place.

Downgrading changes nothing: the forms stored before are not kept.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06 13:00:00.000000
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

_MAX_LENGTH = 64
# ``kit.invisible.INVISIBLE`` as this revision was written: every format character (Cf) of planes 0
# and 1 but the prepended concatenation marks, which show.
_SHOWN = frozenset(
    chr(c) for c in (*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD)
)
_INVISIBLE = dict.fromkeys(
    c for c in range(0x20000) if unicodedata.category(chr(c)) == "Cf" and chr(c) not in _SHOWN
)


def _width(c: str) -> str:
    decomposition = unicodedata.decomposition(c)
    if decomposition.startswith(("<wide> ", "<narrow> ")):
        return chr(int(decomposition.split()[1], 16))
    return " " if c.isspace() and unicodedata.normalize("NFKC", c) == " " else c


def _one_to_one(c: str) -> bool:
    upper = c.upper()
    return len(upper) == 1 and upper.lower() == c.lower()


def normalised(value: str) -> str | None:
    """``kit.employee_numbers.employee_no`` as this revision was written, frozen; None where it refuses
    the number (or the number would not fit the column)."""
    if value.isascii():
        number = value.strip().upper()
    else:
        text = unicodedata.normalize("NFC", "".join(map(_width, value.translate(_INVISIBLE))).strip())
        if not all(map(_one_to_one, text)):
            return None
        number = unicodedata.normalize("NFC", text.upper())
        if not unicodedata.is_normalized("NFKC", number):
            return None
    return number if 0 < len(number) <= _MAX_LENGTH else None


def renumbered(rows: Sequence[tuple[int, int, str]]) -> tuple[dict[int, str], list[int]]:
    """For ``(id, event_id, employee_no)`` rows: the new number of each row that changes, and the ids of
    the rows kept as they were because the rule refuses their number or another row of their event
    holds (or takes) their one form."""
    taken = {(event_id, number) for _, event_id, number in rows}
    changes: dict[int, str] = {}
    kept: list[int] = []
    for row_id, event_id, number in sorted(rows):
        target = normalised(number)
        if target == number:
            continue
        if target is None or (event_id, target) in taken:
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
            "event_employees left as they were (their one form is another row's of their event, or the "
            "rule refuses their number): ids %s",
            ", ".join(map(str, kept)),
        )


def downgrade() -> None:
    pass
