"""How a URL that carries a secret is shown: one rule for every page, API answer and audit entry.

A robot's or webhook receiver's URL may carry its credential in three places: a user and password
before the host, the query (WeCom's ``key``, DingTalk's ``access_token``, a signed call's ``sign``) and
the path (Feishu's ``/open-apis/bot/v2/hook/<token>``, Slack's ``/services/T…/B…/<token>``, Telegram's
``/bot<id>:<token>/``, a JWT, a matrix parameter ``;token=…``, a percent-encoded base64 key).
:func:`masked_url` drops the first, shows the second as ``?…``, replaces every path segment that
carries a key (:func:`is_path_token`) by ``…`` and a segment's matrix parameters by ``;…``.
``kit.logging.redact_url`` takes the same secrets (:func:`path_secrets`) out of error text: a
parameter's value only as that parameter (``;v=2024`` leaves every other ``2024`` of the text), unless
its name names a secret (``;token=…``) or the value is a key (the rule below).

A segment is judged as a server reads it, percent-decoded, piece by piece: it carries a key when a
piece of it (a run of letters, digits, ``-``, ``_`` and base64's ``+`` and ``/``, so split at ``:``,
``;``, ``=``, ``.``, ``,`` and the like) is 16 or more characters long with both letters and digits, when
it holds a JWT (``eyJ….…``), or when it is a parameter (``name=value``). Shorter or all-letter pieces
(``webhook``, ``send``, ``v2``, ``index.json``) and plain numbers (an id) are the receiver's route and
stay readable.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from neigou.kit.redact import secret_name

MASK = "…"
# A piece of 16 or more letters, digits, ``-``, ``_``, ``+`` and ``/`` holding both letters and digits
# is a key or a token (a UUID, a robot's hook id, a base64 key); ``/`` only ever reaches a piece
# percent-encoded (``%2F``), as base64 writes it.
_TOKEN_PIECE = re.compile(r"(?=[\w+/-]*[A-Za-z])(?=[\w+/-]*[0-9])[\w+/-]{16,}", re.ASCII)
_PIECES = (re.compile(r"[\w+/-]+", re.ASCII), re.compile(r"[\w-]+", re.ASCII))
# A JWT's header and payload (base64url JSON: ``{"`` is ``eyJ``), whatever their length.
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]+(?:\.[\w-]*)?", re.ASCII)
# ``name=value``: a parameter, whose value is a credential as a query's is (base64's ``==`` padding
# has no value after it).
_PARAMETER = re.compile(r"[^=]=+[^=]")
# Percent-encoding undone at most this many times (a value encoded twice is still read).
_DECODINGS = 3


def _decoded(text: str) -> str:
    for _ in range(_DECODINGS):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def _secrets_in(text: str) -> list[str]:
    """The key-like pieces and JWTs of ``text`` (decoded already); a base64 piece also without its
    ``+`` and ``/``, so that text quoting a part of it loses that part too."""
    found = [m.group() for m in _JWT.finditer(text)]
    for piece in _PIECES:
        found += [m.group() for m in piece.finditer(text) if _TOKEN_PIECE.fullmatch(m.group())]
    return found


def is_path_token(segment: str) -> bool:
    """Whether a path segment (as written, before its matrix parameters) carries a key or a token (see
    the module's rule)."""
    decoded = _decoded(segment)
    return bool(_secrets_in(decoded)) or _PARAMETER.search(decoded) is not None


def _path_of(url: str) -> str:
    path = url.partition("?")[0].partition("#")[0]
    if "://" in path:
        path = path.partition("://")[2].partition("/")[2]
    return path


def _shown_segment(segment: str) -> str:
    head, semicolon, parameters = segment.partition(";")
    return (MASK if is_path_token(head) else head) + (f";{MASK}" if parameters else semicolon)


def path_tokens(url: str) -> list[str]:
    """The segments of ``url``'s path that carry a key or a token, or matrix parameters, as written,
    in order; never refused, however malformed the URL."""
    return [s for s in _path_of(url).split("/") if s != _shown_segment(s)]


def _forms(value: str) -> set[str]:
    decoded = _decoded(value)
    return {value, decoded, quote(decoded, safe="")}


def _named_value(name: str, value: str) -> set[str]:
    """A path parameter's value, to be taken out wherever the text writes it, when its name names a
    secret (``token``, ``key``, ``sign``: ``kit.redact.secret_name``); else nothing (its key-like pieces
    and JWTs are taken out by :func:`_secrets_in`): ``2024`` is a version, ``1234`` an id, and every
    other ``2024`` of the text stays."""
    return _forms(value) if value and name and secret_name(name) else set()


def path_secrets(url: str) -> set[str]:
    """What to take out of text that may quote ``url``'s path: each segment that carries a key (as
    written, decoded and encoded), the key-like pieces and JWTs in it, and its matrix parameters as they
    stand in the URL (``name=value``, a nameless one after its ``;``); never refused, however malformed
    the URL. A parameter's value alone, wherever the text writes it, only when its name names a secret
    (:func:`_named_value`), or its key-like pieces and JWTs: a plain value (``;v=2024``, ``;x=1234``)
    stays in the rest of the text."""
    secrets: set[str] = set()
    for segment in _path_of(url).split("/"):
        head, _, parameters = segment.partition(";")
        if is_path_token(head):
            secrets |= _forms(head)
            decoded = _decoded(head)
            for piece in _secrets_in(decoded):
                secrets |= _forms(piece)
            if _PARAMETER.search(decoded):
                for name, _, value in (p.partition("=") for p in decoded.split("&")):
                    secrets |= _named_value(name, value.strip("="))
        for parameter in parameters.split(";") if parameters else ():
            name, equals, value = parameter.partition("=")
            # Where it stands as the parameter: ``name=value`` (a nameless one only after its ``;``).
            secrets |= _forms(parameter) if equals else {";" + form for form in _forms(parameter)}
            secrets |= _named_value(name, value) if equals else set()
            for piece in _secrets_in(_decoded(value if equals else parameter)):
                secrets |= _forms(piece)
    return {s for s in secrets if s}


def masked_url(url: str, *, limit: int | None = None) -> str:
    """``url`` as shown: scheme, host (without a user and password) and path, its key-carrying path
    segments replaced by ``…``, their matrix parameters by ``;…`` and its query, if any, by ``?…``; its
    fragment dropped. With ``limit`` (a column's length) the host and path are cut so that the whole,
    ``?…`` included, fits."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    path = "/".join(_shown_segment(segment) for segment in parts.path.split("/"))
    shown, query = f"{parts.scheme}://{host}{path}", ("?" + MASK if parts.query else "")
    if limit is not None:
        shown = shown[: max(limit - len(query), 0)]
    return shown + query
