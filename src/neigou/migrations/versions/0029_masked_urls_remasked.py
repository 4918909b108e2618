"""groups, crm, integrations: every stored masked URL is masked again by the one rule

The masked copies kept beside sealed URLs (``group_settings.webhook_url_masked``,
``crm_settings.target_masked``, ``integrations.outbound_url_masked``) were written by each domain's
own rule before ``kit.urls.masked_url`` replaced them: the alert robot's and the CRM target's kept a
``user:password@`` before the host, and none hid a key-like path segment (a Feishu or Slack hook's
token). Each is recomputed with that rule, frozen here as it was when this revision was written: from
the sealed URL where the payee keys of the process that migrates open it (``NEIGOU_PAYEE_KEYS``, the
first one seals; unset, the key derived from ``NEIGOU_SECRET_KEY``; so run it with the deployment's
keys), else from the stored masked text itself, which every older rule left with the URL's host and
path intact, so masking it again gives what masking the URL gives. The CRM target's older rule cut
host and path to 200 characters: such a cut text's last piece (a cut path segment, or a cut user and
password) is shown as ``…``. Only values change, in place: no table is rebuilt (on SQLite that would
cascade to an integration's deliveries, attempts and receipts).

Downgrading changes nothing: the older masked forms cannot be recomputed where the sealed URL does not
open, and they showed more of a credential than these do.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 05:40:00.000000
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

from neigou.kit.sealed import Sealer
from neigou.kit.settings import get_settings

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

MASK = "…"
QUERY = "?" + MASK
# kit.urls' key-like path segment, frozen here: 16 or more letters, digits, ``-`` and ``_`` holding
# both letters and digits.
_TOKEN_SEGMENT = re.compile(r"(?=[A-Za-z0-9_-]*[A-Za-z])(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{16,}")


def masked(url: str, *, limit: int | None = None) -> str:
    """``kit.urls.masked_url`` as this revision was written, frozen: scheme, host without a user and
    password, path with its key-like segments as ``…``, the query as ``?…``, the fragment dropped; with
    ``limit`` host and path cut so that the whole fits. A URL that no longer splits (a bracketed host
    a newer Python refuses) is shown as ``…`` alone."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    host = parts.netloc.rpartition("@")[2]
    path = "/".join(MASK if _TOKEN_SEGMENT.fullmatch(s) else s for s in parts.path.split("/"))
    shown, query = f"{parts.scheme}://{host}{path}", (QUERY if parts.query else "")
    if limit is not None:
        shown = shown[: max(limit - len(query), 0)]
    return shown + query


def remasked(text: str, *, limit: int | None = None, cut_at: int | None = None) -> str:
    """A masked URL of an older rule masked again, when the sealed URL does not open. With ``cut_at``
    (the older rule cut host and path to that many characters) a text that long ends in a piece that
    may be cut short: a path segment too short now to look like a key, or a user and password cut
    before their ``@``; that piece is shown as ``…``."""
    shown, query = (text[: -len(QUERY)], QUERY) if text.endswith(QUERY) else (text, "")
    if cut_at is not None and len(shown) >= cut_at:
        head, _, _ = shown.rpartition("/")
        shown = f"{head}/{MASK}"
    return masked(shown + query, limit=limit)


class Masked(NamedTuple):
    """A table's sealed URL and the masked copy beside it, and how the column's rules mask it (a named
    tuple: Alembic loads a revision outside ``sys.modules``, where a dataclass cannot be made)."""

    table: str
    key: str
    sealed: str
    masked: str
    limit: int | None = None  # the masked column's length, when the current rule cuts to it
    cut_at: int | None = None  # where the older rule cut host and path


COLUMNS = (
    Masked("group_settings", "program_id", "webhook_url_sealed", "webhook_url_masked"),
    Masked("crm_settings", "program_id", "target_sealed", "target_masked", limit=200, cut_at=200),
    Masked("integrations", "id", "outbound_url_sealed", "outbound_url_masked"),
)


def _recompute(conn: sa.Connection, sealer: Sealer, column: Masked) -> None:
    rows = sa.table(
        column.table,
        sa.column(column.key, sa.BigInteger()),
        sa.column(column.sealed, sa.Text()),
        sa.column(column.masked, sa.Text()),
    )
    key, sealed, shown = rows.c[column.key], rows.c[column.sealed], rows.c[column.masked]
    stored = conn.execute(
        sa.select(key, sealed, shown).where(sa.or_(sealed.is_not(None), shown.is_not(None)))
    )
    unopened = 0
    for row_key, token, text in stored.all():
        url = sealer.unseal(token) if token is not None else None
        if url is not None:
            new = masked(url, limit=column.limit)
        elif text is not None:
            unopened += token is not None
            new = remasked(text, limit=column.limit, cut_at=column.cut_at)
        else:
            unopened += 1
            continue
        if new != text:
            conn.execute(rows.update().where(key == row_key).values({column.masked: new}))
    if unopened:
        # Named by column and counted, never shown.
        log.warning(
            "%s.%s: %d sealed URLs no configured key opens (masked again from their masked text)",
            column.table,
            column.sealed,
            unopened,
        )


def upgrade() -> None:
    sealer = Sealer.from_settings(get_settings())
    conn = op.get_bind()
    for column in COLUMNS:
        _recompute(conn, sealer, column)


def downgrade() -> None:
    # Nothing to undo: the older masked forms cannot be recomputed where a sealed URL does not open,
    # and they showed more of a credential (a user and password, a hook's token) than these.
    pass
