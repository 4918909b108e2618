"""The product's own field errors: the validation error types its validators raise (``kit.names``,
``kit.employee_numbers``, ``kit.refs`` through ``kit.hidden_marks``, a chat group's platform id in
``groups.schemas``), which are the refusals' codes,
each with its message in the reader's language, which never quotes the value.

One mapping for every place a validation error is shown: a JSON request's 422 (``web.problems``), where
the type is also the refusal's code when it is the only one, and an import file's row error
(``kit.columns.invalid_fields``), whose code it is. A JSON request's 422, a console form and an import
file show pydantic's own error types in the reader's language too (``field_message``: the type stays the
error's code), never pydantic's English text, which may quote the value sent. Pure: no
I/O (and no pydantic: the validators that raise these errors import them from here)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from neigou.kit.dates import range_message
from neigou.kit.hidden_marks import HIDDEN_MARK_MESSAGE, INVALID_CUSTOMER_REF, exponent_form
from neigou.kit.i18n import N_, Message, Text
from neigou.kit.text_markers import too_long_number

Limit = int | float | Decimal
"""A bound of a number, a text's or a list's length, as pydantic's error context gives it."""

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
# An invitation code holding anything but the letters and digits codes are issued in, once its width
# is folded and invisible marks are dropped (``events.schemas.invitation_code``).
INVALID_INVITATION_CODE = "invalid_invitation_code"
INVALID_INVITATION_CODE_MESSAGE = Message(
    "An invitation code is written in the letters and digits it was issued with, and nothing else."
)

OWN_FIELD_ERRORS: Mapping[str, Message] = {
    BLANK_NAME: BLANK_NAME_MESSAGE,
    CONTACT_LABEL: CONTACT_LABEL_MESSAGE,
    BLANK_EMPLOYEE_NO: BLANK_EMPLOYEE_NO_MESSAGE,
    INVALID_EMPLOYEE_NO: INVALID_EMPLOYEE_NO_MESSAGE,
    BLANK_EXTERNAL_ID: BLANK_EXTERNAL_ID_MESSAGE,
    INVALID_EXTERNAL_ID: INVALID_EXTERNAL_ID_MESSAGE,
    INVALID_INVITATION_CODE: INVALID_INVITATION_CODE_MESSAGE,
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
_BOUNDED: Mapping[str, tuple[str, Callable[[Limit], Message]]] = {
    "string_too_long": ("max_length", lambda n: Message("At most {limit} characters.", limit=n)),
    "string_too_short": ("min_length", lambda n: Message("At least {limit} characters.", limit=n)),
    "url_too_long": ("max_length", lambda n: Message("At most {limit} characters.", limit=n)),
    "too_long": ("max_length", lambda n: Message("At most {limit} entries.", limit=n)),
    "too_short": ("min_length", lambda n: Message("At least {limit} entries.", limit=n)),
    "greater_than_equal": ("ge", lambda n: Message("At least {limit}.", limit=n)),
    "greater_than": ("gt", lambda n: Message("More than {limit}.", limit=n)),
    "less_than_equal": ("le", lambda n: Message("At most {limit}.", limit=n)),
    "less_than": ("lt", lambda n: Message("Less than {limit}.", limit=n)),
    "multiple_of": ("multiple_of", lambda n: Message("A multiple of {limit} is expected here.", limit=n)),
    "decimal_max_digits": ("max_digits", lambda n: Message("At most {limit} digits.", limit=n)),
    "decimal_max_places": (
        "decimal_places",
        lambda n: Message("At most {limit} digits after the decimal point.", limit=n),
    ),
    "decimal_whole_digits": (
        "whole_digits",
        lambda n: Message("At most {limit} digits before the decimal point.", limit=n),
    ),
}
# pydantic's error types that name the values a field takes (a ``Literal``'s, an enum's) in their
# context's ``expected``: the schema's own values, written ``'a', 'b' or 'c'``.
_CHOICES = frozenset({"literal_error", "enum"})
_WHOLE = Message("A whole number is expected here.")
_NUMBER = Message("A number is expected here.")
_YES_NO = Message("Yes or no is expected here.")
_TEXT = Message("Text is expected here.")
_WEB_ADDRESS = Message("A web address starting with http:// or https:// is expected here.")
_INSTANT = Message("An ISO 8601 time with its zone, such as 2026-03-24T21:00:00+08:00, is expected here.")
_DAY = Message("A date such as 2026-03-24 is expected here.")
_TIME_OF_DAY = Message("A time of day such as 21:00 is expected here.")
_OBJECT = Message("A JSON object is expected here.")
_LIST = Message("A list is expected here.")
_NOT_A_CHOICE = Message("This is not one of the values accepted here.")
_UNKNOWN_FIELD = Message("This field is not known here; leave it out.")
# pydantic's other error types that a request, a form or a file meets, each with its message.
_PLAIN: Mapping[str, Message] = {
    "missing": REQUIRED_MESSAGE,
    "missing_argument": REQUIRED_MESSAGE,
    "string_pattern_mismatch": Message("This is not written in the form expected here."),
    "int_parsing": _WHOLE,
    "int_type": _WHOLE,
    "int_from_float": _WHOLE,
    "float_parsing": _NUMBER,
    "float_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "decimal_type": _NUMBER,
    "finite_number": _NUMBER,
    "bool_parsing": _YES_NO,
    "bool_type": _YES_NO,
    "string_type": _TEXT,
    "string_unicode": _TEXT,
    "url_parsing": _WEB_ADDRESS,
    "url_scheme": _WEB_ADDRESS,
    "url_type": _WEB_ADDRESS,
    "url_syntax_violation": _WEB_ADDRESS,
    "datetime_parsing": _INSTANT,
    "datetime_type": _INSTANT,
    "datetime_from_date_parsing": _INSTANT,
    "datetime_object_invalid": _INSTANT,
    "timezone_aware": _INSTANT,
    "date_parsing": _DAY,
    "date_type": _DAY,
    "date_from_datetime_parsing": _DAY,
    "date_from_datetime_inexact": _DAY,
    "time_parsing": _TIME_OF_DAY,
    "time_type": _TIME_OF_DAY,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "dict_type": _OBJECT,
    "dataclass_type": _OBJECT,
    "list_type": _LIST,
    "tuple_type": _LIST,
    "set_type": _LIST,
    "frozen_set_type": _LIST,
    "iterable_type": _LIST,
    "literal_error": _NOT_A_CHOICE,
    "enum": _NOT_A_CHOICE,
    "extra_forbidden": _UNKNOWN_FIELD,
    "unexpected_keyword_argument": _UNKNOWN_FIELD,
    "json_invalid": Message("The body is not valid JSON."),
}
NOT_ACCEPTED = Message("This value is not accepted here.")
"""The message of any other error type (a validator's ``value_error`` raised with English text among
them): pydantic's text of one may quote the value sent."""
CLEARED = N_("{fields} cannot be cleared.")
"""A PATCH setting to null a field that must stay set (``fields``: their names, never values)."""


def _limit(value: object) -> Limit | None:
    """A bound from an error's context when it is a number (a bool is none)."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    return None


def _choices(expected: object) -> Text | None:
    """The values a field takes from pydantic's ``expected`` (``'a', 'b' or 'c'``), its ``or`` in the
    reader's language; None without them."""
    if not isinstance(expected, str) or not expected:
        return None
    rest, said_or, last = expected.rpartition(" or ")
    return Message("{first} or {second}", first=rest, second=last) if said_or else expected


def validator_message(error: object) -> Message | None:
    """A validator's own sentence in a ``value_error``'s context: the ``Message`` its ``ValueError`` was
    raised with (``raise ValueError(Message(…))``, never with the value sent); None for English text."""
    if isinstance(error, ValueError) and error.args and isinstance(error.args[0], Message):
        return error.args[0]
    return None


def _schema_message(kind: str, context: Mapping[str, Any]) -> Message:
    """The message of pydantic's error type ``kind``, with the bound or the values of ``context``."""
    if kind == "value_error" and (said := validator_message(context.get("error"))) is not None:
        return said
    if kind == "string_too_short" and context.get("min_length") == 1:
        return REQUIRED_MESSAGE
    if kind in _BOUNDED:
        key, told = _BOUNDED[kind]
        if (limit := _limit(context.get(key))) is not None:
            return told(limit)
    if kind in _CHOICES and (choices := _choices(context.get("expected"))) is not None:
        return Message("One of {expected} is expected here.", expected=choices)
    return _PLAIN.get(kind, NOT_ACCEPTED)


def field_message(kind: str, field: str, ctx: Mapping[str, Any] | None = None) -> Message:
    """The message of a validation error of type ``kind`` at ``field`` in the reader's language: the
    product's own, a time's, or one for pydantic's type (a text's or a list's bound, a number's range,
    the values a field takes, a pattern, a number, a time or yes/no expected, a field not known);
    ``NOT_ACCEPTED`` for any other. Its values are the schema's (a bound, the values a field takes, from
    the error's ``ctx``), never the value sent. A customer reference in exponent form is told to be
    written as text (``kit.refs.NamesSomeone``)."""
    if kind == INVALID_CUSTOMER_REF and exponent_form(ctx):
        return too_long_number(field)
    if kind in OWN_FIELD_ERRORS:
        return OWN_FIELD_ERRORS[kind]
    if kind == NUMERIC_DATETIME:
        return numeric_message(field)
    if kind == DATE_OUT_OF_RANGE:
        return range_message(field)
    return _schema_message(kind, ctx or {})


def field_code(kind: str) -> str:
    """The code of a validation error of type ``kind`` in a file's row or a console form's field: the
    product's own and a time's are the API's codes, an empty required text ``required``, any other
    ``invalid_value`` (its message says what is expected: ``field_message``)."""
    if kind in OWN_FIELD_ERRORS or kind in TIME_CODES:
        return kind
    return "required" if kind in {"string_too_short", "missing"} else "invalid_value"
