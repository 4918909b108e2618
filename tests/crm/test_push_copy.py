"""A push message's text: the default words in Chinese, the salesperson's template, refused templates, and
the robot's text, which names no customer."""

from __future__ import annotations

import pytest

from neigou.crm.push_copy import MessageItem, render, robot_text, template_problem, text_for
from neigou.kit.i18n import LOCALES, translate

ITEM = MessageItem(
    name="王女士", product="羊毛大衣", price_fen=129900, group_price_fen=89900, url="https://n.example/l/Ab3"
)


def test_the_default_shows_the_group_price_against_the_app_price() -> None:
    assert (
        render(None, ITEM)
        == "王女士您好，羊毛大衣 群内价 ¥899.00（App 价 ¥1299.00）：https://n.example/l/Ab3"
    )


def test_without_a_saving_or_a_name() -> None:
    plain = MessageItem(
        name=None, product="围巾", price_fen=19900, group_price_fen=19900, url="https://n.example/l/x"
    )
    assert render(None, plain) == "亲您好，围巾 ¥199.00：https://n.example/l/x"


def test_the_robot_text_names_no_customer_and_takes_no_template() -> None:
    assert robot_text(ITEM) == "羊毛大衣 群内价 ¥899.00（App 价 ¥1299.00）：https://n.example/l/Ab3"
    plain = MessageItem(
        name="王女士", product="围巾", price_fen=19900, group_price_fen=19900, url="https://n.example/l/x"
    )
    assert robot_text(plain) == "围巾 ¥199.00：https://n.example/l/x"
    assert text_for("{name}，给你留了{product}", ITEM, robot=True) == robot_text(ITEM)
    assert text_for(None, ITEM, robot=False) == render(None, ITEM)


def test_a_template_of_the_salesperson() -> None:
    template = "{name}，新到{product}，群价{group_price}元（原价{app_price}）{link} {{限时}}"
    assert (
        render(template, ITEM)
        == "王女士，新到羊毛大衣，群价899.00元（原价1299.00）https://n.example/l/Ab3 {限时}"
    )
    assert template_problem(template) is None


@pytest.mark.parametrize(
    "template", ["{phone}", "{name!r}", "{group_price:>10}", "{", "}", "{0}", "{}", "x" * 1001]
)
def test_refused_templates(template: str) -> None:
    assert template_problem(template) is not None


def test_a_refused_field_is_not_repeated() -> None:
    problem = template_problem("{13812345678}，{王女士}")
    assert problem is not None
    for locale in LOCALES:
        shown = translate(problem, locale)
        assert "13812345678" not in shown
        assert "王女士" not in shown
        assert "{product}" in shown
