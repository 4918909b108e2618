"""Untrusted JSON text: whatever ``json.loads`` cannot read is a ``ValueError``, nesting too deep too."""

from __future__ import annotations

from decimal import Decimal

import pytest

from neigou.kit.json_input import TooDeep, UnreadableNumber, loads_untrusted

pytestmark = pytest.mark.no_database


def test_text_nested_past_the_parsers_depth_is_a_value_error() -> None:
    for deep in ("[" * 100_000 + "]" * 100_000, '{"a": ' * 100_000 + "1" + "}" * 100_000):
        with pytest.raises(TooDeep):
            loads_untrusted(deep)
        with pytest.raises(ValueError, match="nested too deep"):
            loads_untrusted(deep.encode())


def test_readable_text_is_read_as_json_loads_reads_it() -> None:
    assert loads_untrusted(b'{"a": [1, 2.5, NaN]}', parse_float=Decimal, parse_constant=lambda _c: None) == {
        "a": [1, Decimal("2.5"), None]
    }
    with pytest.raises(ValueError, match="Expecting property name"):
        loads_untrusted("{")


def test_a_number_decimal_cannot_hold_is_a_value_error() -> None:
    """``Decimal`` refuses an exponent past its limit with ``InvalidOperation``, an ``ArithmeticError``
    no caller catching ``ValueError`` expects (the feed endpoint answered it with a 500)."""
    for text in ("[1e999999999999999999999999999]", '{"a": 1.5e-99999999999999999999}'):
        with pytest.raises(UnreadableNumber):
            loads_untrusted(text, parse_float=Decimal)
        with pytest.raises(ValueError, match="number cannot be read"):
            loads_untrusted(text.encode(), parse_float=Decimal)
    assert loads_untrusted("[1e999999999999999999999999999]") == [float("inf")]
