"""Numbered pages for long server-rendered lists: ``?page=N`` in, a pager bar out.

The API pages with ``kit.paging`` (limit and offset); a page of HTML asks for page N of a fixed size
and shows where it is, the total, and links to the pages beside it that keep every other query
parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Query, Request
from starlette.datastructures import URL

from neigou.kit.paging import Page, Paged

T = TypeVar("T")

PageNumber = Annotated[int, Query(ge=1, le=100_000, description="page number, from 1")]


@dataclass(frozen=True)
class Pager:
    """Where a page sits in its list; ``None`` links are pages that do not exist."""

    number: int
    pages: int
    total: int
    previous_url: str | None
    next_url: str | None


@dataclass(frozen=True)
class Listed(Generic[T]):
    """One page of a list shown on a page, and its pager."""

    items: list[T]
    pager: Pager


def page_of(number: int, size: int) -> Page:
    """The rows of page ``number`` (from 1) of ``size`` rows."""
    return Page(limit=size, offset=(number - 1) * size)


def relative(url: URL) -> str:
    """A link to ``url`` on this site without its scheme and host (the Host header is not ours to echo)."""
    return f"{url.path}?{url.query}" if url.query else url.path


def pager(
    request: Request, number: int, size: int, total: int, *, param: str = "page", fragment: str = ""
) -> Pager:
    """The pager of page ``number`` of a list of ``total`` rows shown ``size`` at a time. A page showing
    several lists pages each under its own query parameter ``param``, its links ending in ``#fragment``
    (the list's place on the page)."""
    return pager_at(request.url, number, size, total, param=param, fragment=fragment)


def pager_at(
    at: URL, number: int, size: int, total: int, *, param: str = "page", fragment: str = ""
) -> Pager:
    """:func:`pager` for a list shown at ``at`` (a form's POST answer shows the list of its GET page)."""
    pages = max(1, -(-total // size))

    def url(n: int) -> str:
        return relative(at.include_query_params(**{param: n})) + (f"#{fragment}" if fragment else "")

    return Pager(
        number=number,
        pages=pages,
        total=total,
        previous_url=url(number - 1) if number > 1 else None,
        next_url=url(number + 1) if number < pages else None,
    )


def listed(
    request: Request,
    number: int,
    size: int,
    fetch: Callable[[Page], Paged[T]],
    *,
    param: str = "page",
    fragment: str = "",
) -> Listed[T]:
    """Page ``number`` of a list ``size`` rows at a time, read by ``fetch`` (a repository's
    ``page_…``: the page's rows and the list's total, counted in SQL), with its :func:`pager`. The size
    is the page's, never the query's: a reader picks a page, not how many rows one holds."""
    rows = fetch(page_of(number, size))
    return Listed(rows.items, pager(request, number, size, rows.total, param=param, fragment=fragment))
