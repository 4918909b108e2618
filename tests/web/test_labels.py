"""Values pages show by name: every value a family is looked up with has a label, in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from neigou.auth.models import Role
from neigou.links.attribution import Basis
from neigou.risk.review import DECISIONS
from neigou.web.i18n import page_callables

pytestmark = pytest.mark.no_database
SOURCE = Path(__file__).resolve().parents[2] / "src" / "neigou"


def _shown(family: str, value: str) -> tuple[str, str]:
    return page_callables("zh-CN")["label"](family, value), page_callables("en")["label"](family, value)


def _named(family: str, values: set[str]) -> None:
    for value in sorted(values):
        chinese, english = _shown(family, value)
        assert english, f"{family}: {value} has no label"
        assert re.search(r"[\u4e00-\u9fff]", chinese), f"{family}: {value} is not translated ({chinese!r})"


def test_every_audited_entity_is_named_on_the_audit_log() -> None:
    """The audit log shows an entry's entity by name: "内购会 #1", never "event #1"."""
    recorded = {
        m.group(1)
        for path in SOURCE.rglob("*.py")
        for m in re.finditer(r'\bentity="([a-z_]+)"', path.read_text(encoding="utf-8"))
    }
    assert {"event", "push", "risk_case", "customer", "merchant"} <= recorded
    _named("entity", recorded)


# The actions audit.record is given composed (an f-string), each with every value it takes.
COMPOSED_ACTIONS = {
    # audit.insert_created
    "{entity}.create": {"brand", "category", "merchant", "organization", "program"},
    # offers.offer_edit
    "{entity}.update": {"coupon", "promotion"},
    "risk.{decision}": set(DECISIONS),
    "merchant_review.{'approve' if approve else 'reject'}": {"approve", "reject"},
}


def _audited_actions() -> set[str]:
    """Every action written in the source: the literal ones (both sides of a conditional too) and
    the composed ones spelled out in ``COMPOSED_ACTIONS``; a new composed one fails until it is."""
    literal: set[str] = set()
    composed: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        for m in re.finditer(r"\baction=(.+)", path.read_text(encoding="utf-8")):
            for f, text in re.findall(r'(f?)"([^"]*)"', m.group(1)):
                if f and "." in text and "/" not in text:  # a form's action is a path
                    composed.add(text)
                elif re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", text):
                    literal.add(text)
    assert composed == set(COMPOSED_ACTIONS), "spell out the values of a composed action here"
    return literal | {
        re.sub(r"\{.*\}", value, template)
        for template, values in COMPOSED_ACTIONS.items()
        for value in values
    }


def test_every_audited_action_is_said_in_words_on_the_audit_log() -> None:
    """The audit log says what an entry did: "创建内购会" beside ``event.create``, never the code alone."""
    recorded = _audited_actions()
    assert {
        "event.create",
        "orders.import",
        "user.deactivate",
        "withdrawal.request",
        "risk.clear",
    } <= recorded
    assert {"program.create", "coupon.update", "merchant_review.reject"} <= recorded
    _named("action", recorded)
    assert _shown("action", "event.create") == ("创建内购会", "Live event created")
    assert _shown("action", "nope.done") == ("", "")


def test_every_basis_of_an_attribution_and_kind_of_actor_is_named() -> None:
    """An order says why it was attributed, a tier evaluation who ran it, in words."""
    _named("basis", {b.value for b in Basis})
    _named("actor", {r.value for r in Role if r is not Role.MEMBER} | {"cli", "system"})
    assert _shown("basis", "order_link")[1] == "The order's own share link"
    assert _shown("actor", "cli") == ("命令行", "Command line")
