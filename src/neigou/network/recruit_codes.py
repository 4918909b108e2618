"""Recruiting codes: ``/j/{code}`` names the inviter without a table and without showing their id.

A code is the inviter's id in base62 followed by a 16-character HMAC-SHA256 signature (96 bits)
keyed with a key derived from the settings secret, so a code cannot be guessed, forged or edited
into another member's. Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SIGNATURE_LENGTH = 16
_CODE = re.compile(r"^([0-9A-Za-z]{1,12})([A-Za-z0-9_-]{16})$")
_PURPOSE = b"neigou.recruit.v1"


def _b62(number: int) -> str:
    digits = []
    while True:
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
        if number == 0:
            return "".join(reversed(digits))


def _signature(secret_key: str, member_id: int) -> str:
    # A key of its own, so a recruiting signature is never valid as any other HMAC the app makes.
    key = hmac.new(secret_key.encode(), _PURPOSE, hashlib.sha256).digest()
    mac = hmac.new(key, str(member_id).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:12]).decode()


def recruit_code(secret_key: str, member_id: int) -> str:
    """The recruiting code of a member."""
    if member_id < 1:
        raise ValueError("member ids are positive")
    return _b62(member_id) + _signature(secret_key, member_id)


def inviter_of(secret_key: str, code: str) -> int | None:
    """The member id a code was signed for, or None when the code is malformed, forged or tampered."""
    match = _CODE.match(code)
    if match is None:
        return None
    member_id = 0
    for char in match.group(1):
        member_id = member_id * 62 + ALPHABET.index(char)
    if member_id < 1 or member_id > 2**63 - 1 or _b62(member_id) != match.group(1):
        return None
    if not hmac.compare_digest(_signature(secret_key, member_id), match.group(2)):
        return None
    return member_id
