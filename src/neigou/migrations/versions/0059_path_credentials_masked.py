"""groups, crm, integrations: a credential beside punctuation in a URL's path is masked too

The masked copies kept beside sealed URLs (``group_settings.webhook_url_masked``,
``crm_settings.target_masked``, ``integrations.outbound_url_masked``) hid a path segment only when the
whole of it was 16 or more letters, digits, ``-`` and ``_``: a Telegram bot's ``bot<id>:<token>``, a JWT
(``eyJ….….…``), a matrix parameter (``;token=…``) or a percent-encoded base64 key (``…%2Bx%3D%3D``)
stayed in clear text. Each is recomputed with ``kit.urls.masked_url``'s rule as this revision was
written, frozen here: a segment is read percent-decoded and piece by piece, and hidden as ``…`` when a
piece of it is a key (16 or more letters, digits, ``-``, ``_``, ``+`` and ``/`` with both letters and
digits), it holds a JWT or it is a parameter (``name=value``); its matrix parameters are shown as
``;…``. From the sealed URL where the payee keys of the process that migrates open it
(``NEIGOU_PAYEE_KEYS``, the first one seals; unset, the key derived from ``NEIGOU_SECRET_KEY``; so run
it with the deployment's keys), else from the stored masked text itself, which the older rule left
with the URL's path as written (bar the segments it hid), so masking it again hides what masking the
URL hides. A CRM target's masked text is cut to its 200 characters: a text that long may end in a cut
piece of a key too short now to look like one, so its last piece is shown as ``…``. Only values
change, in place: no table is rebuilt (on SQLite that would cascade to an integration's deliveries,
attempts and receipts).

The audit log's entries are left as written (as 0029 left them): ``integration.create`` recorded the
masked URL of its time, and audit entries are only ever inserted.

Downgrading changes nothing: the older masked form showed more of a credential.

Revision ID: 0059
Revises: 0058
Create Date: 2026-12-07 09:40:00.000000
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from alembic import op

from neigou.kit.sealed import Sealer
from neigou.kit.settings import get_settings

revision: str = "0059"
down_revision: str | None = "0058"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

MASK = "…"
QUERY = "?" + MASK
# kit.urls' rule, frozen here: a key-like piece, a JWT, a parameter; percent-decoding undone up to
# three times.
_TOKEN_PIECE = re.compile(r"(?=[\w+/-]*[A-Za-z])(?=[\w+/-]*[0-9])[\w+/-]{16,}", re.ASCII)
_PIECES = (re.compile(r"[\w+/-]+", re.ASCII), re.compile(r"[\w-]+", re.ASCII))
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]+(?:\.[\w-]*)?", re.ASCII)
_PARAMETER = re.compile(r"[^=]=+[^=]")
_DECODINGS = 3


def _decoded(text: str) -> str:
    for _ in range(_DECODINGS):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def _carries_key(segment: str) -> bool:
    decoded = _decoded(segment)
    if _JWT.search(decoded) or _PARAMETER.search(decoded):
        return True
    return any(_TOKEN_PIECE.fullmatch(m.group()) for piece in _PIECES for m in piece.finditer(decoded))


def _shown_segment(segment: str) -> str:
    head, semicolon, parameters = segment.partition(";")
    return (MASK if _carries_key(head) else head) + (f";{MASK}" if parameters else semicolon)


def masked(url: str, *, limit: int | None = None) -> str:
    """``kit.urls.masked_url`` as this revision was written, frozen: scheme, host without a user and
    password, path with its key-carrying segments as ``…`` and their matrix parameters as ``;…``, the
    query as ``?…``, the fragment dropped; with ``limit`` host and path cut so that the whole fits. A
    URL that no longer splits (a bracketed host a newer Python refuses) is shown as ``…`` alone."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    host = parts.netloc.rpartition("@")[2]
    path = "/".join(_shown_segment(s) for s in parts.path.split("/"))
    shown, query = f"{parts.scheme}://{host}{path}", (QUERY if parts.query else "")
    if limit is not None:
        shown = shown[: max(limit - len(query), 0)]
    return shown + query


def remasked(text: str, *, limit: int | None = None) -> str:
    """A masked URL of the older rule masked again, when the sealed URL does not open. With ``limit``
    (the column's length, which the older rule cut to) a text that long ends in a piece that may be cut
    short, too short now to look like a key: that piece is shown as ``…``."""
    if limit is not None and len(text) >= limit:
        shown, query = (text[: -len(QUERY)], QUERY) if text.endswith(QUERY) else (text, "")
        head, _, _ = shown.rpartition("/")
        text = f"{head}/{MASK}{query}"
    return masked(text, limit=limit)


class Masked(NamedTuple):
    """A table's sealed URL and the masked copy beside it (a named tuple: Alembic loads a revision
    outside ``sys.modules``, where a dataclass cannot be made)."""

    table: str
    key: str
    sealed: str
    masked: str
    limit: int | None = None  # the masked column's length, which the rule cuts to


COLUMNS = (
    Masked("group_settings", "program_id", "webhook_url_sealed", "webhook_url_masked"),
    Masked("crm_settings", "program_id", "target_sealed", "target_masked", limit=200),
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
            new = remasked(text, limit=column.limit)
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
    # Nothing to undo: the older masked form showed more of a credential (a Telegram bot's token, a
    # JWT, a matrix parameter's value) than this one.
    pass
