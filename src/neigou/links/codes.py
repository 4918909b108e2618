"""Share-link codes and the shop URL a buyer is sent to: pure functions, no I/O."""

from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CODE_LENGTH = 8  # 62^8 ≈ 2.2·10^14 codes: guessing a live one is hopeless, and the URL stays short.
_CODE = re.compile(r"^[0-9A-Za-z]{6,16}$")
SUB_ID_PARAM = "sub_id"


def new_code(length: int = CODE_LENGTH) -> str:
    """A random base62 code from the OS's CSPRNG (never sequential, never derived from ids)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def is_code(value: str) -> bool:
    """True when ``value`` has the shape of a link code (so garbage never reaches a lookup)."""
    return bool(_CODE.match(value))


def buy_url(shop_url: str, code: str) -> str:
    """The product's shop URL with the link code as the sub-id parameter the shop reports back."""
    parts = urlsplit(shop_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != SUB_ID_PARAM]
    query.append((SUB_ID_PARAM, code))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
