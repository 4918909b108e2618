"""Money is integer fen; rates are integer basis points (10000 bp = 100%)."""

from __future__ import annotations

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
