"""Order files as rows: CSV (one line per order line, consecutive lines of one order grouped) and
JSON lines (one order per line). Pure parsing: every bad row becomes a RowError with its number.

CSV columns: ``external_id, program_id, customer_ref, link_code, paid_at, sku, quantity, paid_fen``
(``program_id`` may be left out when the import names the program; ``link_code`` may be empty).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from neigou.kit.i18n import Message
from neigou.orders.inputs import ItemIn, OrderIn, RowError

CSV_COLUMNS = (
    "external_id",
    "program_id",
    "customer_ref",
    "link_code",
    "paid_at",
    "sku",
    "quantity",
    "paid_fen",
)
Parsed = tuple[OrderIn | RowError, int]
"""An order (or why a row is refused) and the number of the last file row it used."""


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{name} must be an integer")
    return int(value)


def _at(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("paid_at must be an ISO 8601 time")
    at = datetime.fromisoformat(value)
    if at.tzinfo is None:
        raise ValueError("paid_at must carry a time zone")
    return at


def _program(value: object, default: int | None) -> int:
    if value in (None, ""):
        if default is None:
            raise ValueError("program_id is missing")
        return default
    return _int(value, "program_id")


def _refused(row: int, external_id: object, exc: Exception) -> RowError:
    return RowError(row, str(external_id or ""), "parse_error", Message("{error}.", error=str(exc)))


def parse_jsonl(lines: Iterable[str], *, program_id: int | None, start: int = 0) -> Iterator[Parsed]:
    """Orders from JSON lines; ``start`` is the number of lines already consumed (skipped)."""
    for number, text in enumerate(lines, start=1):
        if number <= start or not text.strip():
            continue
        raw: object = None
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict):
                raise ValueError("a line must be a JSON object")
            items = raw.get("items")
            if not isinstance(items, list):
                raise ValueError("items must be a list")
            yield (
                OrderIn(
                    external_id=str(raw.get("external_id", "")),
                    program_id=_program(raw.get("program_id"), program_id),
                    customer_ref=str(raw.get("customer_ref", "")),
                    link_code=raw.get("link_code") or None,
                    items=tuple(
                        ItemIn(
                            str(i["sku"]), _int(i["quantity"], "quantity"), _int(i["paid_fen"], "paid_fen")
                        )
                        for i in items
                    ),
                    paid_at=_at(raw.get("paid_at")),
                    total_fen=None if raw.get("total_fen") is None else _int(raw["total_fen"], "total_fen"),
                    row=number,
                ),
                number,
            )
        except (ValueError, KeyError, TypeError) as exc:
            yield _refused(number, raw.get("external_id") if isinstance(raw, dict) else "", exc), number


def parse_csv(lines: Iterable[str], *, program_id: int | None, start: int = 0) -> Iterator[Parsed]:
    """Orders from CSV rows (row 1 is the header); ``start`` rows were consumed before (skipped)."""
    reader = csv.DictReader(iter(lines))
    group: list[tuple[int, dict[str, str]]] = []
    for number, row in enumerate(reader, start=2):
        if number <= start:
            continue
        if group and (row.get("external_id"), row.get("program_id")) != (
            group[0][1].get("external_id"),
            group[0][1].get("program_id"),
        ):
            yield _group(group, program_id)
            group = []
        group.append((number, row))
    if group:
        yield _group(group, program_id)


def _group(rows: list[tuple[int, dict[str, str]]], program_id: int | None) -> Parsed:
    first_row, first = rows[0]
    last_row = rows[-1][0]
    try:
        return (
            OrderIn(
                external_id=(first.get("external_id") or "").strip(),
                program_id=_program(first.get("program_id"), program_id),
                customer_ref=(first.get("customer_ref") or "").strip(),
                link_code=(first.get("link_code") or "").strip() or None,
                items=tuple(
                    ItemIn(
                        (r.get("sku") or "").strip(),
                        _int(r.get("quantity"), "quantity"),
                        _int(r.get("paid_fen"), "paid_fen"),
                    )
                    for _, r in rows
                ),
                paid_at=_at(first.get("paid_at")),
                row=first_row,
            ),
            last_row,
        )
    except (ValueError, TypeError) as exc:
        return _refused(first_row, first.get("external_id"), exc), last_row
