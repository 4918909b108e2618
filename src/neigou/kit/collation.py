"""Text in the order its reader expects: Chinese by pinyin, as a Chinese dictionary or phone book orders
words (syllable by syllable, then by tone), not by Unicode code point, which follows the radical-stroke
order of the CJK tables and means nothing to a reader; other languages by their case-folded text.

Pinyin comes from pypinyin (its phrase dictionary picks a character's reading in context: 银行 is
yin2 hang2); it loads its dictionaries (some 55 MB) the first time a Chinese text is ordered, not at
application start, like the analytics engines. Keys are not kept: a caller that orders the same texts
again (a page's labels) keeps the order it worked out.
"""

from __future__ import annotations

Key = tuple[str, ...]


def sort_key(text: str, locale: str) -> Key:
    """What ``text`` sorts by for a reader of ``locale``: its pinyin syllables with tone numbers
    (``("an1", "pai2", …)``, Latin words and digits as they are, case-folded) for zh-CN, its case-folded
    text otherwise."""
    if locale != "zh-CN":
        return (text.casefold(),)
    from pypinyin import Style, lazy_pinyin  # loaded when first needed (see the module's docstring)

    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    return tuple(part for s in syllables for part in s.casefold().split())
