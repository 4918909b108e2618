"""Amounts typed by people (``49.90`` yuan, ``12.5`` percent, a local time) turned into fen, bp and UTC.

Pure: used by the CSV import and the console forms, never by the JSON API, which takes fen and bp.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from neigou.kit.dates import FIRST_DAY, LAST_DAY, instant_in_range
from neigou.kit.i18n import Message
from neigou.kit.ids import ID_DIGITS


class AmountError(ValueError):
    """A typed amount that is not a valid number of fen, bp or a time; ``code`` is stable."""

    def __init__(self, code: str, message: Message, *, field: str | None = None) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.field = field


MAX_WHOLE_DIGITS = ID_DIGITS
"""The most digits a typed whole number (or an amount's whole part) may have: every such number fits a
64-bit column, and a longer one is refused before ``int()``, which raises past 4300 digits."""


# What a field that is not a number is told, by the kind of number it takes (never the typed text).
_WRITE = {
    "yuan": Message("Write an amount in yuan, such as 29.90."),
    "percent": Message("Write a percentage, such as 12.5."),
    "multiple": Message("Write a multiple, such as 1.5."),
}


def _decimal(text: str, *, places: int, what: str) -> Decimal:
    cleaned = text.strip().replace(",", "").replace("，", "").removeprefix("¥").removeprefix("￥")
    cleaned = cleaned.removesuffix("%").strip()
    if not cleaned.isascii():  # typed numbers are ASCII digits only: ``Decimal`` reads ``１００`` as 100
        raise AmountError("invalid_amount", _WRITE[what])
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise AmountError("invalid_amount", _WRITE[what]) from exc
    if not value.is_finite():
        raise AmountError("invalid_amount", _WRITE[what])
    if value < 0:
        raise AmountError("negative_amount", Message("Write a number that is not negative."))
    if value.adjusted() >= MAX_WHOLE_DIGITS:  # ``1e999999999`` overflowed the arithmetic after it
        raise AmountError("invalid_amount", _WRITE[what])
    # Exact, however many digits were typed (``normalize`` rounds to the context's 28 digits).
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise AmountError(
            "too_many_decimals",
            Message("Write at most {places} decimals.", places=places),
        )
    return value


def yuan_to_fen(text: str) -> int:
    """``"49.90"`` → 4990; at most two decimals, never a float on the way."""
    return int(_decimal(text, places=2, what="yuan") * 100)


def percent_to_bp(text: str) -> int:
    """``"20"`` or ``"12.5%"`` → 2000 / 1250 basis points; at most two decimals."""
    value = int(_decimal(text, places=2, what="percent") * 100)
    if value > 10_000:
        raise AmountError("percent_out_of_range", Message("Write a percentage of at most 100%."))
    return value


def multiple_to_bp(text: str) -> int:
    """A factor as basis points: ``"3"`` → 30000, ``"1.5"`` (or ``"1.5×"``) → 15000; at most two decimals."""
    return int(_decimal(text.strip().removesuffix("×").removesuffix("x"), places=2, what="multiple") * 10_000)


def bp_to_multiple_text(bp: int) -> str:
    """30000 → ``"3"``, 15000 → ``"1.5"`` (the inverse of :func:`multiple_to_bp`)."""
    whole, rest = divmod(bp, 10_000)
    return str(whole) if rest == 0 else f"{whole}.{rest:04d}".rstrip("0")


def fen_to_yuan_text(fen: int) -> str:
    """4990 → ``"49.90"`` (the inverse of :func:`yuan_to_fen`, for refilling forms)."""
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{rest:02d}"


def bp_to_percent_text(bp: int) -> str:
    """1250 → ``"12.5"`` (the inverse of :func:`percent_to_bp`)."""
    whole, rest = divmod(bp, 100)
    return str(whole) if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")


def local_to_utc(text: str, timezone: str) -> datetime:
    """A time typed without a zone (``2026-03-24T10:00``) read in ``timezone``; one with a zone as given."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise AmountError(
            "invalid_datetime", Message("Write a date and time such as 2026-03-24T10:00.")
        ) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    if not instant_in_range(value):  # at the calendar's edge, in a zone ahead of UTC: no UTC instant
        raise AmountError(
            "date_out_of_range",
            Message(
                "Write a date and time from {first} to {last}.",
                first=FIRST_DAY.isoformat(),
                last=LAST_DAY.isoformat(),
            ),
        )
    return value.astimezone(UTC)
