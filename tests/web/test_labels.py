"""Values pages show by name: every value a family is looked up with has a label, in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from neigou.auth.models import Role
from neigou.links.attribution import Basis
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


def test_every_basis_of_an_attribution_and_kind_of_actor_is_named() -> None:
    """An order says why it was attributed, a tier evaluation who ran it, in words."""
    _named("basis", {b.value for b in Basis})
    _named("actor", {r.value for r in Role if r is not Role.MEMBER} | {"cli", "system"})
    assert _shown("basis", "order_link")[1] == "The order's own share link"
    assert _shown("actor", "cli") == ("命令行", "Command line")
