"""Which group a live code (活码) sends a visitor to, and which QR images it accepts (pure).

The first group, in the code's order, whose latest member count is below the capacity; a group never
counted counts as empty. None when every group is full.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

MAX_QR_BYTES = 1024 * 1024
QR_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def open_group(group_ids: Sequence[int], counts: Mapping[int, int], capacity: int) -> int | None:
    """The group a visitor joins now, or None when all are full."""
    for group_id in group_ids:
        if counts.get(group_id, 0) < capacity:
            return group_id
    return None


def image_type(data: bytes) -> str | None:
    """The content type of a PNG or JPEG by its signature, or None for anything else."""
    for signature, content_type in QR_TYPES.items():
        if data.startswith(signature):
            return content_type
    return None


CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_live_code(length: int = 8) -> str:
    """A random base62 code (never sequential): one code tells nothing about another."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def is_code(value: str) -> bool:
    """True when ``value`` has the shape of a live code (garbage never reaches a lookup)."""
    return 6 <= len(value) <= 16 and all(c in CODE_ALPHABET for c in value)
