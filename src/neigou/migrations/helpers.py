"""What data migrations share: the names of the errors a send raised, and the page-by-page rewrite.

A migration rewrites rows by the rules as they were when it was written, so what is here is frozen:
it is never changed to follow the application. A later migration that needs other rules (another
list of errors) writes its own, here or in its module, and leaves these as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

# What a send raised when 0039 and 0042 were written (``groups.webhook.UNSENDABLE``): httpx's errors
# (``httpx.InvalidURL`` among them) and the IDNA codec's ``UnicodeError``. Frozen: a stored
# ``<class>: <text>`` is kept as its class's name only for these, whatever httpx raises today.
ERRORS = frozenset(
    {
        "CloseError",
        "ConnectError",
        "ConnectTimeout",
        "CookieConflict",
        "DecodingError",
        "HTTPError",
        "HTTPStatusError",
        "InvalidURL",
        "LocalProtocolError",
        "NetworkError",
        "PoolTimeout",
        "ProtocolError",
        "ProxyError",
        "ReadError",
        "ReadTimeout",
        "RemoteProtocolError",
        "RequestError",
        "RequestNotRead",
        "ResponseNotRead",
        "StreamClosed",
        "StreamConsumed",
        "StreamError",
        "TimeoutException",
        "TooManyRedirects",
        "TransportError",
        "UnicodeError",
        "UnsupportedProtocol",
        "WriteError",
        "WriteTimeout",
    }
)


def rewrite_pages(
    conn: sa.Connection,
    rows: sa.TableClause,
    query: sa.Select[Any],
    values: Mapping[str, Any],
    rewritten: Callable[[sa.RowMapping], dict[str, Any] | None],
    *,
    page: int,
) -> None:
    """Rewrite what ``query`` reads of ``rows`` a page of ``page`` ids at a time (keyset on ``id``),
    with one ``executemany`` update per page; nothing is kept across pages. ``rewritten`` gives a
    row's bound values for ``values`` (the update's ``SET``), or None to leave the row as it is."""
    ordered = query.order_by(rows.c.id).limit(page)
    update = rows.update().where(rows.c.id == sa.bindparam("row_id")).values(dict(values))
    last: int | None = None
    while True:
        found = list(conn.execute(ordered if last is None else ordered.where(rows.c.id > last)).mappings())
        if not found:
            return
        last = int(found[-1]["id"])
        changed = [
            {"row_id": int(row["id"]), **kept} for row in found if (kept := rewritten(row)) is not None
        ]
        if changed:
            conn.execute(update, changed)
