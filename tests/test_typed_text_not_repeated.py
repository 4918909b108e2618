"""A value typed into a field and refused is never repeated in the refusal's message (in English or in
Chinese): the message names the field (and the row, where there is one) and says what is expected, its
code unchanged. What was typed may be a phone number or a name, and messages go on to reports and logs
(``tests/test_exception_texts.py`` holds every ``Message`` in src to this)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from neigou.crm import imports as crm_imports
from neigou.groups import csv_rows
from neigou.kit.columns import RowError
from neigou.kit.errors import ProblemError
from neigou.kit.i18n import Text, translate
from neigou.network import service as network
from neigou.offers import amounts, csv_import, forms
from neigou.risk.thresholds import Unit
from neigou.tiers import service as tiers
from neigou.web import console_analytics, console_event_create, console_risk_thresholds

pytestmark = pytest.mark.no_database

PHONE = "13812345678"
NAME = "张三 13812345678"


def _texts(message: Text) -> list[str]:
    return [translate(message, "en"), translate(message, "zh-CN")]


def _hidden(message: Text, typed: str, *named: str) -> None:
    """Neither language repeats what was typed; the English names the field (and row)."""
    for text in _texts(message):
        assert typed not in text, text
        assert PHONE not in text, text
    for name in named:
        assert name in translate(message, "en"), message


@pytest.mark.parametrize(
    ("parse", "code"),
    [
        (amounts.yuan_to_fen, "invalid_amount"),
        (amounts.percent_to_bp, "invalid_amount"),
        (amounts.multiple_to_bp, "invalid_amount"),
        (lambda t: amounts.local_to_utc(t, "Asia/Shanghai"), "invalid_datetime"),
        (console_event_create._whole, "invalid_integer"),
        (lambda t: console_risk_thresholds._parse(Unit.COUNT, t), "invalid_integer"),
    ],
)
def test_a_form_value_that_is_no_number_or_time_is_refused_without_it(
    parse: Callable[[str], object], code: str
) -> None:
    with pytest.raises(amounts.AmountError) as refused:
        parse(NAME)
    assert refused.value.code == code
    _hidden(refused.value.message, NAME)
    assert NAME not in str(refused.value)


@pytest.mark.parametrize(
    ("typed", "code"), [("-" + PHONE, "negative_amount"), (PHONE + ".123", "too_many_decimals")]
)
def test_an_amount_out_of_bounds_is_refused_without_it(typed: str, code: str) -> None:
    with pytest.raises(amounts.AmountError) as refused:
        amounts.yuan_to_fen(typed)
    assert refused.value.code == code
    _hidden(refused.value.message, typed)


def test_a_product_files_price_names_its_column_not_its_cell() -> None:
    with pytest.raises(amounts.AmountError) as refused:
        csv_import._fields({"sku": "S1", "title": "t", "price_fen": NAME})
    assert (refused.value.code, refused.value.field) == ("invalid_integer", "price_fen")
    _hidden(refused.value.message, NAME, "price_fen")


def test_a_forms_whole_number_and_event_prices_name_the_field_and_line() -> None:
    read = forms._Reader({"total_quantity": NAME, "event_prices": f"A=1\n{NAME}"})
    assert read.whole("total_quantity") is None
    assert forms._event_prices(read) is not None
    (quantity, prices) = read.errors
    assert (quantity.field, quantity.code, prices.field, prices.code) == (
        "total_quantity",
        "invalid_integer",
        "event_prices",
        "invalid_value",
    )
    _hidden(quantity.message, NAME, "total_quantity")
    _hidden(prices.message, NAME, "event_prices", "2")


@pytest.mark.parametrize(
    ("column", "code"),
    [("spending_power", "invalid_spending_power"), ("marketing_consent", "invalid_boolean")],
)
def test_a_customer_files_cell_names_its_column_not_its_value(column: str, code: str) -> None:
    with pytest.raises(crm_imports._CellError) as refused:
        crm_imports._fields({"customer_ref": PHONE, column: NAME}, True)
    assert (refused.value.field, refused.value.code) == (column, code)
    _hidden(refused.value.message, NAME, column)


def test_a_phone_cell_with_a_note_is_refused_without_repeating_it() -> None:
    with pytest.raises(crm_imports._CellError) as refused:
        crm_imports._fields({"customer_ref": NAME}, True)
    assert (refused.value.field, refused.value.code) == ("customer_ref", "invalid_customer_ref")
    _hidden(refused.value.message, NAME)


@pytest.mark.parametrize(("typed", "code"), [(NAME, "bad_time"), ("2026-03-24T21:00:00", "naive_time")])
def test_a_count_files_time_names_its_column_not_its_value(typed: str, code: str) -> None:
    refused = csv_rows._observed_at(7, typed)
    assert isinstance(refused, RowError)
    assert (refused.row, refused.code) == (7, code)
    _hidden(refused.message, typed, "observed_at")


@pytest.mark.parametrize(
    ("refuse", "code", "field"),
    [
        (lambda t: console_analytics._day(t, "from"), "invalid_date", "from"),
        (network.parse_metric, "invalid_metric", "metric"),
        (tiers.require_period, "invalid_period", "period"),
    ],
)
def test_a_query_value_is_refused_without_it(refuse: Callable[[str], object], code: str, field: str) -> None:
    with pytest.raises(ProblemError) as refused:
        refuse(NAME)
    assert refused.value.code == code
    _hidden(refused.value.detail, NAME, field)


def test_a_product_files_active_flag_names_its_column_not_its_cell() -> None:
    with pytest.raises(amounts.AmountError) as refused:
        csv_import._fields({"sku": "S1", "price_fen": "100", "commission_rate_bp": "500", "active": NAME})
    assert (refused.value.code, refused.value.field) == ("invalid_boolean", "active")
    _hidden(refused.value.message, NAME, "active")


@pytest.mark.parametrize(
    ("cells", "code", "column"),
    [
        ({"owner_member_id": NAME, "group": "g", "member_count": "3"}, "bad_owner", "owner_member_id"),
        ({"owner_member_id": "7", "group": "g", "member_count": NAME}, "bad_count", "member_count"),
    ],
)
def test_a_count_files_cell_names_its_column_not_its_value(
    cells: dict[str, str], code: str, column: str
) -> None:
    row, refused = csv_rows._row(4, cells)
    assert row is None
    assert refused is not None
    assert (refused.row, refused.code) == (4, code)
    _hidden(refused.message, NAME, column)
