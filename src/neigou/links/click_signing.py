"""Signed customer references on a share link's click: pure functions, no I/O.

A click names its shopper (``/l/{code}?customer_ref=…``) only when the shop that knows the shopper
signed the reference: the redirect needs no sign-in, so an unsigned reference would let anyone bind any
phone number or openid to any member (under the locked and first-click models, for good). A shop adds

* ``ts``: seconds since the epoch when it made the URL;
* ``sig``: the hex HMAC-SHA256 keyed with one of the webhook secrets of the program's active
  integrations (the whole ``whsec_…`` string as UTF-8 bytes, as the ``X-Neigou-Signature`` scheme keys
  it) over ``f"neigou-click-v1:{code}:{ts}:{customer_ref}"`` (UTF-8; the reference exactly as the URL
  carries it once decoded).

The prefix keeps a click's signature from ever reading as a webhook's (those start with a timestamp
or a message id and a ``.``). A signature is good for ``MAX_AGE_SECONDS`` after ``ts`` and refused
when ``ts`` lies further ahead than the clock skew the program allows; a refused reference never stops
the redirect: the click is kept without a customer (``docs/links.md``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import quote, urlencode

REF_PARAM = "customer_ref"
TIMESTAMP_PARAM = "ts"
SIGNATURE_PARAM = "sig"
PREFIX = "neigou-click-v1"
MAX_AGE_SECONDS = 600
_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

# Why a reference was not taken (the metric's label; never the reference itself).
UNSIGNED = "unsigned"
EXPIRED = "expired"
AHEAD = "ahead"
BAD_SIGNATURE = "bad_signature"
NO_KEY = "no_key"
UNCHECKED = "unchecked"  # the program's keys could not be read (the database did not answer)
REASONS = (UNSIGNED, EXPIRED, AHEAD, BAD_SIGNATURE, NO_KEY, UNCHECKED)


def click_signature(secret: str, *, code: str, customer_ref: str, timestamp: int) -> str:
    """The hex HMAC-SHA256 a shop puts in ``sig``."""
    message = f"{PREFIX}:{code}:{timestamp}:{customer_ref}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_click_query(secret: str, *, code: str, customer_ref: str, at: datetime) -> str:
    """The query naming ``customer_ref`` on link ``code``, signed at ``at`` (aware)."""
    timestamp = int(at.timestamp())
    signature = click_signature(secret, code=code, customer_ref=customer_ref, timestamp=timestamp)
    return urlencode(
        {REF_PARAM: customer_ref, TIMESTAMP_PARAM: str(timestamp), SIGNATURE_PARAM: signature},
        quote_via=quote,
    )


def signed_click_url(base_url: str, secret: str, *, code: str, customer_ref: str, at: datetime) -> str:
    """The share link ``code`` on ``base_url`` (``https://go.example``) naming ``customer_ref``, signed at
    ``at``: what a shop sends its known shopper to."""
    query = signed_click_query(secret, code=code, customer_ref=customer_ref, at=at)
    return f"{base_url.rstrip('/')}/l/{code}?{query}"


def timing(timestamp: str | None, signature: str | None, *, now: float, skew: int) -> tuple[str | None, int]:
    """(reason refused or None, the timestamp) from the query's ``ts`` and ``sig`` alone, before any key
    is looked up: a malformed or missing pair is ``UNSIGNED``, a time past the window ``EXPIRED``, one
    more than ``skew`` seconds ahead ``AHEAD``."""
    if (
        not timestamp
        or not signature
        or not _TIMESTAMP.fullmatch(timestamp)
        or not _SIGNATURE.fullmatch(signature)
    ):
        return UNSIGNED, 0
    sent = int(timestamp)
    if sent > now + skew:
        return AHEAD, sent
    if now - sent > MAX_AGE_SECONDS:
        return EXPIRED, sent
    return None, sent


def signed_by(
    secrets: Iterable[str], *, code: str, customer_ref: str, timestamp: int, signature: str
) -> bool:
    """Whether one of ``secrets`` made ``signature`` (compared in constant time)."""
    given = signature.lower()
    return any(
        hmac.compare_digest(
            click_signature(secret, code=code, customer_ref=customer_ref, timestamp=timestamp), given
        )
        for secret in secrets
    )
