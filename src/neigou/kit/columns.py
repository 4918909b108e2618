"""The columns of an import file and the one way a row is refused. Pure: no I/O.

Each import declares its columns, with the header names people write in both languages; the header
row is matched to them once (case, spaces, underscores and full-width forms do not matter):

    LAYOUT = Layout(
        Column("sku", ("商品编码", "货号")),
        Column("title", ("商品名称", "标题")),
        Column("image_url", ("图片",), required=False),
    )

A refused row is a :class:`RowError`, numbered as the spreadsheet shows it (the header is row 1),
and a file refused whole lists them through :class:`ErrorReport` and :class:`ImportRefused`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from neigou.kit.errors import Invalid
from neigou.kit.field_errors import field_code, field_message
from neigou.kit.i18n import N_, Message, Text

HEADER_ROW = 1


def column_letter(position: int) -> str:
    """The letter a spreadsheet shows over the column at 0-based ``position``: A … Z, AA, AB …"""
    letters = ""
    number = position + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def header_key(name: str) -> str:
    """What a header name is matched by: NFKC, case-folded, without spaces, ``_`` or ``-``."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(c for c in folded if not (c.isspace() or c in "_-"))


@dataclass(frozen=True)
class RowError:
    """Why one row (or, with ``row`` 0, one order sent through the API) was refused.

    ``key`` is what names the row in its import (the sku, the order's external id), ``message`` an
    English ``Message`` translated where it is shown, ``column`` the column at fault when there is one:
    its name, or for a header cell that names no column its spreadsheet letter (``C``). No message
    repeats a cell's text: a refusal names the row and column and says what it expects.
    """

    row: int
    key: str | None
    code: str
    message: Text
    column: str | None = None


def invalid_fields(row: int, key: str | None, errors: Iterable[Mapping[str, Any]]) -> list[RowError]:
    """A row's field errors as a validating model reports them (pydantic's ``errors()``), each at its
    field: an empty required text is ``required``; one of the product's own field errors
    (``kit.field_errors``: a name of nothing visible, a label that is a phone number…) or a time's (a
    number, a day outside the product's) has its own code, as the JSON API refuses it; anything else is
    ``invalid_value``. Each message is ``kit.field_errors.field_message``'s, in the reader's language."""
    return [_field_error(row, key, err) for err in errors]


def _field_error(row: int, key: str | None, err: Mapping[str, Any]) -> RowError:
    column = ".".join(str(p) for p in err["loc"]) or None
    kind = err["type"]
    return RowError(row, key, field_code(kind), field_message(kind, column or "", err.get("ctx")), column)


class FileRefused(Invalid):
    """The file cannot be read as a table (empty, undecodable, unreadable, a header that does not
    match its import); ``errors`` says where, as row errors."""

    def __init__(self, detail: Text, *, code: str, errors: Sequence[RowError]) -> None:
        super().__init__(
            detail,
            code=code,
            extra={
                "errors": [
                    {"row": e.row, "column": e.column, "code": e.code, "message": e.message} for e in errors
                ]
            },
        )
        self.errors = list(errors)


@dataclass(frozen=True)
class Column:
    """A column an import reads, by its name and the other names people give it."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = True


@dataclass(frozen=True)
class Header:
    """A matched header row: where each known column is, how many cells the row had, and the header
    each known column was found under, as written (``手机号`` or ``会员卡号`` for one column)."""

    index: Mapping[str, int]
    width: int
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def names(self) -> frozenset[str]:
        """The columns the file carries."""
        return frozenset(self.index)

    def values(self, cells: Sequence[str]) -> dict[str, str]:
        """A row's cells by column name; a cell the row lacks is empty."""
        if len(cells) >= self.width:
            return {name: cells[i] for name, i in self.index.items()}
        return {name: cells[i] if i < len(cells) else "" for name, i in self.index.items()}


class Row(NamedTuple):
    """A data row: its number as the spreadsheet shows it, its raw cells, and its cells by column.

    ``nul`` marks a row holding a NUL character, which no database of ours may be given: only a
    reader opened with ``nul_rows="report"`` yields one, and its import refuses that row.
    """

    row: int
    cells: tuple[str, ...]
    values: dict[str, str]
    nul: bool = False


class Layout:
    """The columns of one import. ``either`` lists groups of optional columns of which at least one
    must be present (``price_fen`` or ``price_yuan``); ``unknown`` says whether a column the import
    does not know refuses the file or is ignored."""

    def __init__(
        self,
        *columns: Column,
        either: Sequence[tuple[str, ...]] = (),
        unknown: Literal["refuse", "ignore"] = "refuse",
    ) -> None:
        self.columns = columns
        self.either = tuple(either)
        self.unknown = unknown
        self._by_key: dict[str, str] = {}
        for column in columns:
            for name in (column.name, *column.aliases):
                key = header_key(name)
                if self._by_key.get(key, column.name) != column.name:
                    raise ValueError(f"header {name!r} names both {self._by_key[key]} and {column.name}")
                self._by_key[key] = column.name

    def column_of(self, header_name: str) -> str | None:
        """The column a header cell names, or None."""
        return self._by_key.get(header_key(header_name))

    def match(self, header: Sequence[str]) -> Header:
        """Where each column is; raises FileRefused with every unknown, missing or repeated column."""
        index: dict[str, int] = {}
        labels: dict[str, str] = {}
        errors: list[RowError] = []
        for position, raw in enumerate(header):
            text = raw.strip()
            if not text:
                continue
            name = self.column_of(text)
            if name is None:
                if self.unknown == "refuse":
                    errors.append(self._unknown(position))
            elif name in index:
                errors.append(
                    RowError(
                        HEADER_ROW,
                        None,
                        "duplicate_column",
                        Message("Column {column!r} appears twice.", column=name),
                        name,
                    )
                )
            else:
                index[name] = position
                labels[name] = text
        errors.extend(self._missing(index.keys()))
        if errors:
            raise FileRefused(
                Message(
                    "The header row does not match this import: {problems}.",
                    problems="; ".join(f"{e.code} {e.column!r}" for e in errors),
                ),
                code="bad_header",
                errors=errors,
            )
        return Header(index=index, width=len(header), labels=labels)

    def _unknown(self, position: int) -> RowError:
        """A header cell that names no column, by where it stands: the cell's own text may be a
        customer's data (a file without a header row) and is never repeated."""
        letter = column_letter(position)
        return RowError(
            HEADER_ROW,
            None,
            "unknown_column",
            Message(
                "Column {number} ({letter}) of the header row is not a column of this import; "
                "its columns are {columns}.",
                number=position + 1,
                letter=letter,
                columns=", ".join(c.name for c in self.columns),
            ),
            letter,
        )

    def _missing(self, present: Iterable[str]) -> list[RowError]:
        found = set(present)
        errors = [
            RowError(
                HEADER_ROW,
                None,
                "missing_column",
                _required(c),
                c.name,
            )
            for c in self.columns
            if c.required and c.name not in found
        ]
        for group in self.either:
            if not found.intersection(group):
                errors.append(
                    RowError(
                        HEADER_ROW,
                        None,
                        "missing_column",
                        Message("One of the columns {columns} is required.", columns=", ".join(group)),
                        group[0],
                    )
                )
        return errors


def _required(column: Column) -> Message:
    if not column.aliases:
        return Message("Column {name!r} is required.", name=column.name)
    return Message(
        "Column {name!r} (or {aliases}) is required.", name=column.name, aliases=", ".join(column.aliases)
    )


@dataclass
class ErrorReport:
    """The row errors of one file, listed in row order (a stable sort: a row's errors keep their order)."""

    errors: list[RowError] = field(default_factory=list)

    def add(self, error: RowError) -> None:
        """One more refused row."""
        self.errors.append(error)

    def extend(self, errors: Iterable[RowError]) -> None:
        """More refused rows."""
        self.errors.extend(errors)

    def __len__(self) -> int:
        return len(self.errors)

    def listed(self, limit: int | None = None) -> list[RowError]:
        """The errors by row number, at most ``limit`` of them."""
        ordered = sorted(self.errors, key=lambda e: e.row)
        return ordered if limit is None else ordered[:limit]


class ImportRefused(Invalid):
    """A file refused whole because of its rows: ``errors`` are those listed (at most ``limit``),
    ``error_count`` all of them; each import renders a row error in its own documented shape."""

    title = N_("ImportRefused")

    def __init__(
        self,
        detail: Text,
        *,
        code: str,
        report: ErrorReport,
        limit: int,
        render: Callable[[RowError], dict[str, Any]],
    ) -> None:
        self.errors = report.listed(limit)
        self.error_count = len(report)
        super().__init__(
            detail,
            code=code,
            extra={"errors": [render(e) for e in self.errors], "error_count": self.error_count},
        )

    @classmethod
    def of_rows(
        cls, report: ErrorReport, *, limit: int, render: Callable[[RowError], dict[str, Any]]
    ) -> ImportRefused:
        """The whole file refused for its rows' errors, nothing imported (``import_invalid``)."""
        return cls(
            Message("{total} row error(s); nothing was imported.", total=len(report)),
            code="import_invalid",
            report=report,
            limit=limit,
            render=render,
        )
