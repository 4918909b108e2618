"""JSON request bodies. NUL characters: PostgreSQL can neither store nor compare text holding one, and
SQLite takes it like any character, so both refuse it before it reaches a database. And the marks an
endpoint carries when its body is read otherwise than the rest (by itself, or larger than a JSON
body's limit: ``web.body_limit``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TypeVar

from neigou.kit.i18n import Message

NUL_CHARACTER = Message(
    "Text in the request contains a NUL character ({nul}), which cannot be stored.", nul="\\u0000"
)
# A NUL in JSON text is the escape "\u0000" after an even number of backslashes (an odd one is a
# backslash written out, then "u0000"); valid JSON holds no raw NUL.
_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_ESCAPE_TEXT = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., object])


def holds_nul(body: bytes) -> bool:
    """A NUL in a JSON body, raw or escaped (``\\u0000``), in UTF-8 or in the UTF-16 and UTF-32 that
    ``json.loads`` also reads (whose every ASCII character carries NUL bytes: decoded first)."""
    if b"\x00" not in body:
        return b"\\u0000" in body and _ESCAPE.search(body) is not None
    try:
        text = body.decode(json.detect_encoding(body))
    except (UnicodeDecodeError, LookupError):
        return True  # a NUL byte in what no JSON encoding reads
    return "\x00" in text or _ESCAPE_TEXT.search(text) is not None


def reads_its_own_body(endpoint: _Endpoint) -> _Endpoint:
    """Mark an endpoint that reads and checks its body itself, after its caller is authenticated and
    up to a limit of its own: the API's NUL guard leaves its body unread."""
    endpoint.reads_its_own_body = True  # type: ignore[attr-defined]
    return endpoint


def own_body(endpoint: object) -> bool:
    """Whether ``endpoint`` was marked with :func:`reads_its_own_body`."""
    return bool(getattr(endpoint, "reads_its_own_body", False))


def takes_large_body(endpoint: _Endpoint) -> _Endpoint:
    """Mark an endpoint whose JSON body may pass ``NEIGOU_MAX_JSON_BODY_BYTES`` (a whole file or list in
    one body): it reads up to ``NEIGOU_MAX_BODY_BYTES``, as uploads do (``web.body_limit``)."""
    endpoint.takes_large_body = True  # type: ignore[attr-defined]
    return endpoint


def large_body(endpoint: object) -> bool:
    """Whether ``endpoint`` was marked with :func:`takes_large_body`."""
    return bool(getattr(endpoint, "takes_large_body", False))
