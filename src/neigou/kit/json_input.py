"""JSON from outside (a request's body, a file's line, a receiver's answer), read as untrusted text.

``json.loads`` raises ``RecursionError`` on arrays or objects nested past Python's recursion limit (a
few hundred kilobytes of ``[`` do it), which is no ``ValueError``: a caller that catches only the
latter answered such text with a 500, or let a job die mid-run. :func:`loads_untrusted` turns it into
:class:`TooDeep`, a ``ValueError`` like every other text ``json.loads`` cannot read, so one ``except
ValueError`` covers all of it; so is a number ``Decimal`` cannot hold (:class:`UnreadableNumber`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class TooDeep(ValueError):
    """JSON nested past what the parser reads."""


class UnreadableNumber(ValueError):
    """A number ``parse_float`` refused other than with a ``ValueError``: ``Decimal`` raises
    ``decimal.InvalidOperation`` (an ``ArithmeticError``) for an exponent past its limit (``1e999999999999999999``)."""


def loads_untrusted(
    text: str | bytes,
    *,
    parse_float: Callable[[str], Any] | None = None,
    parse_constant: Callable[[str], Any] | None = None,
) -> Any:
    """``json.loads(text)``, raising a ``ValueError`` (``json.JSONDecodeError``, :class:`TooDeep` for
    text nested too deep, :class:`UnreadableNumber` for a number ``parse_float`` cannot make) for
    whatever it cannot read, never ``RecursionError`` or ``ArithmeticError``."""
    try:
        return json.loads(text, parse_float=parse_float, parse_constant=parse_constant)
    except RecursionError:
        raise TooDeep("JSON nested too deep") from None
    except ArithmeticError:
        raise UnreadableNumber("a number cannot be read") from None
