"""Console lists people can work with: search, sort by a column, page, and the total, in one place.

A page takes :class:`ListQuery` from its query string (``q``, ``sort``, ``page``), gives
:func:`fetch` its statement with the columns it may be sorted and searched by, and renders the rows
with the macros of ``_listing.html``. The list sits in ``<div id="list">``; htmx swaps only that
element when the search box changes or a sort or page link is followed (the server renders the whole
page either way, so the same URL works without JavaScript, bookmarked or reloaded). Every link and
the search box keep the reader's ``?lang=``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import Session
from starlette.datastructures import URL

from neigou.kit.db import contains
from neigou.kit.paging import AnySelect, Sortable, count_rows
from neigou.web.i18n import query_language
from neigou.web.pager import PageNumber, Pager, pager_at, relative

SEARCH_MAX = 100
DEFAULT_SIZE = 50


@dataclass(frozen=True)
class ListQuery:
    """What the reader asked of a list: a search text, a sort key (``-`` first for descending), a page."""

    q: str
    sort: str
    page: int


def list_query(
    q: Annotated[str, Query(max_length=SEARCH_MAX, description="search text")] = "",
    sort: Annotated[
        str, Query(max_length=40, pattern=r"^-?[a-z_]*$", description="column, - for descending")
    ] = "",
    page: PageNumber = 1,
) -> ListQuery:
    """The list query of a request (FastAPI dependency)."""
    return ListQuery(q=q.strip(), sort=sort, page=page)


ListQueryDep = Annotated[ListQuery, Depends(list_query)]


@dataclass(frozen=True)
class Listing:
    """One page of a list and what the template needs to draw its search box, headers and pager."""

    rows: list[Any]
    total: int
    query: ListQuery
    sort: str
    pager: Pager
    base_url: str
    lang: str = ""

    def sort_url(self, key: str) -> str:
        """The link a column header follows: sort by ``key``, the other way round if it already is."""
        target = f"-{key}" if self.sort == key else key
        return _with(self.base_url, sort=target, page=1)

    def filter_url(self, **params: str) -> str:
        """The link of a filter tab: this list with ``params`` set (an empty value drops one), from page 1."""
        url = URL(self.base_url).remove_query_params(["page", *params])
        return _with(str(url), **{k: v for k, v in params.items() if v}, page=1)

    def sorted_by(self, key: str) -> str:
        """``ascending``, ``descending`` or ``none``: the header's ``aria-sort``."""
        if self.sort == key:
            return "ascending"
        return "descending" if self.sort == f"-{key}" else "none"


def _with(url: str, **params: Any) -> str:
    return relative(URL(url).include_query_params(**params))


def fetch(
    session: Session,
    request: Request,
    stmt: AnySelect,
    query: ListQuery,
    *,
    sorts: Mapping[str, Sortable],
    default_sort: str,
    search: Sequence[Sortable] = (),
    also_matching: ColumnElement[bool] | None = None,
    size: int | None = None,
    scalars: bool = True,
    path: str | None = None,
) -> Listing:
    """Page ``query.page`` of ``stmt`` filtered by the search text over ``search`` (case-insensitive
    substring) or by ``also_matching`` (what the text finds beyond the columns, such as the codes whose
    label holds it), and sorted by one of ``sorts`` (an unknown key falls back to ``default_sort``);
    ties keep the statement's own order. The total counts the filtered list. ``path`` is where the
    list's links point when it is shown in answer to a form posted elsewhere."""
    if query.q and search:
        pattern = contains(query.q)
        found = [column.ilike(pattern, escape="\\") for column in search]
        stmt = stmt.where(or_(*found, *([] if also_matching is None else [also_matching])))
    sort = query.sort if query.sort.lstrip("-") in sorts else default_sort
    column = sorts[sort.lstrip("-")]
    stmt = stmt.order_by(None).order_by(column.desc() if sort.startswith("-") else column.asc(), *_ties(stmt))
    total = count_rows(session, stmt)
    lang = query_language(request)
    at = request.url
    if path is not None and at.path != path:  # a form's answer: the list's links go to its own page
        at = at.replace(path=path, query=urlencode({"lang": lang} if lang else {}))
    size = size or DEFAULT_SIZE
    window = stmt.limit(size).offset((query.page - 1) * size)
    rows: list[Any] = (
        list(session.scalars(window)) if scalars else [tuple(r) for r in session.execute(window)]
    )
    return Listing(
        rows=rows,
        total=total,
        query=query,
        sort=sort,
        pager=pager_at(at, query.page, size, total),
        base_url=relative(at),
        lang=lang,
    )


def _ties(stmt: AnySelect) -> list[ColumnElement[Any]]:
    """The primary key of the statement's first entity, newest first: a stable order between equal keys."""
    entity = stmt.column_descriptions[0].get("entity")
    table = getattr(entity, "__table__", None)
    if table is None:
        return []
    return [column.desc() for column in table.primary_key.columns]


def arrange(
    request: Request,
    rows: Sequence[Any],
    query: ListQuery,
    *,
    sorts: Mapping[str, Callable[[Any], Any]],
    default_sort: str,
    text: Callable[[Any], str] = str,
    size: int | None = None,
) -> Listing:
    """:func:`fetch` for a list already computed in memory (a report's rows): the search text is matched
    case-insensitively against ``text(row)``, rows sort by ``sorts[key](row)`` (``None`` sorts last)."""
    if query.q:
        needle = query.q.casefold()
        rows = [row for row in rows if needle in text(row).casefold()]
    sort = query.sort if query.sort.lstrip("-") in sorts else default_sort
    key = sorts[sort.lstrip("-")]
    present = [row for row in rows if key(row) is not None]
    missing = [row for row in rows if key(row) is None]
    ordered = sorted(present, key=key, reverse=sort.startswith("-")) + missing
    size = size or DEFAULT_SIZE
    start = (query.page - 1) * size
    return Listing(
        rows=ordered[start : start + size],
        total=len(ordered),
        query=query,
        sort=sort,
        pager=pager_at(request.url, query.page, size, len(ordered)),
        base_url=relative(request.url),
        lang=query_language(request),
    )
