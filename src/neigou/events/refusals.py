"""Why a reservation is not made: a 409 with a stable code when the ask cannot be met, a 503 while the
event's gate is rebuilt."""

from __future__ import annotations

from neigou.kit.errors import Conflict, Unavailable
from neigou.kit.i18n import Message


class Recounting(Unavailable):
    """503 while an event's gate is rebuilt from the database (its stream still storing the event's
    reservations, or another process seeding it) for longer than a reservation waits: worth a retry
    in a second, not a refusal."""

    retry_after = 1


def refused(code: str) -> Conflict:
    """The 409 of a reservation that cannot be made, with its stable code."""
    messages = {
        "not_invited": Message("This shopper is not invited to this event."),
        "already_invited": Message("This shopper already holds another invitation to this event."),
        "employee_no_taken": Message(
            "This employee number is already used by another shopper at this event."
        ),
        "already_guest": Message(
            "This shopper is a guest of this event and cannot also buy with an employee number."
        ),
        "already_employee": Message(
            "This shopper buys with an employee number at this event and cannot also be a guest."
        ),
        "not_live": Message("This event is not live at this time."),
        "sold_out": Message("This item is sold out at this event."),
        "limit_reached": Message("This shopper holds as many of this item as one person may."),
        "link_disabled": Message("This share link has been disabled."),
    }
    return Conflict(messages[code], code=code)
