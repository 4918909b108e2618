"""JSON from outside (a request's body, a file's line, a receiver's answer), read as untrusted text.

``json.loads`` raises ``RecursionError`` on arrays or objects nested past Python's recursion limit (a
few hundred kilobytes of ``[`` do it), which is no ``ValueError``: a caller that catches only the
latter answered such text with a 500, or let a job die mid-run. :func:`loads_untrusted` turns it into
:class:`TooDeep`, a ``ValueError`` like every other text ``json.loads`` cannot read, so one ``except
ValueError`` covers all of it; so is a number ``Decimal`` cannot hold (:class:`UnreadableNumber`).
"""

from __future__ import annotations

import json
import re
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


class TooMany(ValueError):
    """More items than a caller takes: the list was read no further."""


class MoreKeys(ValueError):
    """The object goes on past its list (another key, the same one again): read no further."""


_SPACE = "[ \t\n\r]*"  # JSON's white space, not Unicode's
_OPENING = re.compile(rf'{_SPACE}\{{{_SPACE}"([A-Za-z_]+)"{_SPACE}:{_SPACE}\[{_SPACE}')
_BETWEEN = re.compile(rf"{_SPACE}(?:(,){_SPACE}|(\]){_SPACE}\}}{_SPACE}\Z|(\]))")


def loads_listed(
    text: str | bytes,
    key: str,
    *,
    most: int,
    parse_float: Callable[[str], Any] | None = None,
    parse_constant: Callable[[str], Any] | None = None,
) -> list[Any] | None:
    """The list of a body written ``{"key": [item, ...]}``, read item by item: :class:`TooMany` as
    soon as it holds more than ``most`` items (the rest is never parsed), :class:`MoreKeys` when
    another key follows the list, the errors of :func:`loads_untrusted` for an item it cannot read.
    ``None`` for text opening otherwise or not JSON after the list, which a caller reads whole to tell
    what it is. Text as bytes is read as ``json.loads`` reads it (UTF-8, -16 or -32)."""
    if isinstance(text, bytes):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    opening = _OPENING.match(text)
    if opening is None or opening.group(1) != key:
        return None
    decoder = json.JSONDecoder(parse_float=parse_float, parse_constant=parse_constant)
    items: list[Any] = []
    at = opening.end()
    if not text.startswith("]", at):  # an empty list's bracket is read below
        at = _item(decoder, text, at, items)
    while True:
        between = _BETWEEN.match(text, at)
        if between is None:  # not JSON: read whole, to be told where
            return None
        if between.group(3):
            raise MoreKeys("more after the list")
        if between.group(2):
            return items
        if len(items) >= most:
            raise TooMany(f"more than {most} items")
        at = _item(decoder, text, between.end(), items)


def _item(decoder: json.JSONDecoder, text: str, at: int, items: list[Any]) -> int:
    try:
        item, end = decoder.raw_decode(text, at)
    except RecursionError:
        raise TooDeep("JSON nested too deep") from None
    except ArithmeticError:
        raise UnreadableNumber("a number cannot be read") from None
    items.append(item)
    return end
