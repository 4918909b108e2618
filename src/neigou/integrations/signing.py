"""Webhook signatures of the first scheme (HMAC-SHA256, hex), both ways.

Standard Webhooks (``integrations.standard``) is the scheme to use; this one is kept, both ways,
for shops built on it. A signed request carries two headers:

* ``X-Neigou-Timestamp``: seconds since the epoch when it was sent;
* ``X-Neigou-Signature``: ``v1=<hex>``, where hex is HMAC-SHA256 with the shared secret over the
  bytes ``f"{timestamp}."`` followed by the raw body. Several ``v1=`` values separated by commas
  are accepted (while a secret is being rotated).

A receiver refuses a timestamp more than ``TOLERANCE_SECONDS`` away from its clock, and a
signature it has seen before (a replay), whichever scheme's headers carried it
(``standard.replay_keys``).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

TIMESTAMP_HEADER = "X-Neigou-Timestamp"
SIGNATURE_HEADER = "X-Neigou-Signature"
EVENT_HEADER = "X-Neigou-Event"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}." + body``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def headers(secret: str, at: datetime, body: bytes) -> dict[str, str]:
    """The headers signing ``body`` at ``at``."""
    timestamp = int(at.timestamp())
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: f"v1={signature(secret, timestamp, body)}"}


def matching(secret: str, *, timestamp: str | None, signed: str | None, body: bytes) -> str | None:
    """The request's signature (hex) when one of its ``v1=`` values signs ``body`` at ``timestamp``,
    however far that lies from now; None otherwise. What a replay is known by."""
    if not timestamp or not signed:
        return None
    try:
        expected = signature(secret, int(timestamp), body)
    except ValueError:
        return None
    for part in signed.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == "v1" and hmac.compare_digest(value, expected):
            return expected
    return None


def verify(
    secret: str, *, timestamp: str | None, signed: str | None, body: bytes, now: datetime
) -> tuple[str, str]:
    """The matching signature (for replay checks) as ("ok", hex), or ("error", code) when refused."""
    if not timestamp or not signed:
        return "error", "missing_signature"
    try:
        sent = int(timestamp)
        skew = abs(now.timestamp() - sent)
    except (ValueError, OverflowError):  # OverflowError: more digits than a float holds
        return "error", "stale_timestamp"
    if skew > TOLERANCE_SECONDS:
        return "error", "stale_timestamp"
    expected = signature(secret, sent, body)
    for part in signed.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == "v1" and hmac.compare_digest(value, expected):
            return "ok", expected
    return "error", "bad_signature"
