"""Chinese text orders by pinyin, syllable by syllable and then by tone; other text by its letters."""

from __future__ import annotations

from neigou.kit.collation import sort_key


def _ordered(words: list[str], locale: str) -> list[str]:
    return sorted(words, key=lambda w: sort_key(w, locale))


def test_chinese_orders_by_pinyin_not_code_point() -> None:
    words = ["创建商品", "驳回提现", "安排群提醒", "订单退款", "打款批次已付"]
    assert sorted(words) == ["创建商品", "安排群提醒", "打款批次已付", "订单退款", "驳回提现"]  # code points
    assert _ordered(words, "zh-CN") == ["安排群提醒", "驳回提现", "创建商品", "打款批次已付", "订单退款"]


def test_syllables_then_tones_and_readings_in_context() -> None:
    assert sort_key("银行", "zh-CN") == ("yin2", "hang2")  # 行 read as in 银行, not xing2
    tones = ["妈妈", "麻", "马", "骂"]  # ma1 < ma2 < ma3 < ma4
    assert _ordered(tones[::-1], "zh-CN") == tones
    assert _ordered(["昂", "按", "安全"], "zh-CN") == ["安全", "按", "昂"]  # an before ang
    # Latin words inside Chinese text are compared as written, case-folded, without their spaces
    assert sort_key("吊销 API 令牌", "zh-CN") == ("diao4", "xiao1", "api", "ling4", "pai2")


def test_other_languages_order_by_their_case_folded_text() -> None:
    assert _ordered(["withdrawal", "Group", "product"], "en") == ["Group", "product", "withdrawal"]
    assert sort_key("Straße", "en") == ("strasse",)
