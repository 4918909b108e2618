"""Money is integer fen; rates are integer basis points (10000 bp = 100%)."""

from __future__ import annotations

import re

BP_SCALE = 10_000


def format_yuan(fen: int) -> str:
    """Render fen as ``¥49.90`` (negative as ``-¥1.00``) without floats."""
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{rest:02d}"


def format_bp(bp: int) -> str:
    """Render basis points as a percentage (``2000`` → ``20%``, ``1250`` → ``12.5%``)."""
    whole, rest = divmod(bp, 100)
    if rest == 0:
        return f"{whole}%"
    return f"{whole}.{rest:02d}".rstrip("0") + "%"


def format_rate_bp(bp: int) -> str:
    """A measured rate in basis points as a percentage with one decimal, rounded half up: what the
    analytics pages show for every percentage, so all their columns read alike (``3333`` → ``33.3%``,
    ``5000`` → ``50.0%``, ``1255`` → ``12.6%``)."""
    sign = "-" if bp < 0 else ""
    tenths = (abs(bp) + 5) // 10
    whole, tenth = divmod(tenths, 10)
    return f"{sign}{whole}.{tenth}%"


def format_fold(bp: int) -> str:
    """A percentage off as Chinese shoppers read it, in tenths of the price paid: ``1000`` (10% off) → ``9``,
    ``1500`` → ``8.5``, ``1250`` → ``8.75`` (so "9折")."""
    paid = 10_000 - bp
    whole, rest = divmod(paid, 1000)
    if rest == 0:
        return str(whole)
    return f"{whole}.{rest:03d}".rstrip("0")


# Typed numbers are ASCII digits only (``kit.ids.whole_number``, as the API's pydantic reads them): ``\d``
# (a Unicode class) read full-width ``１００`` or Arabic-Indic ``١٠٠`` as 100. Matched whole (``fullmatch``).
_YUAN = re.compile(r"\s*([0-9]{1,9})(?:\.([0-9]{1,2}))?\s*")
_PERCENT = re.compile(r"\s*([0-9]{1,3})(?:\.([0-9]{1,2}))?\s*%?\s*")


def parse_yuan(text: str) -> int | None:
    """What a person types as yuan, in fen: ``"12.3"`` → 1230, without floats; None when it is not an amount
    (written in anything but ASCII digits: ``１００`` is none)."""
    match = _YUAN.fullmatch(text)
    if match is None:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


def parse_percent(text: str) -> int | None:
    """A percentage as basis points: ``"20"`` → 2000, ``"12.5%"`` → 1250, without floats; None past 100%."""
    match = _PERCENT.fullmatch(text)
    if match is None:
        return None
    bp = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    return bp if bp <= 10_000 else None


def yuan_text(fen: int) -> str:
    """Fen as a person types yuan into a form: 500000 → ``"5000"``, 1250 → ``"12.5"``."""
    sign = "-" if fen < 0 else ""
    whole, rest = divmod(abs(fen), 100)
    return f"{sign}{whole}" if rest == 0 else f"{sign}{whole}.{rest:02d}".rstrip("0")
