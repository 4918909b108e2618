"""A customer reference may not hide an invisible mark in the form that is hashed. Pure: no I/O.

``kit.ids.canonical`` trims only a fixed list of marks at a reference's edges (``kit.ids._HASHED_EDGES``:
stored hashes must keep matching), so ``oU…\\u200b…o`` (a zero-width space inside), ``oU…o\\u00ad`` (a
soft hyphen), ``oU…o\\u180e`` (the Mongolian vowel separator) or ``oU…o\\ufe0f`` (a variation selector)
would hash as another customer than ``oU…o``, past every per-customer limit, opt-out and idempotency
key. Such a reference is refused (``invalid_customer_ref``, its text never quoted) at every input; every
reference accepted before and still accepted hashes as it did. A mobile number holding marks is still
read as its digits (``kit.phones`` drops them) and accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from neigou.kit.i18n import Message, Sentences, Text
from neigou.kit.ids import canonical
from neigou.kit.invisible import IGNORABLE
from neigou.kit.phones import customer_ref
from neigou.kit.text_markers import too_long_number

# The validation error type, and the refusal's code (an API's, a webhook's, a file row's).
INVALID_CUSTOMER_REF = "invalid_customer_ref"
HIDDEN_MARK_MESSAGE = Message(
    "A customer reference may not hold invisible characters (zero-width spaces, soft hyphens, variation "
    "selectors and the like): they would make it another customer. Send it without them."
)
# The ``form`` in the context of an ``INVALID_CUSTOMER_REF`` validation error raised for a reference in
# exponent form (``kit.refs.NamesSomeone``): its message is "write ids as text", not the hidden mark's.
EXPONENT_FORM = "exponent"


def hides_a_mark(ref: str) -> bool:
    """Whether the form ``ref`` is hashed in (``kit.ids.customer_ref_hash``) still holds an invisible
    mark (``kit.invisible.IGNORABLE``)."""
    if ref.isascii():
        return False  # ASCII holds no invisible mark, nor does its hashed form: most references
    return not IGNORABLE.isdisjoint(canonical(customer_ref(ref)))


def hidden_mark_in(fields: str) -> Sentences:
    """The refusal of the customer references in ``fields`` (their names, never their values): the
    fields, then the one message of the rule."""
    return Sentences([Message("Invalid fields: {fields}.", fields=fields), HIDDEN_MARK_MESSAGE])


def exponent_form(ctx: Mapping[str, Any] | None) -> bool:
    """Whether an ``INVALID_CUSTOMER_REF`` validation error's context says the reference was in exponent
    form (its ``form`` is :data:`EXPONENT_FORM`), not hiding a mark."""
    return ctx is not None and ctx.get("form") == EXPONENT_FORM


def customer_ref_refusal(fields: str, contexts: Iterable[Mapping[str, Any] | None]) -> Text:
    """The refusal of the customer references in ``fields`` (their names, never their values), from their
    validation errors' contexts: "write ids as text" when each was in exponent form, else the rule of
    invisible marks (:func:`hidden_mark_in`)."""
    if all(exponent_form(ctx) for ctx in contexts):
        return too_long_number(fields)
    return hidden_mark_in(fields)
