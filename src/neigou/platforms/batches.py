"""Rows handed out in batches that end only between orders: a platform's order rows are applied batch by
batch, each in its own transaction, and a stored order's lines do not change (``line_after_order``), so
an order whose rows were split over two batches would lose the later ones for good.

:class:`Grouped` holds each order's rows until no later row can belong to it (:data:`MAX_ORDER_ROWS`
rows past its last one), so a batch holds every row of each of its orders, also when other orders' rows
lie between them. An order whose rows spread over more rows than that is skipped ``too_many_lines``
with all its rows, and so are its later rows, so it never goes in split. A row more than
:data:`MAX_ORDER_ROWS` rows after the last row of its order reads as a part of its own: the feed answers
its new lines ``line_after_order`` once the order is stored, and a NUL in it skips that part (and every
later row of the order), not the rows read before. It holds at most a batch and two windows of rows.
Both an exported file (``files.FileFetcher``) and a poller's window (``fetchers.Poller``) are read
through it."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from neigou.kit.i18n import Message
from neigou.platforms.order_keys import order_key
from neigou.platforms.rows import Platform, Skip

MAX_ORDER_ROWS = 500
"""The rows one order's rows may spread over, far more than a platform order has lines."""
TOO_LONG = Message(
    "The row is skipped with its whole order: the order has more than {max_rows} rows in the file, more "
    "than an order has.",
    max_rows=MAX_ORDER_ROWS,
)


@dataclass(frozen=True)
class Batch:
    """Rows in the platform's own shape; ``until`` is the end of the window a poller fetched them for.
    A file's batch also says which of its rows hold a NUL (``nul_rows``, by index in ``rows``), which
    orders the file's NUL rows named in earlier batches (``nul_orders``): every row of those is skipped,
    and which rows its reader skipped already (``skips``, by index: an order too long to hold)."""

    rows: list[Any]
    until: datetime | None = None
    nul_rows: frozenset[int] = frozenset()
    nul_orders: frozenset[str] = frozenset()
    skips: Mapping[int, Skip] = field(default_factory=dict)


@dataclass(eq=False)
class _Order:
    """One order's rows read so far: the first and the last one's place in the file."""

    key: str
    first: int
    last: int
    nul: bool = False
    too_long: bool = False
    count: int = 1  # its rows read so far


class _Held(NamedTuple):
    values: object  # a row in the platform's shape (a poller's row may be no object: ``invalid_row``)
    nul: bool
    order: _Order | None  # None: a row naming no order, or a later row of an order too long
    too_long: bool


class Grouped:
    """Rows held until their orders are whole, handed out in batches that end between orders."""

    def __init__(self, platform: Platform, size: int, limit: int = MAX_ORDER_ROWS) -> None:
        self.platform, self.size, self.limit = platform, size, limit
        self.held: list[_Held] = []
        self.start = 0  # the file place (0-based, data rows) of held[0]
        self.next = 0  # the place of the next row
        self.scanned = 0  # held rows whose orders are whole and looked at for a batch's end
        self.reach = -1  # the last row of any order met in the scanned rows
        self.open: OrderedDict[str, _Order] = OrderedDict()  # orders a later row may still join, by first row
        self.too_long: set[str] = set()
        self.nul_orders: set[str] = set()

    def add(self, values: object, *, nul: bool) -> Iterator[Batch]:
        """Hold one row (``nul``: it holds a NUL character); yields the batches that became whole."""
        place, self.next = self.next, self.next + 1
        key = order_key(self.platform, values) if isinstance(values, Mapping) else ""
        order: _Order | None = None
        too_long = key in self.too_long
        if key and not too_long:
            order = self.open.get(key)
            if order is not None and place - order.last > self.limit:
                self._close(self.open.pop(key))  # too far from its rows: a part of its own
                order = None
            if order is not None and order.count < self.limit and place - order.first >= self.limit:
                # Spread wider than the rows held: what came before is a part of its own, as above.
                self._close(self.open.pop(key))
                order = None
            if order is None:
                order = self.open[key] = _Order(key, place, place)
            elif order.count >= self.limit:
                order.too_long, order.last = True, place
                self.too_long.add(key)
                del self.open[key]
            else:
                order.last, order.count = place, order.count + 1
            order.nul = order.nul or nul
        self.held.append(_Held(values, nul, order, too_long))
        while self.open:  # the first open order is whole once no later row may join it
            first = next(iter(self.open.values()))
            if place - first.last < self.limit:
                break
            self._close(self.open.popitem(last=False)[1])
        yield from self._scan(next(iter(self.open.values())).first if self.open else self.next)

    def finish(self) -> Iterator[Batch]:
        """The batches of the rows still held, once no more rows come."""
        while self.open:
            self._close(self.open.popitem(last=False)[1])
        yield from self._scan(self.next)
        if self.held:
            yield self._batch(len(self.held))

    def _close(self, order: _Order) -> None:
        if order.nul:
            self.nul_orders.add(order.key)

    def _scan(self, whole: int) -> Iterator[Batch]:
        """Look at the held rows before place ``whole`` (their orders are whole) for a batch's end."""
        while self.start + self.scanned < whole:
            place = self.start + self.scanned
            held = self.held[self.scanned]
            self.reach = max(self.reach, held.order.last if held.order is not None else place)
            self.scanned += 1
            if self.reach <= place and self.scanned >= self.size:
                yield self._batch(self.scanned)

    def _batch(self, count: int) -> Batch:
        rows = self.held[:count]
        del self.held[:count]
        self.start += count
        self.scanned -= count
        skips = {
            index: Skip(index, "too_many_lines", TOO_LONG)
            for index, held in enumerate(rows)
            if held.too_long or (held.order is not None and held.order.too_long)
        }
        return Batch(
            [held.values for held in rows],
            nul_rows=frozenset(index for index, held in enumerate(rows) if held.nul),
            # the NUL orders of earlier parts that rows of this batch belong to (not every one met so far)
            nul_orders=frozenset(
                held.order.key
                for held in rows
                if held.order is not None and held.order.key in self.nul_orders
            ),
            skips=skips,
        )
