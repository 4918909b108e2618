"""Platform ids and link codes in one form: an order or a line written several ways is one order or one
line, and a share link's code is read alike by the three adapters."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from neigou.kit.i18n import translate
from neigou.platforms.adapters import read_rows
from neigou.platforms.order_keys import order_key
from neigou.platforms.rows import Platform, PlatformLine, RowProblem, link_code, numeric_id, order_sn
from tests.platforms.builders import jd_row, pdd_row, taobao_row

pytestmark = pytest.mark.no_database

NOW = datetime(2026, 12, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    "written",
    [300001, "300001", " 300001 ", "３０００01", "0300001", "000300001", Decimal(300001), "\u0663" + "00001"],
)
def test_a_numeric_id_written_any_way_has_one_form(written: object) -> None:
    assert numeric_id({"orderId": written}, "orderId") == "300001"


@pytest.mark.parametrize(
    "written",
    [
        Decimal("300001.0"),
        Decimal("3E+5"),
        300001.0,
        "300001.0",
        "-300001",
        "+300001",
        "300 001",
        "300_001",
        "300001x",
        "0",
        "000",
        2**63,
        "9" * 20,
        True,
        ["300001"],
    ],
)
def test_a_numeric_id_of_another_shape_is_refused_without_its_value(written: object) -> None:
    with pytest.raises(RowProblem) as refused:
        numeric_id({"orderId": written}, "orderId")
    assert refused.value.code == "invalid_field"
    told = translate(refused.value.message, "en")
    assert told == "The field orderId must be an id written in digits."
    assert str(written) not in told


@pytest.mark.parametrize("written", ["3e5", "3E5", "3e+5", "2.34568E+18", "2.3456789012345677e+18"])
def test_a_numeric_id_in_any_exponent_form_asks_for_ids_as_text(written: str) -> None:
    with pytest.raises(RowProblem) as refused:
        numeric_id({"orderId": written}, "orderId")
    assert refused.value.code == "invalid_field"
    told = translate(refused.value.message, "en")
    assert told == "The field orderId is a number too long to be read exactly; write ids as text."


@pytest.mark.parametrize(
    "written", ["261031-0123", " 261031-0123", "２６1031-０123", "２６１０３１－０１２３"]
)
def test_an_order_sn_keeps_its_zeros_and_folds_its_digits(written: str) -> None:
    assert order_sn({"order_sn": written}, "order_sn") == "261031-0123"


@pytest.mark.parametrize(
    "written", ["2610310123", "261031-", "26103-1", "261031-01-2", "261031-01a", 2610310123]
)
def test_an_order_sn_of_another_shape_is_refused(written: object) -> None:
    with pytest.raises(RowProblem) as refused:
        order_sn({"order_sn": written}, "order_sn")
    assert refused.value.code == "invalid_field"
    assert "order_sn" in translate(refused.value.message, "en")


def _lines(platform: Platform, rows: list[dict[str, object]]) -> list[PlatformLine]:
    out = read_rows(platform, rows, NOW)
    assert all(isinstance(line, PlatformLine) for line in out), out
    return [line for line in out if isinstance(line, PlatformLine)]


def test_each_adapter_reads_its_order_and_line_ids_in_one_form() -> None:
    jd = _lines(
        Platform.JD_UNION,
        [jd_row(300001, 12), {**jd_row(), "orderId": "３０００01", "skuId": "012"}, jd_row(300001, 12)],
    )
    assert {(line.external_id, line.line_key) for line in jd} == {("300001", "12")}
    pdd = _lines(
        Platform.PDD,
        [pdd_row("261101-000000001"), {**pdd_row("２６1101-000000001"), "goods_id": "057411"}],
    )
    assert {(line.external_id, line.line_key) for line in pdd} == {("261101-000000001", "57411")}
    taobao = _lines(
        Platform.TAOBAO,
        [taobao_row("18001", parent="18000"), taobao_row("０18001", parent=" 018000")],
    )
    assert {(line.external_id, line.line_key) for line in taobao} == {("18000", "18001")}
    # the grouping of a file's rows for NUL characters reads them alike
    assert order_key(Platform.JD_UNION, {"orderId": "０300001\x00"}) == "300001"
    assert order_key(Platform.PDD, {"order_sn": "２61101-1"}) == "261101-1"


@pytest.mark.parametrize(
    ("platform", "row"),
    [
        (Platform.JD_UNION, {**jd_row(), "orderId": Decimal("300001.0")}),
        (Platform.JD_UNION, {**jd_row(), "skuId": "12.0"}),
        (Platform.PDD, {**pdd_row(), "order_sn": "261101000000001"}),
        (Platform.PDD, {**pdd_row(), "goods_id": Decimal("57411.5")}),
        (Platform.TAOBAO, {**taobao_row(), "trade_id": "18001a"}),
        (Platform.TAOBAO, {**taobao_row(), "trade_parent_id": "-18000"}),
    ],
)
def test_an_id_of_another_shape_skips_its_row_naming_the_field(
    platform: Platform, row: dict[str, object]
) -> None:
    (skip,) = read_rows(platform, [row], NOW)
    assert not isinstance(skip, PlatformLine)
    assert skip.code == "invalid_field"


@pytest.mark.parametrize(
    ("platform", "row"),
    [
        (Platform.JD_UNION, jd_row(sub_union_id=" code-7 ")),
        (Platform.PDD, pdd_row(custom=" code-7 ")),
        (Platform.PDD, pdd_row(custom='{"uid": " code-7 ", "sid": "x"}')),
        (Platform.PDD, pdd_row(custom='{"uid": "  ", "code": "code-7\\t"}')),
        (Platform.TAOBAO, taobao_row(relation_id=" code-7 ")),
        (Platform.TAOBAO, {**taobao_row(), "external_id": "\tcode-7"}),
    ],
)
def test_every_adapter_reads_a_link_code_alike(platform: Platform, row: dict[str, object]) -> None:
    (line,) = _lines(platform, [row])
    assert line.link_code == "code-7"


@pytest.mark.parametrize(
    ("platform", "row"),
    [
        (Platform.JD_UNION, jd_row(sub_union_id="  ")),
        (Platform.PDD, pdd_row(custom='{"uid": " "}')),
        (Platform.TAOBAO, taobao_row(relation_id=" ")),
    ],
)
def test_a_blank_link_code_is_none(platform: Platform, row: dict[str, object]) -> None:
    (line,) = _lines(platform, [row])
    assert line.link_code is None


def test_a_link_code_longer_than_a_link_has_is_refused_alike() -> None:
    long = "c" * 65
    for platform, row in (
        (Platform.JD_UNION, jd_row(sub_union_id=long)),
        (Platform.PDD, pdd_row(custom=f'{{"uid": "{long}"}}')),
        (Platform.PDD, pdd_row(custom=long)),
        (Platform.TAOBAO, taobao_row(relation_id=long)),
    ):
        (skip,) = read_rows(platform, [row], NOW)
        assert not isinstance(skip, PlatformLine)
        assert skip.code == "invalid_field"
    assert link_code("subUnionId", 12345) == "12345"
