"""Where a member is paid: a WeChat account, an Alipay account or a bank card, checked and masked.

Pure: no I/O. The account is stored sealed (``kit.sealed``) and shown only in its masked form; the
payout file, which finance pays from, carries it in full.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

from neigou.kit.field_errors import BLANK_NAME, BLANK_NAME_MESSAGE
from neigou.kit.i18n import Message
from neigou.kit.ids import blank
from neigou.kit.phones import mainland_mobile

_WECHAT_ID = re.compile(r"[A-Za-z][-_A-Za-z0-9]{5,19}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_CARD = re.compile(r"[0-9]{12,19}")
MAX_HOLDER = 40


class PayeeKind(enum.StrEnum):
    """How a member is paid."""

    WECHAT = "wechat"
    ALIPAY = "alipay"
    BANK_CARD = "bank_card"


@dataclass(frozen=True)
class Payee:
    """A checked account: its canonical form (sealed at rest) and the form shown on screens."""

    kind: PayeeKind
    account: str
    holder: str
    account_masked: str
    holder_masked: str


def luhn_ok(digits: str) -> bool:
    """The Luhn check every bank card number passes."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _mask_middle(value: str, keep_start: int, keep_end: int) -> str:
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "****" + value[len(value) - keep_end :]


def mask_holder(name: str) -> str:
    """``王小美`` → ``*小美``, ``Li Lei`` → ``*i Lei``: the first character hidden."""
    return "*" + name[1:] if len(name) > 1 else "*"


def _account(kind: PayeeKind, text: str) -> tuple[str, str] | None:
    """(canonical, masked) or None when ``text`` is no account of this kind."""
    phone = mainland_mobile(text)
    if kind is not PayeeKind.BANK_CARD and phone is not None:
        return phone.domestic, _mask_middle(phone.domestic, 3, 4)
    compact = "".join(c for c in unicodedata.normalize("NFKC", text) if not c.isspace() and c != "-")
    if kind is PayeeKind.BANK_CARD:
        if _CARD.fullmatch(compact) and luhn_ok(compact):
            return compact, "**** " + compact[-4:]
        return None
    if kind is PayeeKind.WECHAT and _WECHAT_ID.fullmatch(compact):
        return compact, _mask_middle(compact, 2, 2)
    if kind is PayeeKind.ALIPAY and _EMAIL.fullmatch(compact):
        local, domain = compact.split("@", 1)
        return compact, _mask_middle(local, 1, 0) + "@" + domain
    return None


def check_payee(kind: PayeeKind, account: str, holder: str) -> Payee | tuple[str, Message]:
    """The checked payee, or (code, message) saying what is wrong. A holder's name that shows nothing (only
    zero-width spaces, Hangul fillers, blank Braille or variation selectors: ``kit.ids.blank``) is
    ``blank_name``, as every other name: finance would pay an account to nobody's name."""
    name = " ".join(unicodedata.normalize("NFKC", holder).split())
    if not name or len(name) > MAX_HOLDER:
        return "invalid_holder", Message(
            "The account holder's name must have 1-{n} characters.", n=MAX_HOLDER
        )
    if blank(name):
        return BLANK_NAME, BLANK_NAME_MESSAGE
    found = _account(kind, account)
    if found is None:
        return "invalid_account", {
            PayeeKind.WECHAT: Message("Not a WeChat ID or mainland mobile number."),
            PayeeKind.ALIPAY: Message(
                "Not an Alipay account (a mainland mobile number or an email address)."
            ),
            PayeeKind.BANK_CARD: Message("Not a bank card number (12-19 digits that pass the card check)."),
        }[kind]
    canonical, masked = found
    return Payee(kind, canonical, name, masked, mask_holder(name))
