"""Paging of every ``/api/v1`` list: one dependency for ``limit`` and ``offset`` (or a ``before_id``
cursor on long append-only logs), the total counted in SQL, and the answer's paging headers.

A list answers its total in ``X-Total-Count`` and, unless it is the last page, the next page in an
RFC 8288 ``Link: <url>; rel="next"`` header; its JSON body keeps its own shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, NamedTuple, TypeVar

from fastapi import Depends, Query, Request, Response
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from starlette.datastructures import URL

T = TypeVar("T")
AnySelect = Select[*tuple[Any, ...]]  # a statement of any columns
Sortable = ColumnElement[Any] | InstrumentedAttribute[Any]  # a column a list may be sorted or searched by
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 10_000_000
MAX_ID = 2**63 - 1  # the database's bigint: a larger cursor is refused as invalid, never sent on

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per page")]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]
BeforeQuery = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="only rows older than this id (the next page's cursor)")
]


@dataclass(frozen=True)
class Page:
    """A window of a list: ``limit`` rows after skipping ``offset``."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0


@dataclass(frozen=True)
class Cursor:
    """A window of an append-only log, newest first: ``limit`` rows older than ``before_id``."""

    limit: int = DEFAULT_LIMIT
    before_id: int | None = None


class Paged(NamedTuple, Generic[T]):
    """One page of rows and the number of rows of the whole filtered list."""

    items: list[T]
    total: int


class CursorPaged(NamedTuple):
    """One page of a log, the number of rows of the whole log, and the next page's cursor (None on
    the last page). ``items`` are entities when the statement selects one, else rows."""

    items: list[Any]
    total: int
    next_before_id: int | None


def count_rows(session: Session, stmt: AnySelect) -> int:
    """The number of rows ``stmt`` selects, counted by the database (one COUNT over it)."""
    inner = stmt.order_by(None).limit(None).offset(None).subquery()
    return session.scalar(select(func.count()).select_from(inner)) or 0


def paginate(session: Session, stmt: Select[T], page: Page) -> Paged[T]:
    """A page of ``stmt``'s entities and the total of the whole statement."""
    total = count_rows(session, stmt)
    return Paged(list(session.scalars(stmt.limit(page.limit).offset(page.offset))), total)


def paginate_before(
    session: Session, stmt: AnySelect, id_column: InstrumentedAttribute[int], cursor: Cursor
) -> CursorPaged:
    """Rows of ``stmt`` (ordered newest first by the caller) older than the cursor; the next cursor is
    the id of the page's last row when older rows remain (one row more is read to know). The id is
    read from the statement's first entity."""
    total = count_rows(session, stmt)
    if cursor.before_id is not None:
        stmt = stmt.where(id_column < cursor.before_id)
    stmt = stmt.limit(cursor.limit + 1)
    entities = len(stmt.column_descriptions) == 1
    items: list[Any] = list(session.scalars(stmt) if entities else session.execute(stmt))
    if len(items) <= cursor.limit:
        return CursorPaged(items, total, None)
    items = items[: cursor.limit]
    last = items[-1] if entities else items[-1][0]
    return CursorPaged(items, total, getattr(last, id_column.key))


def _next_link(url: URL, **params: int) -> str:
    return f'<{url.include_query_params(**params)}>; rel="next"'


@dataclass(frozen=True)
class PageQuery(Page):
    """A page asked for over HTTP; ``answer`` writes the paging headers on the response."""

    url: URL = field(kw_only=True, repr=False)
    response: Response = field(kw_only=True, repr=False)

    def answer(self, total: int) -> None:
        """``X-Total-Count``, and ``Link`` to the next page unless this one is the last."""
        self.response.headers["X-Total-Count"] = str(total)
        if self.offset + self.limit < total:
            self.response.headers["Link"] = _next_link(
                self.url, limit=self.limit, offset=self.offset + self.limit
            )


@dataclass(frozen=True)
class CursorQuery(Cursor):
    """A cursor page asked for over HTTP; ``answer`` writes the paging headers on the response."""

    url: URL = field(kw_only=True, repr=False)
    response: Response = field(kw_only=True, repr=False)

    def answer(self, total: int, next_before_id: int | None) -> None:
        """``X-Total-Count`` of the whole log, and ``Link`` to the rows older than this page's last."""
        self.response.headers["X-Total-Count"] = str(total)
        if next_before_id is not None:
            self.response.headers["Link"] = _next_link(self.url, limit=self.limit, before_id=next_before_id)


def paging(default_limit: int = DEFAULT_LIMIT) -> Callable[..., PageQuery]:
    """The ``limit``/``offset`` dependency; a list whose documented default differs names it here."""

    def page_params(
        request: Request, response: Response, limit: LimitQuery = default_limit, offset: OffsetQuery = 0
    ) -> PageQuery:
        return PageQuery(limit=limit, offset=offset, url=request.url, response=response)

    return page_params


def cursor_params(
    request: Request, response: Response, limit: LimitQuery = DEFAULT_LIMIT, before_id: BeforeQuery = None
) -> CursorQuery:
    """The ``limit``/``before_id`` dependency of append-only logs."""
    return CursorQuery(limit=limit, before_id=before_id, url=request.url, response=response)


PageDep = Annotated[PageQuery, Depends(paging())]
CursorDep = Annotated[CursorQuery, Depends(cursor_params)]
