"""Order files as rows: a table (CSV or .xlsx, one row per order line, consecutive rows of one order
grouped) and JSON lines (one order per line). Pure parsing: every bad row becomes a RowError with
its number; the file itself is read by ``kit.tabular``.

Columns: ``external_id, program_id, customer_ref, link_code, paid_at, sku, quantity, paid_fen``
(``program_id`` may be left out when the import names the program; ``link_code`` may be left out or
empty; other columns are ignored).

A row holding a NUL refuses its table order whole (``parse_table``). A JSON line is a whole order and
never shares it with another line (a second line with the same id is another order, answered as a
duplicate or refused as ``external_id_reused``), so a JSON line holding a NUL refuses itself alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import ValidationError

from neigou.kit.columns import Column, Layout, Row, RowError
from neigou.kit.dates import instant_in_range
from neigou.kit.i18n import Message
from neigou.kit.json_ids import id_text
from neigou.kit.json_input import loads_untrusted
from neigou.kit.json_text import holds_nul
from neigou.kit.tabular import nul_in_row
from neigou.orders import import_faults as faults
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.schemas import sku_text

LAYOUT = Layout(
    Column("external_id", ("外部订单号", "订单号")),
    Column("program_id", ("计划id",), required=False),
    Column("customer_ref", ("顾客标识", "买家")),
    Column("link_code", ("链接码", "分享码"), required=False),
    Column("paid_at", ("支付时间", "付款时间")),
    Column("sku", ("商品编码", "货号")),
    Column("quantity", ("数量",)),
    Column("paid_fen", ("实付(分)", "实付金额(分)")),
    unknown="ignore",
)
MAX_ORDER_LINES = 500
"""The rows (lines) one table order may have, far past any real order: past it the order is refused
``too_many_lines`` and its rows are no longer held, so one external id on every row of a file cannot
build an unbounded order in memory."""
Parsed = tuple[OrderIn | RowError, int]
"""An order (or why a row is refused) and the number of the last file row it used."""


def trimmed(value: object, name: str) -> str:
    """A cell's or a JSON field's text as an order stores it, read alike by the table and the JSON lines
    readers: surrounding white space dropped, as the API's ``strip_whitespace`` drops it (``" WH-7 "`` is
    ``WH-7``: another order otherwise, paid and commissioned twice); nothing (an empty cell, a field
    missing or null) the empty text. A JSON whole number is its digits and any other its exponent form
    (refused where an id is read: ``kit.json_ids``), as the API reads them; ``true``, ``false``, a list or
    an object is no text and refused, as the API refuses it."""
    value = id_text(value)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise faults.not_text(name)
    return str(value).strip()


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise faults.whole_number(name)
    try:
        return int(value)
    except ValueError:  # its text quotes the value: a customer's phone in the wrong column, say
        raise faults.whole_number(name) from None


def paid_at(value: object) -> datetime:
    """An order's ``paid_at`` cell as a time with a zone, within the dates stored."""
    if not isinstance(value, str):
        raise faults.not_a_time("paid_at")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise faults.not_a_time("paid_at") from None
    if at.tzinfo is None:
        raise faults.no_zone("paid_at")
    if not instant_in_range(at):  # a time with no UTC instant stopped the whole import
        raise faults.out_of_range("paid_at")
    return at


def _program(value: object, default: int | None) -> int:
    if value in (None, ""):
        if default is None:
            raise faults.missing("program_id")
        return default
    return _int(value, "program_id")


def _refused(row: int, external_id: object, exc: Exception) -> RowError:
    """The row's error in words (``import_faults``): where and why, never the value it holds."""
    column = exc.column if isinstance(exc, faults.Fault) else None
    return RowError(row, str(external_id or ""), "parse_error", faults.described(exc, row), column)


def _json_item(item: object, position: int) -> ItemIn:
    where = f"items.{position}"
    if not isinstance(item, dict):
        raise faults.Fault(faults.FIELD_NOT_AN_OBJECT, where)
    for name in ("sku", "quantity", "paid_fen"):
        if name not in item:
            raise faults.missing(f"{where}.{name}")
    return ItemIn(
        _json_sku(item["sku"], f"{where}.sku"),
        _int(item["quantity"], f"{where}.quantity"),
        _int(item["paid_fen"], f"{where}.paid_fen"),
    )


def _json_sku(value: object, where: str) -> str:
    """A JSON line's sku read as the API reads one (``orders.schemas.sku_text``): text without surrounding
    white space; a number, whole or not, ``null``, ``true``, a list or an object is no text."""
    try:
        return sku_text(value)
    except ValidationError:  # its text may quote the value
        raise faults.not_text(where) from None


def _json_object(text: str) -> dict[str, Any]:
    try:
        raw = loads_untrusted(text)
    except json.JSONDecodeError as exc:  # where it stops, not what it read
        raise faults.not_json(exc.pos) from None
    except ValueError:  # a number past the digits int() takes, or nested past the parser's depth
        raise faults.Fault(faults.UNREADABLE) from None
    if not isinstance(raw, dict):
        raise faults.Fault(faults.NOT_AN_OBJECT)
    return raw


def parse_jsonl(lines: Iterable[str], *, program_id: int | None, start: int = 0) -> Iterator[Parsed]:
    """Orders from JSON lines; ``start`` is the number of lines already consumed (skipped)."""
    for number, text in enumerate(lines, start=1):
        if number <= start or not text.strip():
            continue
        if holds_nul(text.encode()):  # PostgreSQL cannot store one and SQLite would: a row error on both
            yield RowError(number, "", "nul_character", nul_in_row(number)), number
            continue
        raw: dict[str, Any] = {}
        try:
            raw = _json_object(text)
            items = raw.get("items")
            if not isinstance(items, list):
                raise faults.Fault(faults.NOT_A_LIST, "items")
            yield (
                OrderIn(
                    external_id=trimmed(raw.get("external_id"), "external_id"),
                    program_id=_program(raw.get("program_id"), program_id),
                    customer_ref=trimmed(raw.get("customer_ref"), "customer_ref"),
                    link_code=trimmed(raw.get("link_code"), "link_code") or None,
                    items=tuple(_json_item(item, position) for position, item in enumerate(items)),
                    paid_at=paid_at(raw.get("paid_at")),
                    total_fen=None if raw.get("total_fen") is None else _int(raw["total_fen"], "total_fen"),
                    row=number,
                ),
                number,
            )
        except (ValueError, TypeError, KeyError) as exc:
            yield _refused(number, raw.get("external_id"), exc), number


def parse_table(rows: Iterable[Row], *, program_id: int | None, start: int = 0) -> Iterator[Parsed]:
    """Orders from table rows (row 1 is the header); rows up to ``start`` were consumed before.

    A row holding a NUL (read with ``nul_rows="report"``) refuses its whole order: every row of it is a
    row error and none of its lines is written, so the order goes in complete once the file is fixed.
    Rows are grouped by their order key with NUL characters removed (``N-1\\x00`` is a row of ``N-1``),
    and a program cell holding a NUL matches its neighbours' program. A NUL row whose external id is
    nothing but NULs (or empty) names no order: it is refused alone, and its message says so. It does not
    end the order open around it (rows of ``N-1`` on both sides stay one order, not one stored with
    half its lines and the rest refused as ``external_id_reused``): its error follows that order's, with
    a checkpoint no earlier than the order's last row, so checkpoints never go back.

    An order of more than :data:`MAX_ORDER_LINES` rows is refused whole with one ``too_many_lines`` error
    naming its rows (its first, its last and their count); past the limit its rows are counted, not held."""
    group: list[Row] = []
    over = _Overflow()  # the rows of the group past MAX_ORDER_LINES, counted only
    group_key = _Key("", "", program_nul=False)  # the key of the group's rows, a NUL-free program first
    group_nul = False  # a row of the group holds a NUL
    keyless: list[int] = []  # keyless NUL rows met while the group was open, reported after it
    for row in rows:
        if row.row <= start:
            continue
        key = _order_key(row)
        if row.nul and not key.external_id:
            if group:
                keyless.append(row.row)
            else:
                yield _keyless(row.row), row.row
            continue
        if group and key != group_key and not _same_order(key, group_key):
            yield from _flushed(group, group_nul, keyless, program_id, over)
            group, group_nul, keyless, over = [], False, [], _Overflow()
        if not group or (group_key.program_nul and not key.program_nul):
            group_key = key
        if not over.count and len(group) < MAX_ORDER_LINES:
            group.append(row)
        else:  # the order is refused: its first and last rows are all it still needs
            del group[1:]
            over.count, over.last = over.count + 1, row.row
        group_nul = group_nul or row.nul
    if group:
        yield from _flushed(group, group_nul, keyless, program_id, over)


class _Overflow:
    """The rows of an order past :data:`MAX_ORDER_LINES`: how many, and the last one's number."""

    def __init__(self) -> None:
        self.count = 0
        self.last = 0


def _keyless(row: int) -> RowError:
    return RowError(row, "", "nul_character", _no_order(row))


def _flushed(
    group: list[Row], nul: bool, keyless: list[int], program_id: int | None, over: _Overflow
) -> Iterator[Parsed]:
    """The group's order (or, when a row of it holds a NUL, its rows' errors; when it has too many rows,
    one error naming them), then the keyless NUL rows met inside it."""
    if over.count:
        yield _too_many(group[0], MAX_ORDER_LINES + over.count, over.last), over.last
    elif nul:
        yield from _refused_whole(group)
    else:
        yield order_of(group, program_id)
    last_row = over.last or group[-1].row
    for row in keyless:
        yield _keyless(row), max(row, last_row)


class _Key(NamedTuple):
    """A row's order key as grouping reads it: its external id and program cells, NUL characters and
    surrounding white space removed."""

    external_id: str
    program: str
    program_nul: bool  # the program cell held a NUL: what it named is not known for sure


def _order_key(row: Row) -> _Key:
    values = row.values
    program = values.get("program_id") or ""
    # Stripped as the stored order's id and program are: "N-1 " is a row of "N-1", not an order of its own
    # (which would go in without its line, the other refused as external_id_reused).
    if not row.nul:  # the common row, read as cheaply as the file allows (one tuple, two strips)
        return _Key((values.get("external_id") or "").strip(), program.strip(), False)
    return _Key(
        _without_nul(values.get("external_id")).strip(),
        _without_nul(program).strip(),
        program_nul="\x00" in program,
    )


def _without_nul(value: str | None) -> str:
    return (value or "").replace("\x00", "")


def _same_order(key: _Key, group: _Key) -> bool:
    if key.external_id != group.external_id:
        return False
    return key.program == group.program or key.program_nul or group.program_nul


def _no_order(row: int) -> Message:
    return Message(
        "Row {row} holds a NUL character ({nul}) and no external id, so its order cannot be told: this row "
        "alone is refused, and the order it belongs to may go in without it.",
        row=row,
        nul="\\u0000",
    )


def _too_many(first: Row, count: int, last: int) -> RowError:
    key = _order_key(first).external_id
    message = Message(
        "Rows {first} to {last} are one order of {count} rows, more than the {max_lines} "
        "lines an order may have: the whole order is refused.",
        first=first.row,
        last=last,
        count=count,
        max_lines=MAX_ORDER_LINES,
    )
    return RowError(first.row, key, "too_many_lines", message)


def _with_nul_row(row: int, held: int) -> Message:
    return Message(
        "Row {row} is refused with its whole order: row {held} of that order holds a NUL character ({nul}).",
        row=row,
        held=held,
        nul="\\u0000",
    )


def _item(row: Row) -> ItemIn:
    values = row.values
    try:
        return ItemIn(
            trimmed(values.get("sku"), "sku"),
            _int(values.get("quantity"), "quantity"),
            _int(values.get("paid_fen"), "paid_fen"),
        )
    except faults.Fault as fault:  # the order is refused at its first row; the message names this one
        fault.row = row.row
        raise


def _refused_whole(rows: list[Row]) -> Iterator[Parsed]:
    """Every row of an order one of whose rows holds a NUL, refused, as a JSON line holding one is."""
    held = next(row for row in rows if row.nul)
    key, last_row = _order_key(rows[0]).external_id, rows[-1].row
    for row in rows:
        message = nul_in_row(row.row) if row.nul else _with_nul_row(row.row, held.row)
        yield RowError(row.row, key, "nul_character", message), last_row


def order_of(rows: list[Row], program_id: int | None) -> Parsed:
    """The order of one group of rows (or why its first row is refused), and its last row's number."""
    first = rows[0].values
    first_row, last_row = rows[0].row, rows[-1].row
    try:
        return (
            OrderIn(
                external_id=trimmed(first.get("external_id"), "external_id"),
                program_id=_program(first.get("program_id"), program_id),
                customer_ref=trimmed(first.get("customer_ref"), "customer_ref"),
                link_code=trimmed(first.get("link_code"), "link_code") or None,
                items=tuple([_item(r) for r in rows]),
                paid_at=paid_at(first.get("paid_at")),
                row=first_row,
            ),
            last_row,
        )
    except (ValueError, TypeError) as exc:
        return _refused(first_row, first.get("external_id"), exc), last_row
