"""How a URL that carries a secret is shown: one rule for every page, API answer and audit entry.

A robot's or webhook receiver's URL may carry its credential in three places: a user and password
before the host, the query (WeCom's ``key``, DingTalk's ``access_token``, a signed call's ``sign``) and
the path (Feishu's ``/open-apis/bot/v2/hook/<token>``, Slack's ``/services/T…/B…/<token>``).
:func:`masked_url` drops the first, shows the second as ``?…`` and replaces every path segment that
looks like a key (:func:`is_path_token`) by ``…``. ``kit.logging.redact_url`` takes the same path
segments out of error text.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MASK = "…"
# A path segment of 16 or more letters, digits, ``-`` and ``_`` holding both letters and digits is a
# key or a token (a UUID, a robot's hook id); shorter or all-letter segments (``webhook``, ``send``,
# ``v2``) and plain numbers (an id) are the receiver's route and stay readable.
_TOKEN_SEGMENT = re.compile(r"(?=[A-Za-z0-9_-]*[A-Za-z])(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{16,}")


def is_path_token(segment: str) -> bool:
    """Whether a path segment looks like a key or a token (see the module's rule)."""
    return _TOKEN_SEGMENT.fullmatch(segment) is not None


def path_tokens(url: str) -> list[str]:
    """The segments of ``url``'s path that look like a key or a token, in order; never refused,
    however malformed the URL."""
    path = url.partition("?")[0].partition("#")[0]
    if "://" in path:
        path = path.partition("://")[2].partition("/")[2]
    return [segment for segment in path.split("/") if is_path_token(segment)]


def masked_url(url: str, *, limit: int | None = None) -> str:
    """``url`` as shown: scheme, host (without a user and password) and path, its key-like path
    segments replaced by ``…`` and its query, if any, by ``?…``; its fragment dropped. With ``limit``
    (a column's length) the host and path are cut so that the whole, ``?…`` included, fits."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    path = "/".join(MASK if is_path_token(segment) else segment for segment in parts.path.split("/"))
    shown, query = f"{parts.scheme}://{host}{path}", ("?" + MASK if parts.query else "")
    if limit is not None:
        shown = shown[: max(limit - len(query), 0)]
    return shown + query
