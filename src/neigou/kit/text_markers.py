"""Excel's text markers: the one definition of what is dropped from around a value. Pure: no I/O.

Excel keeps a value as text (a phone number's or a code's digits, its leading zeros) in two ways: the
text formula a POS or ERP export writes, ``="13812345678"``, and the apostrophe typed before a value,
``'13812345678``, which some exports keep. Neither is part of the value. Import cells lose them
(``crm.imports``), and so does every customer reference before it is hashed or masked
(``kit.phones.customer_ref``), from any input: an order, a file row, an opt-out, a claim, a reservation.

A marker is dropped only when it wraps the whole value: ``="…"`` whole, or a ``'`` first, white space
round either. A reference that is no phone number (an openid, a shop's own id) never begins with ``'``
or ``="``, so none is changed by the rule.
"""

from __future__ import annotations

import re

_TEXT_FORMULA = re.compile(r'=[ \t]*"([^"]*)"')


def spreadsheet_text(cell: str) -> str:
    """A cell's value without an Excel text marker around it, ``="…"`` or a leading ``'`` (white space
    around it trimmed); any other cell as given."""
    if "'" not in cell and "=" not in cell:
        return cell  # no marker's first character (most references): two scans in C, nothing made
    text = cell.strip()
    first = text[:1]
    if first == "'":
        return text[1:].strip()
    if first == "=" and (formula := _TEXT_FORMULA.fullmatch(text)) is not None:
        return formula.group(1).strip()
    return cell
