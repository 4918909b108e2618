"""Orders as they come in (API, webhook, file), checked before anything is looked up or written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from neigou.kit.columns import RowError
from neigou.kit.hidden_marks import HIDDEN_MARK_MESSAGE, INVALID_CUSTOMER_REF, hides_a_mark
from neigou.kit.i18n import Message
from neigou.kit.ids import is_tombstone, names_nobody
from neigou.kit.text_markers import exponent_id, too_long_number

MAX_ITEMS = 200
MAX_LINE_FEN = 10_000_000_000
# A line's units, as the API caps them: with a price or fixed commission of at most MAX_LINE_FEN, a line's
# list amount (price × quantity) stays below 10^15 fen, inside a BigInteger and SQLite's 64-bit integers,
# and the quantity inside the Integer column.
MAX_QUANTITY = 100_000


@dataclass(frozen=True)
class ItemIn:
    """``quantity`` units of ``sku`` for which the shopper paid ``paid_fen`` in all.

    ``pool_fen`` is a commission pool fixed by the shop for the line (a platform's fee on it); such a
    line needs no product in the catalog and is not priced by our offers.
    """

    sku: str
    quantity: int
    paid_fen: int
    pool_fen: int | None = None


@dataclass(frozen=True)
class OrderIn:
    """A paid order reported by the shop; ``row`` is its line in an import file (0 for the API)."""

    external_id: str
    program_id: int
    customer_ref: str
    link_code: str | None
    items: tuple[ItemIn, ...]
    paid_at: datetime
    total_fen: int | None = None
    row: int = 0
    event_id: int | None = None


def _item_error(order: OrderIn) -> tuple[str, Message] | None:
    for index, item in enumerate(order.items):
        if item.quantity < 1:
            return "invalid_quantity", Message(
                "{field}[{index}].quantity must be at least 1.", field="items", index=index
            )
        if item.quantity > MAX_QUANTITY:
            return "invalid_quantity", Message(
                "{field}[{index}].quantity must be 1 to {max_quantity}.",
                field="items",
                index=index,
                max_quantity=MAX_QUANTITY,
            )
        if item.paid_fen < 0 or item.paid_fen > MAX_LINE_FEN:
            return "invalid_amount", Message(
                "{field}[{index}].paid_fen must be 0 to {max_fen} fen.",
                field="items",
                index=index,
                max_fen=MAX_LINE_FEN,
            )
        if item.pool_fen is not None and not 0 <= item.pool_fen <= MAX_LINE_FEN:
            return "invalid_amount", Message(
                "The commission of {field}[{index}] must be 0 to {max_fen} fen.",
                field="items",
                index=index,
                max_fen=MAX_LINE_FEN,
            )
    if order.total_fen is not None and order.total_fen != sum(i.paid_fen for i in order.items):
        return "inconsistent_amounts", Message("total_fen is not the sum of the lines' paid_fen.")
    return None


# The face checks' answers, made once (a file checks millions of orders, nearly all fine).
_BAD_EXTERNAL_ID = Message("external_id must have 1-64 characters.")
_BAD_CUSTOMER_REF = Message("customer_ref must have 1-128 characters.")
_NAIVE_PAID_AT = Message("paid_at must carry a time zone.")
_BAD_ITEMS = Message("An order has 1-{max_items} items.", max_items=MAX_ITEMS)


def shape_error(order: OrderIn) -> RowError | None:
    """The first thing wrong with an order on its face (no lookups), or None."""
    problem: tuple[str, Message] | None = None
    if not order.external_id or len(order.external_id) > 64:
        problem = "invalid_external_id", _BAD_EXTERNAL_ID
    elif exponent_id(order.external_id):  # a workbook's 19-digit id read roughly (marked too): not the id
        problem = "invalid_external_id", too_long_number("external_id")
    elif names_nobody(order.customer_ref) or len(order.customer_ref) > 128:  # ="" names nobody too
        problem = INVALID_CUSTOMER_REF, _BAD_CUSTOMER_REF
    elif exponent_id(order.customer_ref):  # marked or not (``'2.34568E+18``): two customers' one hash
        problem = INVALID_CUSTOMER_REF, too_long_number("customer_ref")
    elif hides_a_mark(order.customer_ref):  # another customer's hash than the same text without it
        problem = INVALID_CUSTOMER_REF, HIDDEN_MARK_MESSAGE
    elif order.paid_at.tzinfo is None or order.paid_at.utcoffset() is None:
        problem = "naive_datetime", _NAIVE_PAID_AT
    elif not order.items or len(order.items) > MAX_ITEMS:
        problem = "invalid_items", _BAD_ITEMS
    else:
        problem = _item_error(order)
    return None if problem is None else RowError(order.row, order.external_id, *problem)


@dataclass(frozen=True)
class Terms:
    """What an order says, compared when its ``external_id`` comes again: the customer (its keyed hash),
    the link, the instant paid, the lines (sku, quantity, paid) in their order and the event it was sold
    in (none outside one: an event's board and report count only its own sales). A stored customer that
    is not a keyed hash (erased on an opt-out) matches any customer."""

    customer_ref_hash: str
    link_code: str | None
    paid_at: datetime
    items: tuple[ItemIn, ...]
    event_id: int | None = None

    def same_as(self, stored: Terms) -> bool:
        """True when these terms repeat the stored ones (a retry), False when they say something else.
        The shopper's marketing consent is not a term: it is the shopper's answer, not the sale's
        (``orders.consent``)."""
        return (
            (is_tombstone(stored.customer_ref_hash) or self.customer_ref_hash == stored.customer_ref_hash)
            and (self.link_code or None) == (stored.link_code or None)
            and self.paid_at == stored.paid_at
            and _lines(self.items) == _lines(stored.items)
            and self.event_id == stored.event_id
        )


def _lines(items: tuple[ItemIn, ...]) -> list[tuple[str, int, int]]:
    """What a line says (a platform's fee on it is the platform's, and may change as it settles)."""
    return [(item.sku, item.quantity, item.paid_fen) for item in items]


def terms_of(order: OrderIn, ref_hash: str) -> Terms:
    """The terms of an incoming order whose customer hashes to ``ref_hash``."""
    return Terms(ref_hash, order.link_code, order.paid_at, order.items, order.event_id)


def reused(order: OrderIn) -> RowError:
    """The refusal of an ``external_id`` already stored with other terms."""
    return RowError(
        order.row,
        order.external_id,
        "external_id_reused",
        Message(
            "{field} names an order reported before with other terms (customer, link, paid_at, lines or "
            "event); an external id names one order.",
            field="external_id",
        ),
    )
