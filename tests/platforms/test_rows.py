"""The adapters as pure code: amounts to fen exactly, each platform's statuses, times, link codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.kit.i18n import Message
from neigou.platforms import jd_union, pdd, taobao
from neigou.platforms.adapters import read_rows
from neigou.platforms.rows import (
    LineStatus,
    Platform,
    PlatformLine,
    RowProblem,
    Skip,
    refund_target,
    yuan_to_fen,
)
from tests.orders.builders import PAID_AT
from tests.platforms.builders import jd_row, pdd_row, taobao_row

pytestmark = pytest.mark.no_database

NOW = datetime(2026, 12, 4, tzinfo=UTC)


@given(st.integers(min_value=0, max_value=10**10))
def test_yuan_text_and_decimals_become_the_same_fen(fen: int) -> None:
    text = f"{fen // 100}.{fen % 100:02d}"
    assert yuan_to_fen({"a": text}, "a") == fen
    assert yuan_to_fen({"a": Decimal(text)}, "a") == fen


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=9))
def test_a_fraction_of_a_fen_is_refused_not_rounded(fen: int, mill: int) -> None:
    with pytest.raises(RowProblem) as refused:
        yuan_to_fen({"a": f"{fen // 100}.{fen % 100:02d}{mill}"}, "a")
    assert refused.value.code == "invalid_amount"


@pytest.mark.parametrize("value", ["-1.00", "abc", "NaN", "Infinity", True, [1], {"a": 1}, "1e400"])
def test_malformed_amounts(value: object) -> None:
    with pytest.raises(RowProblem):
        yuan_to_fen({"a": value}, "a")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (16, LineStatus.PAID),
        (17, LineStatus.COMPLETED),
        (18, LineStatus.SETTLED),
        (15, LineStatus.UNPAID),
        (24, LineStatus.UNPAID),
        *[(c, LineStatus.INVALID) for c in (2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 14, 19, 20, 21, 22, 23, 25)],
    ],
)
def test_jd_valid_codes(code: int, status: LineStatus) -> None:
    assert jd_union.read(0, jd_row(valid_code=code), NOW).status is status


def test_jd_row_reads_the_documented_fields() -> None:
    line = jd_union.read(
        3,
        jd_row(
            valid_code=17,
            sku_num=3,
            returned=1,
            paid="88.80",
            fee="8.88",
            actual_fee="7.77",
            sub_union_id="abc123",
            finished=timedelta(days=2),
            modified=timedelta(days=3),
            pay_month="20260320",
        ),
        NOW,
    )
    assert line == PlatformLine(
        index=3,
        external_id="300001",
        line_key="100012",
        quantity=3,
        returned=1,
        paid_fen=8880,
        estimate_fee_fen=888,
        actual_fee_fen=777,
        status=LineStatus.SETTLED,
        link_code="abc123",
        paid_at=PAID_AT,
        completed_at=PAID_AT + timedelta(days=2),
        settled_at=datetime(2026, 3, 19, 16, tzinfo=UTC),
        modified_at=PAID_AT + timedelta(days=3),
    )
    assert line.fee_fen == 777


def test_jd_settlement_date_ahead_is_not_settled_yet() -> None:
    line = jd_union.read(0, jd_row(valid_code=17, pay_month="20270101", actual_fee="1.00"), NOW)
    assert (line.status, line.settled_at, line.fee_fen) == (LineStatus.COMPLETED, None, 2000)


def test_jd_settled_18_settles_on_pay_month_else_when_modified() -> None:
    """已结算 (18): settled on ``payMonth`` once reached, on ``modifyTime`` without one; completed (not
    refunded as an invalid code) while its ``payMonth`` lies ahead."""
    on_day = jd_union.read(0, jd_row(valid_code=18, pay_month="20260320", actual_fee="7.00"), NOW)
    assert (on_day.status, on_day.settled_at, on_day.fee_fen) == (
        LineStatus.SETTLED,
        datetime(2026, 3, 19, 16, tzinfo=UTC),
        700,
    )
    assert on_day.completed_at == on_day.modified_at  # no finishTime: completed when it last changed
    undated = jd_union.read(0, jd_row(valid_code=18, modified=timedelta(days=12)), NOW)
    assert (undated.status, undated.settled_at) == (LineStatus.SETTLED, PAID_AT + timedelta(days=12))
    ahead = jd_union.read(0, jd_row(valid_code=18, pay_month="20270101"), NOW)
    assert (ahead.status, ahead.settled_at) == (LineStatus.COMPLETED, None)


@pytest.mark.parametrize(
    ("platform", "row", "name"),
    [
        (Platform.JD_UNION, {**jd_row(), "orderTime": 0}, "orderTime"),
        (Platform.JD_UNION, {**jd_row(), "orderTime": "0"}, "orderTime"),
        (Platform.JD_UNION, {**jd_row(), "orderTime": Decimal(0)}, "orderTime"),
        (Platform.TAOBAO, {**taobao_row(), "tk_paid_time": None, "tk_create_time": "0"}, "tk_create_time"),
        (Platform.TAOBAO, {**taobao_row(), "tk_paid_time": "0", "tk_create_time": 0}, "tk_create_time"),
        (
            Platform.PDD,
            {**pdd_row(status=-1), "order_pay_time": 0, "order_create_time": 0, "order_modify_at": 0},
            "order_modify_at",
        ),
        (Platform.PDD, {**pdd_row(), "order_pay_time": 0}, "order_pay_time"),
    ],
)
def test_a_required_time_written_0_is_a_missing_field(
    platform: Platform, row: dict[str, object], name: str
) -> None:
    """0 is the platforms' "not yet": a required time holding it is missing (it was an assertion)."""
    assert read_rows(platform, [row], NOW) == [
        Skip(0, "missing_field", Message("The field {field} is missing.", field=name))
    ]


def test_a_row_no_rule_foresaw_is_skipped_alone_with_the_exceptions_class() -> None:
    """A signalling NaN compared with 0 raises ``InvalidOperation`` in the time reader: the row is skipped
    ``unreadable_row`` (its error's class kept for the log, not its text), the others are read."""
    out = read_rows(Platform.JD_UNION, [{**jd_row(), "modifyTime": Decimal("sNaN")}, jd_row(300002)], NOW)
    assert out[0] == Skip(0, "unreadable_row", Message("The row could not be read."))
    assert isinstance(out[0], Skip)
    assert out[0].error == "InvalidOperation"
    assert isinstance(out[1], PlatformLine)


def test_jd_epoch_milliseconds_are_read_too() -> None:
    row = {**jd_row(), "orderTime": int(PAID_AT.timestamp() * 1000)}
    assert jd_union.read(0, row, NOW).paid_at == PAID_AT


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (-1, LineStatus.UNPAID),
        (0, LineStatus.PAID),
        (1, LineStatus.PAID),
        (2, LineStatus.COMPLETED),
        (3, LineStatus.COMPLETED),
        (5, LineStatus.SETTLED),
        (4, LineStatus.INVALID),
        (8, LineStatus.INVALID),
        (10, LineStatus.INVALID),
    ],
)
def test_pdd_order_statuses(code: int, status: LineStatus) -> None:
    assert pdd.read(0, pdd_row(status=code), NOW).status is status


@pytest.mark.parametrize(
    ("custom", "code"),
    [
        (None, None),
        ("abc123", "abc123"),
        ('{"uid": "abc123", "sid": 1}', "abc123"),
        ('{"code": 77}', "77"),
        ("{}", None),
    ],
)
def test_pdd_custom_parameters(custom: str | None, code: str | None) -> None:
    assert pdd.read(0, pdd_row(custom=custom), NOW).link_code == code


@pytest.mark.parametrize(
    ("code", "status"),
    [(12, LineStatus.PAID), (14, LineStatus.COMPLETED), (3, LineStatus.SETTLED), (13, LineStatus.INVALID)],
)
def test_taobao_statuses(code: int, status: LineStatus) -> None:
    assert taobao.read(0, taobao_row(status=code), NOW).status is status


def test_taobao_settled_fee_and_parent_order() -> None:
    line = taobao.read(0, taobao_row(status=3, fee="5.90", settled_fee="5.50", relation_id="2543"), NOW)
    assert (line.external_id, line.line_key, line.fee_fen, line.link_code) == (
        "1800000000000000000",
        "1800000000000000001",
        550,
        "2543",
    )


def test_read_rows_reports_each_refused_row() -> None:
    out = read_rows(
        Platform.PDD,
        [pdd_row(), [], {**pdd_row(), "order_status": 99}, pdd_row(modified=timedelta(days=9999))],
        NOW,
    )
    assert isinstance(out[0], PlatformLine)
    assert [(s.index, s.code) for s in out if isinstance(s, Skip)] == [
        (1, "invalid_row"),
        (2, "unknown_status"),
        (3, "future_time"),
    ]


@given(
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=0, max_value=10**7),
    st.integers(min_value=0, max_value=10**7),
)
def test_refund_target_never_exceeds_what_was_taken(
    quantity: int, returned: int, taken: int, paid: int
) -> None:
    returned = min(returned, quantity)
    target = refund_target(
        status=LineStatus.PAID, quantity=quantity, returned=returned, paid_fen=paid, taken_fen=taken
    )
    assert 0 <= target <= taken
    assert target >= taken * returned // quantity
    assert (
        refund_target(
            status=LineStatus.INVALID, quantity=quantity, returned=0, paid_fen=paid, taken_fen=taken
        )
        == taken
    )


def _untimed(row: dict[str, object], *names: str) -> dict[str, object]:
    return {k: v for k, v in row.items() if k not in names}


@pytest.mark.parametrize(
    ("platform", "row"),
    [
        (Platform.JD_UNION, _untimed(jd_row(valid_code=17), "modifyTime", "finishTime")),
        (Platform.JD_UNION, _untimed(jd_row(valid_code=18), "modifyTime", "finishTime")),
        (Platform.PDD, _untimed(pdd_row(status=2), "order_receive_time", "order_modify_at")),
        (Platform.PDD, _untimed(pdd_row(status=3), "order_receive_time", "order_modify_at")),
        (Platform.TAOBAO, _untimed(taobao_row(status=14), "modified_time")),
    ],
)
def test_a_completion_without_its_time_is_dated_when_it_is_read_not_at_payment(
    platform: Platform, row: dict[str, object]
) -> None:
    """Dated at the order's payment, the completion skipped the freeze window and its commission was
    released at once; it is dated when neigou learns of it."""
    (line,) = read_rows(platform, [row], NOW)
    assert isinstance(line, PlatformLine)
    assert line.status in (LineStatus.COMPLETED, LineStatus.SETTLED)
    assert line.completed_at == NOW
    assert line.settled_at in (None, NOW)


def test_a_completion_with_its_time_keeps_it() -> None:
    received = pdd.read(0, pdd_row(status=2), NOW)
    assert received.completed_at == PAID_AT + timedelta(days=3)  # order_receive_time
    changed = taobao.read(0, taobao_row(status=14, modified=timedelta(days=4)), NOW)
    assert changed.completed_at == PAID_AT + timedelta(days=4)  # modified_time
    finished = jd_union.read(
        0, _untimed(jd_row(valid_code=17, modified=timedelta(days=5)), "finishTime"), NOW
    )
    assert finished.completed_at == PAID_AT + timedelta(days=5)  # modifyTime, without finishTime
