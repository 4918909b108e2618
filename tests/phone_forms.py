"""One mainland mobile as shoppers paste it when it is spread out or dotted: digits spaced past forty
characters, a number padded with spaces, or groups parted by marks that Unicode does not file as dashes.
Each must be the same customer as the eleven plain digits wherever a customer is counted."""

from __future__ import annotations


def spread_forms(number: str) -> list[str]:
    """``number`` (eleven digits) written apart in the ways a per-customer limit must see through."""
    groups = (number[:3], number[3:7], number[7:])
    spaced = "   ".join(number)
    assert len(spaced) > 40  # past the bound the text once had before its separators were dropped
    return [
        spaced,
        "+86 " + " ".join(groups) + " " * 24,
        "\u2212".join(groups),  # minus sign
        "\u00b7".join(groups),  # middle dot
        "\uff0e".join(groups),  # full-width full stop
        "\u30fb".join(groups),  # katakana middle dot
        "\u3002".join(groups),  # ideographic full stop
        "\u30fc".join(groups),  # prolonged sound mark: what a kana keyboard types for "-"
    ]


def prefixed_forms(number: str) -> list[str]:
    """``number`` (a mainland mobile's eleven digits) behind the prefixes a shop, a contact card or a call
    link puts before it: a ``tel:`` or ``sip:`` scheme, an underscore after the country code, ``086`` or
    ``+086`` for ``0086``."""
    groups = (number[:3], number[3:7], number[7:])
    return [
        "tel:+86 " + " ".join(groups),
        "tel:" + number,
        "TEL:+86-" + "-".join(groups),
        "tel:0086" + number,
        "+86_" + number,
        "0086_" + number,
        "086 " + number,
        "086-" + "-".join(groups),
        "086" + number,
        "0086-" + "-".join(groups),
        "sip:+86" + number,  # a SIP URI's scheme, as tel:'s
        "SIP:+86 " + " ".join(groups),
        "sip:" + number,
        "+086 " + number,  # 086 behind a plus: no country code begins with 0
        "+086-" + "-".join(groups),
    ]


def grouped_forms(number: str) -> list[str]:
    """``number`` in four-four-three groups, as some write a mobile (``1381 2345 678``)."""
    groups = (number[:4], number[4:8], number[8:])
    return [
        " ".join(groups),
        "-".join(groups),
        "+86 " + " ".join(groups),
        "0086-" + "-".join(groups),
    ]


def written_forms(number: str) -> list[str]:
    """Every listed way of writing ``number`` apart from its eleven plain digits."""
    return [*spread_forms(number), *prefixed_forms(number), *grouped_forms(number)]
