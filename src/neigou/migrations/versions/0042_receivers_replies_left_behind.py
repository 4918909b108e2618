"""integrations, groups, feed: receivers' replies stored before only a fixed summary of them was kept

A receiver may echo what it was sent, and with it a customer's name or phone. Earlier releases kept
its reply (URL secrets and phones taken out, nothing else) in five columns, which are now written with
a fixed summary only (``kit.attempts.refusal``: ``HTTP <status>`` with `` errcode <n>`` when a robot
answered a numeric ``errcode``, or the class of the error that stopped the call; ``ok`` for a robot
that took the message):

- a shop webhook's ``webhook_deliveries.last_error`` and ``webhook_attempts.detail`` (the receiver's
  body as it came, its status in ``last_http_status`` / ``http_status``);
- a group robot's ``group_alert_deliveries.detail`` (the program's daily alert),
  ``group_live_code_alerts.robot_detail`` (a live code whose groups are all full) and
  ``group_posts.detail`` (a feed post): the robot's body, ``errcode <n>: <errmsg>``, or ``ok``.

Each stored value is rewritten to that summary, by the rule as it was when this revision was written
(frozen here, as 0039 froze it for the CRM pushes):

* ``errcode <n>: <errmsg>`` becomes ``HTTP <status> errcode <n>`` (``errcode <n>`` where no status
  was kept);
* ``<error class>: <text>`` (a call that failed: one of ``httpx``'s errors or ``UnicodeError``)
  becomes the class's name;
* any other text: ``ok`` where the row says the robot took the message, ``HTTP <status>`` where the
  row kept the status, ``refused`` otherwise (nothing of it can be kept without the receiver's words).

A value already in one of these forms stays, and so do the fixed texts written without a reply: a send
that broke off (``<class> while sending``, ``<class> while sending; it may have been posted``,
``send_fault: <class>``), ``unanswered``, ``refused``, ``ok``, an alert with nothing to report or no
webhook, and a shop webhook whose URL does not open with the configured keys.

A platform poller's failure (``platforms.fetchers``) is printed, never stored: nothing to rewrite.

Rows are read and rewritten a page at a time (keyset on ``id``, ``_PAGE`` rows, one ``executemany``
update per page); nothing is kept across pages. Downgrading changes nothing: the replies are not kept.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-06 21:20:00.000000
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from neigou.migrations.helpers import ERRORS, rewrite_pages

revision: str = "0042"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OK = "ok"
REFUSED = "refused"
UNANSWERED = "unanswered"
# The fixed texts written without a reply, as this revision was written.
FIXED = (
    OK,
    REFUSED,
    UNANSWERED,
    "nothing to report",
    "no webhook configured",
    "the outbound URL or secret does not open with the configured keys (NEIGOU_PAYEE_KEYS)",
)
_SUMMARY = re.compile(r"HTTP [0-9]{3}(?: errcode -?[0-9]+)?|errcode -?[0-9]+", re.ASCII)
# A send that broke off, told by the error's class (any class: it is ours, not the receiver's words).
_BROKE_OFF = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]* while sending(?:; it may have been posted)?|send_fault: [A-Za-z_][A-Za-z0-9_]*",
    re.ASCII,
)
_ERRCODE = re.compile(r"errcode (-?[0-9]+):", re.ASCII)
_ERROR = re.compile(r"([A-Za-z]+):", re.ASCII)
_PAGE = 1000  # rows read and rewritten at a time


def summary(stored: str, *, http_status: int | None = None, taken: bool = False) -> str:
    """The fixed summary of a stored reply (``stored`` itself when it is one, or a fixed text);
    ``http_status`` is the status the row kept, ``taken`` whether the row says a robot took it."""
    if stored in FIXED or stored in ERRORS or _SUMMARY.fullmatch(stored) or _BROKE_OFF.fullmatch(stored):
        return stored
    if (found := _ERRCODE.match(stored)) is not None:
        status = "" if http_status is None else f"HTTP {http_status} "
        return f"{status}errcode {found.group(1)}"
    if (found := _ERROR.match(stored)) is not None and found.group(1) in ERRORS:
        return found.group(1)
    if taken:
        return OK
    return REFUSED if http_status is None else f"HTTP {http_status}"


def _rewrite(
    conn: sa.Connection,
    name: str,
    column: str,
    *,
    status: str | None = None,
    state: str | None = None,
    taken: str | None = None,
) -> None:
    """Rewrite ``name.column`` a page of ids at a time: ``status`` names the column holding the HTTP
    status kept with it, ``state`` the row's state and ``taken`` the state that says a robot took it."""
    extra = [c for c in (status, state) if c is not None]
    rows = sa.table(name, sa.column("id"), sa.column(column), *map(sa.column, extra))
    kept = rows.c[column]

    def rewritten(row: sa.RowMapping) -> dict[str, Any] | None:
        stored = str(row[column])
        found = summary(
            stored,
            http_status=None if status is None or row[status] is None else int(row[status]),
            taken=state is not None and row[state] == taken,
        )
        return None if found == stored else {"kept": found}

    rewrite_pages(
        conn,
        rows,
        sa.select(rows.c.id, kept, *(rows.c[c] for c in extra)).where(kept.is_not(None), kept.not_in(FIXED)),
        {column: sa.bindparam("kept")},
        rewritten,
        page=_PAGE,
    )


def upgrade() -> None:
    conn = op.get_bind()
    _rewrite(conn, "webhook_deliveries", "last_error", status="last_http_status")
    _rewrite(conn, "webhook_attempts", "detail", status="http_status")
    _rewrite(conn, "group_alert_deliveries", "detail", status="http_status", state="status", taken="sent")
    _rewrite(conn, "group_live_code_alerts", "robot_detail", state="robot_status", taken="sent")
    _rewrite(conn, "group_posts", "detail", state="status", taken="sent")


def downgrade() -> None:
    pass
