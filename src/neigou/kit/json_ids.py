"""An id sent as a JSON number, read one way wherever JSON brings one (an order through the API, a webhook
or a JSON-lines file; a reservation).

A whole number is its digits (``7007`` is ``"7007"``, as ``coerce_numbers_to_str`` reads it). Any other
number, one written with a point or an exponent (``13812345678.0``, ``1.3812345678e10``), is a float,
which holds an id only roughly: it is read in exponent form, as a workbook's number cell past 2⁵³ is
(``kit.workbook_rows.cell_text``), a form no id is written in and every id check refuses ("write ids as
text": ``kit.text_markers.exponent_number``). Read as its digits, ``13812345678.0`` would be another
customer than ``13812345678`` (another keyed hash: another attribution, customer book, opt-out and
per-customer limit); read as the whole number it rounds to, two ids one float holds would be one, and a
platform's feed refuses ``300001.0`` alike (``platforms.rows``). ``NaN`` and ``Infinity``, which
``json.loads`` takes, are no id at all and refused.
"""

from __future__ import annotations

import math

from pydantic import BeforeValidator

from neigou.kit.errors import Invalid
from neigou.kit.text_markers import exponent_number, too_long_number


def id_text(value: object) -> object:
    """``value`` as an id is read: a float in exponent form (``1.3812345678000000e+10``), anything else
    as given (a whole number for its digits, text for its own checks)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a number that is not finite is no id")  # the value is never quoted
        return f"{value:.16e}"
    return value


IdNumber = BeforeValidator(id_text)
"""A request field's id sent as a JSON number, read by :func:`id_text` before its type is checked."""


def require_id_text(value: str, field: str, code: str) -> str:
    """``value`` as given, or 422 ``code`` ("write ids as text", naming ``field``, never the value) when it
    is in exponent form: a float :func:`id_text` read, or text written so."""
    if exponent_number(value):
        raise Invalid(too_long_number(field), code=code)
    return value
