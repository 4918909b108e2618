"""The product's own field errors: the validation error types its validators raise (``kit.names``,
``kit.employee_numbers``, ``kit.refs`` through ``kit.hidden_marks``, a chat group's platform id in
``groups.schemas``), which are the refusals' codes,
each with its message in the reader's language, which never quotes the value.

One mapping for every place a validation error is shown: a JSON request's 422 (``web.problems``), where
the type is also the refusal's code when it is the only one, and an import file's row error
(``kit.columns.invalid_fields``), whose code it is. A console form and an import file show pydantic's own
error types in the reader's language too (``field_message``), never pydantic's English text. Pure: no
I/O (and no pydantic: the validators that raise these errors import them from here)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from neigou.kit.dates import range_message
from neigou.kit.hidden_marks import HIDDEN_MARK_MESSAGE, INVALID_CUSTOMER_REF
from neigou.kit.i18n import Message

# A name (or title) with nothing visible in it, once white space and invisible marks are dropped.
BLANK_NAME = "blank_name"
BLANK_NAME_MESSAGE = Message("A name is required: white space and invisible characters alone are none.")
# A label about a customer (a tag, a job) that reads as a phone number.
CONTACT_LABEL = "phone_label"
CONTACT_LABEL_MESSAGE = Message("A tag or label about a customer may not be a phone number.")
# An employee number with nothing left once normalised.
BLANK_EMPLOYEE_NO = "blank_employee_no"
BLANK_EMPLOYEE_NO_MESSAGE = Message(
    "An employee number is required: white space and invisible characters alone are none."
)
# An employee number holding a character the rule refuses.
INVALID_EMPLOYEE_NO = "invalid_employee_no"
INVALID_EMPLOYEE_NO_MESSAGE = Message(
    "An employee number is written in plain letters and digits: circled, styled or superscript "
    "characters, roman numeral signs, ligatures and letters without a one-to-one capital (such as ß "
    "or dotless ı) are not accepted."
)

# A platform's id for something of ours (a chat group's ``external_id``) with nothing visible in it.
BLANK_EXTERNAL_ID = "blank_external_id"
BLANK_EXTERNAL_ID_MESSAGE = Message(
    "An external id is required: white space and invisible characters alone are none."
)
# A platform's id holding an invisible mark inside it (it would be another id than the same text without it).
INVALID_EXTERNAL_ID = "invalid_external_id"
INVALID_EXTERNAL_ID_MESSAGE = Message(
    "An external id may not hold invisible characters (zero-width spaces, soft hyphens, variation "
    "selectors and the like): they would make it another id. Send it without them."
)

OWN_FIELD_ERRORS: Mapping[str, Message] = {
    BLANK_NAME: BLANK_NAME_MESSAGE,
    CONTACT_LABEL: CONTACT_LABEL_MESSAGE,
    BLANK_EMPLOYEE_NO: BLANK_EMPLOYEE_NO_MESSAGE,
    INVALID_EMPLOYEE_NO: INVALID_EMPLOYEE_NO_MESSAGE,
    BLANK_EXTERNAL_ID: BLANK_EXTERNAL_ID_MESSAGE,
    INVALID_EXTERNAL_ID: INVALID_EXTERNAL_ID_MESSAGE,
    # A customer reference holding an invisible mark the hashing would keep (another customer).
    INVALID_CUSTOMER_REF: HIDDEN_MARK_MESSAGE,
}
"""The message of each of the product's own validation error types."""

# A number given for a time (``kit.instants``), and a time outside the product's days: the API's codes.
NUMERIC_DATETIME = "numeric_datetime"
DATE_OUT_OF_RANGE = "date_out_of_range"
TIME_CODES = frozenset({NUMERIC_DATETIME, DATE_OUT_OF_RANGE})


def numeric_message(field: str) -> Message:
    """Why a number given for a time is refused (code ``numeric_datetime``)."""
    return Message(
        "{field} must be an ISO 8601 time with its zone, such as 2026-03-24T21:00:00+08:00, not a number.",
        field=field,
    )


REQUIRED_MESSAGE = Message("This field is required.")
# pydantic's error types that tell a bound, each with the bound's key in the error's context (the
# schema's limit, never the value sent) and its message in the reader's language.
_BOUNDED: Mapping[str, tuple[str, Callable[[float], Message]]] = {
    "string_too_long": ("max_length", lambda n: Message("At most {limit} characters.", limit=n)),
    "too_long": ("max_length", lambda n: Message("At most {limit} entries.", limit=n)),
    "too_short": ("min_length", lambda n: Message("At least {limit} entries.", limit=n)),
    "greater_than_equal": ("ge", lambda n: Message("At least {limit}.", limit=n)),
    "greater_than": ("gt", lambda n: Message("More than {limit}.", limit=n)),
    "less_than_equal": ("le", lambda n: Message("At most {limit}.", limit=n)),
    "less_than": ("lt", lambda n: Message("Less than {limit}.", limit=n)),
}
_WHOLE = Message("A whole number is expected here.")
_YES_NO = Message("Yes or no is expected here.")
_WEB_ADDRESS = Message("A web address starting with http:// or https:// is expected here.")
# pydantic's other error types that a form or a file meets, each with its message.
_PLAIN: Mapping[str, Message] = {
    "missing": REQUIRED_MESSAGE,
    "string_pattern_mismatch": Message("This is not written in the form expected here."),
    "int_parsing": _WHOLE,
    "int_type": _WHOLE,
    "int_from_float": _WHOLE,
    "bool_parsing": _YES_NO,
    "bool_type": _YES_NO,
    "string_type": Message("Text is expected here."),
    "url_parsing": _WEB_ADDRESS,
    "url_scheme": _WEB_ADDRESS,
}
CHECK_FIELD = Message("Check this field.")


def field_message(kind: str, field: str, ctx: Mapping[str, Any] | None = None) -> Message:
    """The message of a validation error of type ``kind`` at ``field`` in the reader's language: the
    product's own, a time's, or one for pydantic's type (a text's or a list's bound, a number's range, a
    pattern, a number or yes/no expected); ``Check this field.`` for any other. Never the value sent."""
    if kind in OWN_FIELD_ERRORS:
        return OWN_FIELD_ERRORS[kind]
    if kind == NUMERIC_DATETIME:
        return numeric_message(field)
    if kind == DATE_OUT_OF_RANGE:
        return range_message(field)
    if kind == "string_too_short" and (ctx or {}).get("min_length") == 1:
        return REQUIRED_MESSAGE
    if kind in _BOUNDED:
        key, told = _BOUNDED[kind]
        limit = (ctx or {}).get(key)
        if isinstance(limit, int | float) and not isinstance(limit, bool):
            return told(limit)
    return _PLAIN.get(kind, CHECK_FIELD)


def field_code(kind: str) -> str:
    """The code of a validation error of type ``kind`` in a file's row or a console form's field: the
    product's own and a time's are the API's codes, an empty required text ``required``, any other
    ``invalid_value`` (its message says what is expected: ``field_message``)."""
    if kind in OWN_FIELD_ERRORS or kind in TIME_CODES:
        return kind
    return "required" if kind in {"string_too_short", "missing"} else "invalid_value"
