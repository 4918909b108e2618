"""Standard Webhooks signatures (https://www.standardwebhooks.com), both ways, made and checked
with the ``standardwebhooks`` library so that a shop can use any off-the-shelf implementation.

A signed request carries three headers:

* ``webhook-id``: the message id, the same on every retry of one message;
* ``webhook-timestamp``: seconds since the epoch when it was sent;
* ``webhook-signature``: ``v1,<base64>``, HMAC-SHA256 over ``f"{id}.{timestamp}."`` and the raw
  body, keyed with the base64-decoded part of a ``whsec_<base64>`` secret. Several signatures
  separated by spaces are accepted (while a secret is being rotated).

Secrets issued before this scheme are ``whsec_`` and 43 URL-safe characters, not standard base64;
the first scheme (``signing``) keys its HMAC with the whole secret string. ``standard_secret`` turns
such a secret into the standard form with the same key bytes, ``whsec_`` + base64 of the whole
string, so one stored secret serves both schemes.

A receiver refuses a timestamp more than ``signing.TOLERANCE_SECONDS`` away from its clock, and a
signature it has seen before (a replay). A request may carry both schemes' headers; it is verified by
one (``check``), but known by every signature it carries that holds (``replay_keys``), so stripping
one scheme's headers from a request already taken does not make it new. A signed body that is not UTF-8 is the sender's, but not an
envelope: it is refused as a bad body (``NOT_TEXT``), never read with its bytes replaced.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks import Webhook, WebhookVerificationError

from neigou.integrations import signing

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's prefix, not a secret
SECRET_BYTES = 32
# The outcome of a body signed correctly that is not UTF-8 text (the library reads a body as text).
NOT_TEXT = "not_text"


@dataclass(frozen=True)
class Presented:
    """The signature headers a request carried, of either scheme."""

    webhook_id: str | None = None
    webhook_timestamp: str | None = None
    webhook_signature: str | None = None
    timestamp: str | None = None
    signature: str | None = None


def new_secret() -> str:
    """A fresh ``whsec_<base64>`` secret of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def standard_secret(secret: str) -> str:
    """The secret as Standard Webhooks libraries take it; a secret of the first scheme converted."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    if secret.startswith(SECRET_PREFIX) and encoded:
        try:
            if base64.b64encode(base64.b64decode(encoded, validate=True)).decode() == encoded:
                return secret
        except binascii.Error:
            pass
    return SECRET_PREFIX + base64.b64encode(secret.encode()).decode()


def headers(secret: str, message_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers signing message ``message_id`` with ``body`` at ``at``."""
    sent = datetime.fromtimestamp(int(at.timestamp()), tz=UTC)
    signed = Webhook(standard_secret(secret)).sign(message_id, sent, body.decode())
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(int(sent.timestamp())),
        SIGNATURE_HEADER: signed,
    }


def verify(
    secret: str,
    *,
    message_id: str | None,
    timestamp: str | None,
    signed: str | None,
    body: bytes,
    now: datetime,
) -> tuple[str, str]:
    """The request's own signature (for replay checks) as ("ok", base64), or ("error", code) when refused.

    The window is checked against ``now`` first, so a stale message says so; the library then
    checks the signature (and the window again, against its own clock). A body that is not UTF-8 is
    checked on its bytes: ``NOT_TEXT`` when signed, ``bad_signature`` when not.
    """
    if not message_id or not timestamp or not signed:
        return "error", "missing_signature"
    try:
        sent = int(timestamp)
        skew = abs(now.timestamp() - sent)
    except (ValueError, OverflowError):
        return "error", "stale_timestamp"
    if skew > signing.TOLERANCE_SECONDS:
        return "error", "stale_timestamp"
    try:
        text = body.decode()
    except UnicodeDecodeError:
        # Signed over the timestamp as read (``+…``, ``0…`` name the same second), as the library signs it.
        signs = _signs_bytes(secret, f"{message_id}.{sent}.", signed, body)
        return "error", NOT_TEXT if signs else "bad_signature"
    webhook = Webhook(standard_secret(secret))
    sent_headers = {ID_HEADER: message_id, TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signed}
    try:
        webhook.verify(body, sent_headers, json_parse=False)
    except (WebhookVerificationError, ValueError):  # ValueError: a malformed signature list or body
        return "error", "bad_signature"
    own = webhook.sign(message_id, datetime.fromtimestamp(sent, tz=UTC), text)
    return "ok", own.partition(",")[2]


def _signs_bytes(secret: str, prefix: str, signed: str, body: bytes) -> bool:
    """Whether one of the ``v1,<base64>`` signatures in ``signed`` is the scheme's HMAC of ``prefix``
    and the raw ``body``: what the library checks, on bytes it cannot take as text."""
    key = base64.b64decode(standard_secret(secret).removeprefix(SECRET_PREFIX))
    expected = hmac.new(key, prefix.encode() + body, hashlib.sha256).digest()
    for part in signed.split(" "):
        version, _, value = part.partition(",")
        try:
            candidate = base64.b64decode(value, validate=True)
        except binascii.Error:
            continue
        if version == "v1" and hmac.compare_digest(candidate, expected):
            return True
    return False


def _own_signature(secret: str, message_id: str, timestamp: str, signed: str, body: bytes) -> str | None:
    """The scheme's signature (base64) of the message when ``signed`` carries it, whatever the window;
    None when it does not, or the body is not text (never taken, so never replayed)."""
    try:
        text = body.decode()
        sent = datetime.fromtimestamp(int(timestamp), tz=UTC)
    except (ValueError, OverflowError, OSError):  # UnicodeDecodeError is a ValueError
        return None
    own = Webhook(standard_secret(secret)).sign(message_id, sent, text).partition(",")[2]
    for part in signed.split(" "):
        version, _, value = part.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), own.encode()):
            return own
    return None


def replay_keys(secret: str, presented: Presented, *, body: bytes) -> list[str]:
    """Every signature the request carries that holds, one per scheme whose headers it sent: what a
    receipt records. ``check``'s own signature is among them; so is the other scheme's, when the sender
    signed with both, and a replay stripped of either scheme's headers is still known by the other."""
    keys: list[str] = []
    if presented.webhook_id and presented.webhook_timestamp and presented.webhook_signature:
        own = _own_signature(
            secret, presented.webhook_id, presented.webhook_timestamp, presented.webhook_signature, body
        )
        if own is not None:
            keys.append(own)
    legacy = signing.matching(secret, timestamp=presented.timestamp, signed=presented.signature, body=body)
    if legacy is not None:
        keys.append(legacy)
    return keys


def check(secret: str, presented: Presented, *, body: bytes, now: datetime) -> tuple[str, str]:
    """Verify by the scheme the request used (Standard Webhooks when it sent any of its headers)."""
    if presented.webhook_id or presented.webhook_timestamp or presented.webhook_signature:
        return verify(
            secret,
            message_id=presented.webhook_id,
            timestamp=presented.webhook_timestamp,
            signed=presented.webhook_signature,
            body=body,
            now=now,
        )
    return signing.verify(
        secret, timestamp=presented.timestamp, signed=presented.signature, body=body, now=now
    )
