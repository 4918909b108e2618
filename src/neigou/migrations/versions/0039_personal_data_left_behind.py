"""crm: push refusals and customer audit entries stored before they were kept free of personal data

Two kinds of rows written by earlier releases still hold what a customer is, in clear, until the
customer is erased by an opt-out:

- ``push_messages.last_error``: a refused send kept the receiver's reply (a receiver may echo the
  message, and so the customer's name or phone). A refusal is now kept as a fixed summary
  (``crm.push_delivery.refusal``): ``HTTP <status>`` with `` errcode <n>`` when the robot answered a
  numeric ``errcode``, or the class of the error that stopped the call. Each stored refusal is
  rewritten to that summary, by the rule as it was when this revision was written (frozen here):

  * ``HTTP <status>: <reply>`` (the webhook channel) becomes ``HTTP <status>``;
  * ``errcode <n>: <errmsg>`` (a robot's refusal: its 2xx status was not kept) becomes ``errcode <n>``;
  * ``<error class>: <text>`` (a call that failed: a name of ``httpx``'s errors or ``UnicodeError``)
    becomes the class's name;
  * anything else (a robot's non-2xx reply kept without its status, an errcode that is no number)
    becomes ``refused``: nothing of it can be kept without keeping the receiver's words.

  A value already in one of these forms stays, and so do the fixed reasons a message is failed with
  (``opted_out``, ``no_consent``, ``frequency_cap``, the ``no robot``/``no target`` texts) and the
  erased marker. The rule needs pattern matching that SQLite and PostgreSQL spell differently, so the
  refusals still to rewrite (neither NULL nor one of the fixed values, a few rows: only failed sends
  have one) are read, summarised here, and written back with one ``UPDATE … WHERE id IN (…)`` per
  summary and chunk of ids.

- ``audit_entries`` of ``customer.update``: an edit kept the fields' values before and after. It is
  now kept by field name only (``crm.customer_audit``): ``after`` names each changed field with
  ``changed``, ``before`` is empty. Each older entry is rewritten so: a field whose value did not
  change (an edit sent it unchanged) is left out, one whose values an opt-out already redacted (the
  erased marker, no longer comparable) is named ``changed``. An entry already in that form stays.

Downgrading changes nothing: the values stored before are not kept.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-06 18:15:00.000000
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from neigou.migrations.helpers import ERRORS, rewrite_pages

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ERASED = "已注销"
CHANGED = "changed"
REFUSED = "refused"
UNANSWERED = "unanswered"
# The reasons a message is failed with, as this revision was written: the push's skip reasons, the
# robot and target that are missing (and the one text an earlier release had for both).
FIXED = (
    "no_consent",
    "opted_out",
    "frequency_cap",
    "no robot: neither the customer's group nor the program's push settings have one",
    "no target: the program's push settings have no webhook URL",
    "no target: the program's push settings have no robot or webhook URL",
    ERASED,
    REFUSED,
    UNANSWERED,
)
_SUMMARY = re.compile(r"HTTP [0-9]{3}(?: errcode -?[0-9]+)?|errcode -?[0-9]+", re.ASCII)
_HTTP = re.compile(r"(HTTP [0-9]{3}):", re.ASCII)
_ERRCODE = re.compile(r"(errcode -?[0-9]+):", re.ASCII)
_ERROR = re.compile(r"([A-Za-z]+):", re.ASCII)
_CHUNK = 500
_PAGE = 1000  # audit entries read and rewritten at a time

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def summary(stored: str) -> str:
    """The fixed summary of a stored refusal (``stored`` itself when it is one, or a fixed reason)."""
    if stored in FIXED or stored in ERRORS or _SUMMARY.fullmatch(stored):
        return stored
    for pattern in (_HTTP, _ERRCODE):
        if (found := pattern.match(stored)) is not None:
            return found.group(1)
    if (found := _ERROR.match(stored)) is not None and found.group(1) in ERRORS:
        return found.group(1)
    return REFUSED


def fields_only(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, str]:
    """An update entry's ``after`` by field name only: each field the edit changed, ``changed``."""
    before = before or {}
    return {
        name: CHANGED
        for name, value in (after or {}).items()
        if value in (CHANGED, ERASED) or before.get(name) == ERASED or before.get(name) != value
    }


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def _refusals(conn: sa.Connection) -> None:
    messages = sa.table("push_messages", sa.column("id"), sa.column("last_error"))
    found = conn.execute(
        sa.select(messages.c.id, messages.c.last_error).where(
            messages.c.last_error.is_not(None), messages.c.last_error.not_in(FIXED)
        )
    )
    rewritten: dict[str, list[int]] = defaultdict(list)
    for message_id, stored in found:
        if (kept := summary(str(stored))) != stored:
            rewritten[kept].append(int(message_id))
    for kept, ids in rewritten.items():
        for part in _chunks(sorted(ids)):
            conn.execute(messages.update().where(messages.c.id.in_(part)).values(last_error=kept))


def _audit_entries(conn: sa.Connection) -> None:
    """Rewrite the ``customer.update`` entries a page of ids at a time (``_PAGE`` rows)."""
    entries = sa.table(
        "audit_entries",
        sa.column("id"),
        sa.column("entity"),
        sa.column("action"),
        sa.column("before", _JSON),
        sa.column("after", _JSON),
    )

    def rewritten(row: sa.RowMapping) -> dict[str, Any] | None:
        kept = fields_only(row["before"], row["after"])
        return None if row["before"] is None and kept == row["after"] else {"kept": kept}

    rewrite_pages(
        conn,
        entries,
        sa.select(entries.c.id, entries.c.before, entries.c.after).where(
            entries.c.entity == "customer", entries.c.action == "customer.update"
        ),
        {"before": None, "after": sa.bindparam("kept", type_=_JSON)},
        rewritten,
        page=_PAGE,
    )


def upgrade() -> None:
    conn = op.get_bind()
    _refusals(conn)
    _audit_entries(conn)


def downgrade() -> None:
    pass
