"""The seeded marker of an event's gate state, named for the employee-number form its whitelist holds
and for the state's layout; the key of its employees.

The state's employees hash holds the stored employee numbers, and a reservation asks it in the one
form ``kit.employee_numbers`` gives (``Shopper``). A state seeded while numbers were kept in another
form (as typed, before migration 0036; under migration 0036's rule) would refuse an employee whose
number was renamed ``not_invited``. So the marker's name carries the rule's version
(``employee_numbers.FORM``): a state seeded under another version has no marker under this name,
counts as unseeded, as a state marked stale does, and the next reservation seeds it again from the
database, waiting for the stream as every seeding does (``gate.ReservationGate.seed``). A change of
the rule, or a migration rewriting the stored numbers (0038), bumps ``FORM``; nothing else has to be
done to the live events' states. The old marker is left to expire with the event's other keys.

The marker also carries ``LAYOUT``, the version of what the state holds, for the same reason: a state
written by an older version lacks what the scripts now ask (layout 2: the employees are a hash of
number → the shopper it is bound to, under a key of their own, where layout 1 kept a set of numbers
bound to nobody; layout 3: the guests hash, shopper → the invitation code bound to them; layout 4:
the staff hash, shopper → the employee number bound to them, so that a shopper is an employee or a
guest of an event, never both), so it counts as unseeded and is seeded again from the database.
"""

from __future__ import annotations

from neigou.kit.employee_numbers import FORM

LAYOUT = 4


def seeded_key(base: str) -> str:
    """The seeded marker of the event state under ``base`` (``<base>:seeded:<form>`` and, from layout
    2 on, ``.<layout>``)."""
    return f"{base}:seeded:{FORM}.{LAYOUT}"


def guests_key(base: str) -> str:
    """The guests hash of the event state under ``base``: shopper → the invitation code bound to them."""
    return f"{base}:guests"


def staff_key(base: str) -> str:
    """The staff hash of the event state under ``base``: shopper → the employee number bound to them."""
    return f"{base}:staff"


def employees_key(base: str) -> str:
    """The employees hash of the event state under ``base``: number → the shopper bound to it, or ``""``."""
    return f"{base}:employees"
