"""Translations: the zh_CN catalog covers every extracted msgid; problems and pages follow the language asked."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from neigou.kit.i18n import LOCALE_DIR, Message, Sentences, accepted_locale, translate, translations
from tests.factories import create_member, create_program

ROOT = Path(__file__).resolve().parents[2]
ZH_CN_PO = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"\{(\w+)[^}]*\}|%\((\w+)\)s")


def _extracted() -> set[tuple[str | None, str]]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]  # Babel ships no hints here
    found: set[tuple[str | None, str]] = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.add((context, msgid))
    return found


def test_the_zh_cn_catalog_translates_every_extracted_msgid() -> None:
    extracted = _extracted()
    with ZH_CN_PO.open("rb") as po:
        catalog = read_po(po, locale="zh_CN")
    # a plural entry (``ngettext``) counts for its singular and plural ids, translated when every form is
    translated = {
        (m.context, msgid): m
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else all(m.string or ())) and not m.fuzzy
        for msgid in ((m.id,) if isinstance(m.id, str) else m.id)
    }
    assert len(extracted) > 700  # the extraction itself works
    assert sorted(extracted - set(translated), key=str) == []


def _names(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def test_every_compiled_zh_cn_translation_keeps_the_values_its_msgid_names() -> None:
    """What the reader is told names what the English names (``Unknown sku {missing}.`` names the skus in
    Chinese too): every translation in the compiled catalog has the same set of placeholders as its msgid,
    none left out and none added."""
    translations("zh-CN")  # the catalog the application loads, compiled
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.mo").open("rb") as mo:
        catalog = read_mo(mo)
    checked = differ = 0
    mismatched: list[tuple[str, str]] = []
    for message in catalog:
        if not message.id:
            continue
        # A plural entry's forms are a sequence; its last msgid (the plural) names every value.
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string or ())
        msgid = str(ids[-1])
        for string in map(str, strings):
            checked += 1
            if _names(string) != _names(msgid):
                mismatched.append((msgid, string))
        differ += len(_names(msgid)) > 0
    assert checked > 700  # the catalog is read …
    assert differ > 100  # … with its placeholders
    assert mismatched == []


def test_a_message_renders_in_either_language() -> None:
    missing = Message("Column {column!r} appears twice.", column="sku")
    assert (translate(missing, "en"), translate(missing, "zh-CN")) == (
        "Column 'sku' appears twice.",
        "列名 'sku' 重复。",
    )
    both = Sentences([Message("Tier codes must be unique."), Message("Tier ranks must be unique.")])
    assert translate(both, "en") == "Tier codes must be unique. Tier ranks must be unique."
    assert translate(both, "zh-CN") == "等级代码不能重复。 等级序号不能重复。"
    assert str(missing) == "Column 'sku' appears twice."


def test_accept_language_picks_the_first_language_we_speak() -> None:
    assert accepted_locale("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert accepted_locale("fr-FR, zh-TW;q=0.7, en;q=0.5") == "zh-CN"
    assert accepted_locale("zh;q=0.4, en;q=0.6") == "en"
    assert accepted_locale("en;q=0, zh") == "zh-CN"
    assert accepted_locale("fr, de;q=x") is None
    assert accepted_locale(None) is None


def test_a_problem_speaks_the_language_asked_and_keeps_its_code(
    client: TestClient, operator: dict[str, str]
) -> None:
    path = "/api/v1/programs/987654"
    english = client.get(path, headers={**operator, "Accept-Language": "en-US,en;q=0.9"}).json()
    chinese = client.get(path, headers=operator).json()
    client.cookies.set("neigou_lang", "zh-CN")
    by_cookie = client.get(path, headers={**operator, "Accept-Language": "en"}).json()
    client.cookies.set("neigou_lang", "en")
    english_cookie = client.get(path, headers=operator).json()
    assert (english["title"], english["detail"]) == ("Not found", "This program does not exist.")
    assert (chinese["title"], chinese["detail"]) == ("未找到", "该计划不存在。")
    assert by_cookie == chinese
    assert english_cookie == english
    assert {english["code"], chinese["code"]} == {"program_not_found"}
    assert english["type"] == chinese["type"] == "https://neigou.dev/problems/program_not_found"


def test_problem_extras_and_validation_errors_are_translated(
    client: TestClient, operator: dict[str, str]
) -> None:
    program = create_program(client, operator)
    ladder = [
        {"code": "a", "name": "A", "rank": 1, "share_bp": 100, "override_bp": 0},
        {"code": "a", "name": "B", "rank": 1, "share_bp": 100, "override_bp": 0},
    ]
    path = f"/api/v1/programs/{program['id']}/tiers"
    english = client.put(path, json=ladder, headers={**operator, "Accept-Language": "en"}).json()
    chinese = client.put(path, json=ladder, headers={**operator, "Accept-Language": "zh-CN"}).json()
    assert english["detail"] == "Tier codes must be unique. Tier ranks must be unique."
    assert chinese["detail"] == "等级代码不能重复。 等级序号不能重复。"
    assert [p["message"] for p in english["problems"]] == [
        "Tier codes must be unique.",
        "Tier ranks must be unique.",
    ]
    assert [p["message"] for p in chinese["problems"]] == ["等级代码不能重复。", "等级序号不能重复。"]
    assert [p["code"] for p in english["problems"]] == [p["code"] for p in chinese["problems"]]

    member = create_member(client, operator, program["id"])
    bad = {"inviter_id": "x"}
    english = client.put(
        f"/api/v1/members/{member['id']}/inviter", json=bad, headers={**operator, "Accept-Language": "en"}
    )
    chinese = client.put(f"/api/v1/members/{member['id']}/inviter", json=bad, headers=operator)
    assert (english.json()["title"], english.json()["detail"]) == (
        "Invalid request",
        "Some fields are missing or malformed: inviter_id.",
    )
    assert (chinese.json()["title"], chinese.json()["detail"]) == (
        "请求无效",
        "请求字段缺失或格式错误：inviter_id。",
    )
    assert english.json()["code"] == chinese.json()["code"] == "validation_error"
