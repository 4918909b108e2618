"""A platform's order row in neigou's words: one line of one order, its status, amounts and times.

Pure: the adapters of each platform (``jd_union``, ``pdd``, ``taobao``) turn the platform's own row into
a ``PlatformLine`` or a ``Skip`` with its reason; nothing here reads or writes a database.

Amounts in yuan arrive as JSON numbers or decimal strings and become fen exactly: the body is parsed
with decimals (never floats), and an amount with a fraction of a fen is refused, not rounded. Numbers are
read only as the platforms write them, ASCII digits with at most a decimal point: an exponent (``1e3``),
a sign, digit separators (``1_000``) or other scripts' digits (``１２.３``), which Python's ``Decimal`` and
``int`` would quietly accept, are refused.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as attribute
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Protocol

from neigou.kit.i18n import Message, Text
from neigou.kit.phones import ascii_digits
from neigou.kit.text_markers import exponent_number, too_long_number

# The platforms report times as Beijing wall-clock time.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
MAX_FEN = 10_000_000_000
# Quantities are stored in 32-bit columns: past it a row would fail its whole batch at the insert.
MAX_QUANTITY = 2**31 - 1
# How the platforms write numbers (as text, or as JSON numbers read as ``int`` or ``Decimal``).
WHOLE = re.compile(r"-?[0-9]{1,18}")
# A platform's numeric id (JD 联盟 ``orderId``/``skuId``, 多多进宝 ``goods_id``, 淘宝联盟 ``trade_id``...,
# Longs in the platforms' documents) once its digits are folded to ASCII and leading zeros dropped.
NUMERIC_ID = re.compile(r"[1-9][0-9]{0,18}")
MAX_ID = 2**63 - 1
# 多多进宝's ``order_sn``: the order's date as six digits, a dash and the order's digits (261031-1234...).
ORDER_SN = re.compile(r"[0-9]{6}-[0-9]{1,40}")
MAX_LINK_CODE = 64  # links.models.Link.code, platform_orders.link_code
DECIMAL = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,18})?")


class Platform(enum.StrEnum):
    """The platforms whose order feeds neigou reads."""

    JD_UNION = "jd_union"
    PDD = "pdd"
    TAOBAO = "taobao"


class LineStatus(enum.StrEnum):
    """Where a platform's order line stands, in the order it moves (invalid ends it at any point)."""

    UNPAID = "unpaid"
    PAID = "paid"
    COMPLETED = "completed"
    SETTLED = "settled"
    INVALID = "invalid"


RANK = {status: rank for rank, status in enumerate(LineStatus)}
DONE = (LineStatus.COMPLETED, LineStatus.SETTLED)  # the buyer received it
PAID = (LineStatus.PAID, *DONE)  # paid for, whatever came after


@dataclass(frozen=True)
class PlatformLine:
    """One line (a sku of an order) as the platform reports it now."""

    index: int
    external_id: str
    line_key: str
    quantity: int
    returned: int
    paid_fen: int
    estimate_fee_fen: int
    actual_fee_fen: int | None
    status: LineStatus
    link_code: str | None
    paid_at: datetime
    completed_at: datetime | None
    settled_at: datetime | None
    modified_at: datetime
    # The order id and line key as the rule before one-form ids stored them (``as_written``): a row
    # stored then, holding them, is this order's or this line's when none holds the one form. Not what
    # the line says: two rows of one line written in other forms are equal.
    written_id: str | None = attribute(default=None, compare=False)
    written_key: str | None = attribute(default=None, compare=False)
    # Whether the row carried its modification time; without one, ``modified_at`` is its payment time,
    # as on every such row of the line (``moves_forward``).
    timed: bool = attribute(default=True, compare=False)

    @property
    def fee_fen(self) -> int:
        """The line's commission pool: the platform's settled fee once it settled, its estimate before."""
        if self.status is LineStatus.SETTLED and self.actual_fee_fen is not None:
            return self.actual_fee_fen
        return self.estimate_fee_fen

    def newer_than(self, other: Said) -> bool:
        """Whether this row says more than ``other`` (a row, or the line as stored): modified later, or
        as late and further along. A row without a modification time of its own says more too when, as
        far along, it only moves the line forward (``moves_forward``)."""
        mine, theirs = (self.modified_at, RANK[self.status]), (other.modified_at, RANK[other.status])
        if mine != theirs or self.timed:
            return mine > theirs
        return moves_forward(self, other)


class Said(Protocol):
    """What a row, or a line as stored, says of a line's state."""

    @property
    def status(self) -> LineStatus: ...
    @property
    def modified_at(self) -> datetime: ...
    @property
    def returned(self) -> int: ...
    @property
    def paid_fen(self) -> int: ...


def moves_forward(line: Said, other: Said) -> bool:
    """Whether ``line`` takes the line further than ``other`` without taking it back: more units
    returned or a lower paid amount, neither the other way. Rows without a modification time are all
    dated by the order's payment, so their order cannot be told: only such a change is safe to take
    (a partial return, a price the platform took down), a row saying less is an older one."""
    forward = line.returned >= other.returned and line.paid_fen <= other.paid_fen
    return forward and (line.returned, line.paid_fen) != (other.returned, other.paid_fen)


@dataclass(frozen=True)
class Skip:
    """A row that cannot be mapped, with its reason; ``error`` names the class of an exception no rule
    expected (``unreadable_row``), for the log, never the row's values."""

    index: int
    code: str
    message: Text
    error: str | None = attribute(default=None, compare=False)


class RowProblem(Exception):
    """A field of a row is missing or malformed (caught by the adapter's caller into a ``Skip``)."""

    def __init__(self, code: str, message: Message) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


# The largest status code a skip repeats: a status the platform added is a small number, and a longer
# one (an id or a phone sent in the status field) is personal data the stored skip must not keep.
MAX_TOLD_STATUS = 999


def unknown_status(field: str, code: int) -> RowProblem:
    """The skip of a row whose status ``field`` holds ``code``, a code this adapter does not know."""
    if -MAX_TOLD_STATUS <= code <= MAX_TOLD_STATUS:
        return RowProblem(
            "unknown_status", Message("{field} {code} is not a known status.", field=field, code=code)
        )
    return RowProblem("unknown_status", Message("{field} is not a known status code.", field=field))


def refund_target(*, status: LineStatus, quantity: int, returned: int, paid_fen: int, taken_fen: int) -> int:
    """What of a line taken in for ``taken_fen`` should be refunded by now: all of it when invalid, else
    the returned share, or what the platform took off the line's paid amount, whichever is more."""
    if status is LineStatus.INVALID or returned >= quantity:
        return taken_fen
    returned_share = taken_fen * returned // quantity
    return max(returned_share, min(taken_fen, max(taken_fen - paid_fen, 0)))


def missing_field(name: str) -> RowProblem:
    """The skip of a row without the required field ``name``."""
    return RowProblem("missing_field", Message("The field {field} is missing.", field=name))


def field(row: Mapping[str, Any], name: str) -> Any:
    """A required field."""
    value = row.get(name)
    if value is None or value == "":
        raise missing_field(name)
    return value


def text(row: Mapping[str, Any], name: str, *, required: bool = True, max_length: int = 64) -> str | None:
    """A field as text (ids may come as numbers)."""
    value = field(row, name) if required else row.get(name)
    if value is None or value == "":
        return None
    return _checked_text(name, value, max_length=max_length, blank=False)


def _checked_text(name: str, value: object, *, max_length: int, blank: bool) -> str:
    """``value`` of the field ``name`` as text without surrounding white space: a string or a number (an
    id may come as one), of at most ``max_length`` characters and no NUL; empty only when ``blank`` allows
    it. Anything else is ``invalid_field``."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise RowProblem("invalid_field", Message("The field {field} must be text.", field=name))
    out = str(value).strip()
    if (not out and not blank) or len(out) > max_length or "\x00" in out:
        raise RowProblem(
            "invalid_field",
            Message("The field {field} must have 1-{n} characters.", field=name, n=max_length),
        )
    if not out.isascii() and not _encodable(out):
        # a lone surrogate (JSON's "\ud800"): JSON reads it, but no database can store it
        raise RowProblem(
            "invalid_field",
            Message("The field {field} holds a character that is not valid Unicode.", field=name),
        )
    return out


def _encodable(text: str) -> bool:
    """Whether ``text`` has a UTF-8 form (it holds no unpaired surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _id_text(row: Mapping[str, Any], name: str) -> str:
    """An id field as folded text: a JSON whole number as written, or text with its digits as ASCII
    (full-width and other scripts' digits folded) and no surrounding white space; anything else (a
    float, a decimal written with a point or an exponent, a bool, an object) is ``invalid_field``."""
    value = field(row, name)
    if isinstance(value, Decimal) and value.as_tuple().exponent == 0:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise RowProblem(
            "invalid_field", Message("The field {field} must be an id written in digits.", field=name)
        )
    return ascii_digits(value).strip()


def numeric_id(row: Mapping[str, Any], name: str) -> str:
    """A platform's numeric id (a Long in its documents) in one form: ASCII digits without leading
    zeros (``0300001``, ``"３０００01"`` and ``300001`` are all ``300001``), from 1 to 2⁶³ − 1. A number
    written with a point (``300001.0``), a sign, a separator or any other character is ``invalid_field``,
    so one order never counts as two. A spreadsheet's number too long to be held exactly (written in
    exponent form: ``kit.workbook_rows.cell_text``, or Excel's CSV ``2.34568E+18``) is refused so too,
    asking for ids written as text: its digits are not the id's."""
    written = _id_text(row, name)
    if exponent_number(written):
        raise RowProblem("invalid_field", too_long_number(name))
    folded = written.lstrip("0")
    if not NUMERIC_ID.fullmatch(folded) or int(folded) > MAX_ID:
        raise RowProblem(
            "invalid_field", Message("The field {field} must be an id written in digits.", field=name)
        )
    return folded


def as_written(row: Mapping[str, Any], name: str) -> str | None:
    """An id as the rule before one-form ids stored it: the text as the row carried it, without
    surrounding white space (``"0880100"``, ``"８８０100"``); None where it stored nothing. A row stored
    then may still hold it (docs/platforms.md, "Ids stored before")."""
    value = row.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    return str(value).strip() or None


def order_sn(row: Mapping[str, Any], name: str) -> str:
    """多多进宝's order number in one form: six digits, a dash and digits, its digits folded to ASCII
    (``"２６1031-1"`` is ``261031-1``); kept as written otherwise (its zeros are part of the text)."""
    folded = _id_text(row, name)
    if not ORDER_SN.fullmatch(folded):
        raise RowProblem(
            "invalid_field",
            Message("The field {field} must be six digits, a dash and digits.", field=name),
        )
    return folded


def link_code(name: str, value: object) -> str | None:
    """A share link's code as a platform carried it in ``name`` (JD ``subUnionId``, 多多进宝
    ``custom_parameters``' ``uid``, 淘宝联盟's channel fields): text or a whole number, without
    surrounding white space; None when blank. A longer code than a link has is ``invalid_field``."""
    if value is None:
        return None
    return _checked_text(name, value, max_length=MAX_LINK_CODE, blank=True) or None


def _written(value: object) -> str | None:
    """A number's text as the row wrote it (None for what is not a number: a bool, an object, a float)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    return str(value).strip()


def integer(
    row: Mapping[str, Any], name: str, *, default: int | None = None, low: int = 0, high: int = MAX_FEN
) -> int:
    """A whole number field (numbers or ASCII digit strings)."""
    value = row.get(name)
    if (value is None or value == "") and default is not None:
        return default
    written = _written(field(row, name))
    if written is None or not WHOLE.fullmatch(written) or not low <= int(written) <= high:
        raise RowProblem(
            "invalid_field",
            Message("The field {field} must be a whole number from {low}.", field=name, low=low),
        )
    return int(written)


def yuan_to_fen(row: Mapping[str, Any], name: str, *, required: bool = True) -> int | None:
    """An amount in yuan (``12.34``, ``"12.34"``) as fen, exactly; a fraction of a fen is refused."""
    value = row.get(name)
    if value is None or value == "":
        if required:
            field(row, name)
        return None
    written = _written(value)
    if written is None:
        raise RowProblem(
            "invalid_amount", Message("The amount {field} must be a decimal number.", field=name)
        )
    fen = Decimal(written) * 100 if DECIMAL.fullmatch(written) else Decimal("nan")
    if not fen.is_finite() or fen != fen.to_integral_value() or not 0 <= fen <= MAX_FEN:
        raise RowProblem(
            "invalid_amount",
            Message("The amount {field} must be 0 or more yuan in whole fen.", field=name),
        )
    return int(fen)


def amount(row: Mapping[str, Any], name: str) -> int:
    """A required amount in yuan, as fen."""
    fen = yuan_to_fen(row, name)
    assert fen is not None  # required: a missing amount raised
    return fen
