"""Identifiers and secrets: random, unguessable, URL-safe."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from functools import lru_cache

from neigou.kit.invisible import BLANK_GLYPHS, HASHED_EDGES, IGNORABLE, trim_edges
from neigou.kit.phones import customer_ref
from neigou.kit.text_markers import spreadsheet_text


def new_token(prefix: str) -> str:
    """A bearer secret such as ``ngt_…`` (256 bits of randomness)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digest(value: str) -> str:
    """SHA-256 of a high-entropy secret (tokens), used as its stored form."""
    return hashlib.sha256(value.encode()).hexdigest()


def canonical(value: str) -> str:
    """One form per identifier: NFKC (full-width and other compatibility forms folded), trimmed of
    white space and the invisible marks of ``_HASHED_EDGES`` at either end (a byte-order mark a
    spreadsheet left, a zero-width space or direction mark a copy from a chat carried).

    Without it ``１３８…`` (full-width digits) and ``138…`` are two customers to every per-customer limit.
    """
    if value.isascii():
        # ASCII is its own NFKC form and has no invisible mark, and ``str.strip`` drops exactly the
        # characters ``isspace`` names: the same answer without a pass per character (most ids).
        return value.strip()
    return trim_edges(unicodedata.normalize("NFKC", value))


def caseless(value: str) -> str:
    """``canonical`` without case, for a name people type to find one account (a console username):
    ``Admin``, ``ADMIN`` and full-width ``ａｄｍｉｎ`` are one key. NFKC again after ``casefold``, which
    may leave a compatibility form (the Unicode ``NFKC_Casefold`` idea). Invisible marks inside the name
    are not dropped here: a caller refuses them (``has_invisible``), so they never reach a key."""
    return unicodedata.normalize("NFKC", canonical(value).casefold())


def has_invisible(value: str) -> bool:
    """True when ``value`` holds a mark that shows nothing (``kit.invisible.IGNORABLE``) anywhere."""
    return not value.isascii() and any(c in IGNORABLE for c in value)


# The invisible marks an identifier is trimmed of before it is hashed (``kit.invisible.HASHED_EDGES``, a
# fixed list: stored hashes cannot be recomputed), under the name the documents give it.
_HASHED_EDGES = HASHED_EDGES


# The most digits a typed id may have: every BigId (a signed 64-bit integer) fits, and no 18-digit number
# overflows one, so a longer text is no id without a trip to the database.
ID_DIGITS = 18


def whole_number(text: str, *, digits: int = ID_DIGITS, signed: bool = False) -> int | None:
    """The whole number ``text`` writes in at most ``digits`` ASCII digits (after a minus sign when
    ``signed``), white space around it allowed; None for anything else. The one reading of a number typed into a form (an id, a count): the API reads
    its ids the same way (pydantic takes ASCII digits only), so ``１２`` is no id on a page either. Never
    ``str.isdigit`` then ``int``: ``isdigit`` holds for ``²`` and ``①``, which ``int`` refuses
    (``tests/kit/test_whole_numbers.py`` keeps it out of the code)."""
    text = text.strip()
    unsigned = text.removeprefix("-") if signed else text
    if not 0 < len(unsigned) <= digits or not unsigned.isascii() or not unsigned.isdigit():
        return None
    return int(text)


def blank(value: str) -> bool:
    """Whether ``value`` shows nothing: once NFKC, only white space and marks that show nothing (every one
    of ``kit.invisible.IGNORABLE``: the format characters ``canonical`` does not all trim, and the Hangul
    fillers of a "blank" WeChat name, variation selectors and the like) and glyphs that draw nothing
    (``kit.invisible.BLANK_GLYPHS``: the blank Braille pattern). A name or reference like it names nobody."""
    if value.isascii():
        return not value.strip()  # ASCII holds no invisible mark: the same answer, one C call
    return all(
        c.isspace() or c in IGNORABLE or c in BLANK_GLYPHS for c in unicodedata.normalize("NFKC", value)
    )


def names_nobody(ref: str) -> bool:
    """Whether a customer reference shows nothing (``blank``) once an Excel text marker round it is
    dropped (``kit.text_markers``): ``=""`` and a lone ``'`` name nobody, as white space does."""
    return blank(spreadsheet_text(ref))


def empty_once_hashed(value: str) -> bool:
    """Whether ``value`` is hashed as the empty reference (``customer_ref_hash``): nothing is left once
    trimmed of white space and the marks of ``_HASHED_EDGES``. Every such value is one made-up customer;
    one of Hangul fillers or variation selectors is blank (``blank``) but hashes as itself."""
    return not canonical(customer_ref(value))


def keyed_hash(secret_key: str, value: str) -> str:
    """HMAC-SHA256 of personal data (phone, openid) so it can be matched but not read back."""
    mac = _keyed(secret_key).copy()  # the key's HMAC state, prepared once: half the cost per value
    mac.update(canonical(value).encode())
    return mac.hexdigest()


@lru_cache(maxsize=8)
def _keyed(secret_key: str) -> hmac.HMAC:
    return hmac.new(secret_key.encode(), digestmod=hashlib.sha256)


# The shortest value shown as its first three and last four characters: a mainland mobile's length
# (``138****5678``, the form every page and document shows), and longer references (openids, E.164).
_HEAD_AND_TAIL = 11
_SHOWN_TAIL = 4


def mask(value: str) -> str:
    """A display form of personal data: ``13812345678`` → ``138****5678``.

    A shorter value shows at most a third of its characters, its last ones, behind four stars that
    hide its length: ``A1234`` → ``****4``, an eight-digit Hong Kong mobile ``61234567`` → ``****67``,
    a ten-digit id ``2112345678`` → ``****678``; four characters or fewer show none (``***``).
    """
    value = canonical(value)
    if len(value) <= _SHOWN_TAIL:
        return "*" * len(value)
    if len(value) < _HEAD_AND_TAIL:
        return "****" + value[-(len(value) // 3) :]
    return value[:3] + "****" + value[-_SHOWN_TAIL:]


def customer_ref_hash(secret_key: str, ref: str) -> str:
    """The stored form of a shopper's reference: a mobile number hashes the same however it is written,
    an Excel text marker round it (``="…"``, a leading ``'``) dropped (``kit.phones.customer_ref``)."""
    return keyed_hash(secret_key, customer_ref(ref))


def customer_ref_forms(secret_key: str, ref: str) -> tuple[str, str]:
    """``customer_ref_hash`` and ``customer_ref_mask`` of one reference, read once (a claim stores both)."""
    key = customer_ref(ref)
    return keyed_hash(secret_key, key), mask(key)


# An opt-out replaces a shopper's stored hash with a tombstone that names nobody: it cannot collide with
# a keyed hash (those are hex), and every store that erases writes it the same way.
TOMBSTONE_PREFIX = "erased:"
# What an opt-out leaves where a masked reference or a pushed message's text stood.
ERASED = "已注销"


def new_tombstone() -> str:
    """A customer hash that names nobody, unique to this erasure."""
    return TOMBSTONE_PREFIX + secrets.token_hex(28)


def is_tombstone(stored_ref_hash: str) -> bool:
    """Whether a stored customer hash is an opt-out's tombstone."""
    return stored_ref_hash.startswith(TOMBSTONE_PREFIX)


def customer_ref_mask(ref: str) -> str:
    """The shown form of a shopper's reference (a mobile number masked in its canonical form)."""
    return mask(customer_ref(ref))
