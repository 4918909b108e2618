"""Numbers and months people type are ASCII digits only, matched whole: ``\\d`` (a Unicode class) took
full-width ``２０２６`` and Arabic-Indic ``١٠٠`` and ``$`` a trailing newline, so a month reached a
download's file name (a 500) and an amount of ``１００`` was read as ¥100. The API's pydantic numbers read
ASCII digits only; the forms read them the same way (``kit.ids.whole_number``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from neigou.kit.dates import check_month, read_month
from neigou.kit.errors import Invalid
from neigou.kit.money import parse_percent, parse_yuan
from neigou.offers.amounts import AmountError, percent_to_bp, yuan_to_fen
from neigou.tiers.periods import Period, parse_period
from neigou.web.console_event_create import event_input

pytestmark = pytest.mark.no_database

SRC = Path(__file__).resolve().parents[2] / "src" / "neigou"
# Where ``\d`` means any digit on purpose: phone numbers are read in any digits (``kit.phones``) and
# the log redaction finds them however they are written.
ANY_DIGITS = {"kit/redact.py", "kit/intl_phones.py"}
NOT_ASCII = ("２０２６-03", "٢٠٢٦-03", "2026-０３", "2026-03\n", "\n2026-03", "2026-03 ")


@pytest.mark.parametrize("text", NOT_ASCII)
def test_a_month_is_ascii_digits_and_the_whole_text(text: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_month(text, "period")
    assert refused.value.code == "bad_period"
    assert parse_period(text) is None


def test_a_month_is_read_as_numbers_and_written_again() -> None:
    assert read_month("2026-03", "period") == (2026, 3)
    assert check_month("2026-03", "period") == "2026-03"
    assert parse_period("2026-12") == Period(2026, 12)


@pytest.mark.parametrize("text", ["１００", "١٠٠", "100\n5", "１２.5", "12.５", "100.00\n0"])
def test_an_amount_or_a_percentage_is_ascii_digits(text: str) -> None:
    assert parse_yuan(text) is None
    assert parse_percent(text) is None
    for read in (yuan_to_fen, percent_to_bp):
        with pytest.raises(AmountError) as refused:
            read(text)
        assert refused.value.code == "invalid_amount"


def test_ascii_amounts_read_as_before() -> None:
    assert [parse_yuan(t) for t in ("12.3", " 100 ", "\u3000100\u3000", "0.05")] == [1230, 10000, 10000, 5]
    assert [parse_percent(t) for t in ("20", "12.5%", " 100 % ")] == [2000, 1250, 10000]
    assert (yuan_to_fen("￥1,000.5"), percent_to_bp("12.5%")) == (100050, 1250)


def test_an_event_forms_whole_numbers_are_ascii_digits() -> None:
    values = {"guests_per_employee": "１", "sku_0": "A", "price_yuan_0": "１０", "stock_0": "٣"}
    values |= {"per_person_limit_0": "2", "starts_at": "2026-03-01T10:00", "ends_at": "2026-03-02T10:00"}
    _body, errors = event_input(values, 1, "Asia/Shanghai")
    codes = {e.field: e.code for e in errors}
    assert codes["guests_per_employee"] == codes["stock_0"] == "invalid_integer"
    assert codes["price_yuan_0"] == "invalid_amount"
    assert "per_person_limit_0" not in codes


def _flags_ascii(call: ast.Call) -> bool:
    return any("ASCII" in ast.unparse(arg) for arg in [*call.args[1:], *(k.value for k in call.keywords)])


def test_no_unicode_digit_class_reads_typed_text() -> None:
    found = []
    for path in SRC.rglob("*.py"):
        name = path.relative_to(SRC).as_posix()
        if name in ANY_DIGITS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
                continue
            if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "re"):
                continue
            pattern = node.args[0]
            text = (
                pattern.value if isinstance(pattern, ast.Constant) and isinstance(pattern.value, str) else ""
            )
            if re.search(r"\\d", text) and not _flags_ascii(node):
                found.append(f"{name}:{node.lineno}")
    assert not found, f"write [0-9] (or pass re.ASCII) where typed digits are read: {found}"
