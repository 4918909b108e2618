"""Excel's text markers: the one definition of what is dropped from around a value. Pure: no I/O.

Excel keeps a value as text (a phone number's or a code's digits, its leading zeros) in two ways: the
text formula a POS or ERP export writes, ``="13812345678"``, and the apostrophe typed before a value,
``'13812345678``, which some exports keep. Neither is part of the value. Import cells lose them
(``crm.imports``), and so does every customer reference before it is hashed or masked
(``kit.phones.customer_ref``), from any input: an order, a file row, an opt-out, a claim, a reservation.

A marker is dropped only when it wraps the whole value: ``="…"`` whole, or a ``'`` first, white space
or an invisible mark hashing trims (``kit.invisible.HASHED_EDGES``: a CSV's byte-order mark, a zero-width
space) round either; those are trimmed first, as the hash would trim them after. A reference that is no phone number (an openid, a shop's own id) never begins with ``'``
or ``="``, so none is changed by the rule.

Each marker character is read in every form NFKC folds into it, as a reference is hashed in its NFKC form
(``kit.ids.canonical``): the full-width ``＇`` ``＝`` ``＂`` a Chinese or Japanese input method types in
full-width mode (``＝"13812345678"``, ``＝＂13812345678＂``, ``＇13812345678``, the ideographic space
``　`` beside them), and the rarer small, superscript and subscript equals signs. Otherwise ``＇138…``
would hash as ``'138…`` once folded, a marked text no other input names: a shopper apart from the number.
"""

from __future__ import annotations

import re
import unicodedata

from neigou.kit.i18n import Message
from neigou.kit.invisible import edge, trim_edges

# The marker characters and every form NFKC folds into them (``tests/kit/test_ref_markers.py`` checks the
# lists against the interpreter's Unicode data).
APOSTROPHES = "'\uff07"
EQUALS_SIGNS = "=\uff1d\ufe66\u207c\u208c"
QUOTES = '"\uff02'
_APOSTROPHE = frozenset(APOSTROPHES)
_EQUALS = frozenset(EQUALS_SIGNS)
_FIRSTS = _APOSTROPHE | _EQUALS
_TEXT_FORMULA = re.compile(f"[{EQUALS_SIGNS}][ \\t\u3000]*[{QUOTES}]([^{QUOTES}]*)[{QUOTES}]")
# A number in exponent form, as a spreadsheet writes one it holds only roughly: a workbook's cell of 2⁵³
# or more (``kit.workbook_rows.cell_text``: ``2.3456789012345677e+18``), Excel's CSV (``2.34568E+18``),
# and as it is typed or sent too: a lowercase ``e``, no point, no sign or a minus (``1.3812345678e10``,
# ``1E10``, a JSON number with a point read by ``kit.json_ids``), and with a sign before it (``-1E5``, a
# negative float read by ``kit.json_ids``: ``-1.3812345678000000e+10``).
EXPONENT_NUMBER = re.compile(r"[+-]?[0-9](?:\.[0-9]+)?[eE][+-]?[0-9]+")


def spreadsheet_text(cell: str) -> str:
    """A cell's value without an Excel text marker around it, ``="…"`` or a leading ``'`` (either in any
    form NFKC folds into it: ``＝＂…＂``, ``＇``), white space and the invisible marks hashing trims
    (``kit.invisible.HASHED_EDGES``: a CSV's byte-order mark, a zero-width space) around it and round the
    marker trimmed first, so ``\ufeff'13812345678`` is ``13812345678`` as ``'13812345678`` is; any other
    cell as given."""
    first = cell[:1]
    if first not in _FIRSTS and not edge(first):
        return cell  # no marker first (most references): one character looked at, nothing made
    text = trim_edges(cell)
    first = text[:1]
    if first in _APOSTROPHE:
        return trim_edges(text[1:])
    if first in _EQUALS and (formula := _TEXT_FORMULA.fullmatch(text)) is not None:
        return trim_edges(formula.group(1))
    return cell


def exponent_number(cell: str) -> bool:
    """Whether a cell holds a number in exponent form (:data:`EXPONENT_NUMBER`): no id is written so,
    and its digits are not the id's (two ids that round alike would be one, a 19-digit id another
    customer than itself written as text). The cell as given: an id that may be wrapped in a text marker
    is read by :func:`exponent_id`."""
    return EXPONENT_NUMBER.fullmatch(cell.strip()) is not None


def exponent_id(value: str) -> bool:
    """Whether ``value`` is a number in exponent form once read as it is hashed: white space and the
    invisible marks hashing trims dropped at either end, then an Excel text marker wrapping it
    (:func:`spreadsheet_text`), then its NFKC form. ``'2.34568E+18``, ``="2.34568E+18"``,
    ``＝＂2.34568E+18＂``, ``\ufeff'2.34568E+18`` and full-width ``２.３４５６８Ｅ＋１８`` all are: each
    is hashed as ``2.34568E+18``, so refusing the bare form alone would let the marked one through. The
    one test every input of a customer reference (orders from any source, the customer book's import,
    claims, reservations) refuses such a reference by."""
    text = spreadsheet_text(value)
    if not text.isascii():
        text = trim_edges(unicodedata.normalize("NFKC", text))
    return exponent_number(text)


def too_long_number(field: str) -> Message:
    """Why a value of :func:`exponent_id` (or a cell of :func:`exponent_number`) is refused where an id is
    read."""
    return Message(
        "The field {field} is a number too long to be read exactly; write ids as text.", field=field
    )
