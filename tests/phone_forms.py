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
    ]
