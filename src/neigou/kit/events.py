"""Domain events: a lower domain announces a change, a higher one listens, in the same transaction.

Layers let a domain import only the ones below it. When a change in a lower domain matters to a
higher one (an order's commission to the shops' integrations), the lower domain publishes an event
and the higher one registers a listener; nothing points upwards. A listener runs inside the
publisher's transaction, so what it writes commits or rolls back with the change, and work it defers
on the session runs only after the commit. Listeners register at import, as jobs do: the web
application imports every domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Event:
    """Something that happened at ``at``: ``type`` names it, ``data`` is JSON-ready."""

    type: str
    at: datetime
    data: dict[str, Any]


Listener = Callable[[Session, Event], None]
LISTENERS: dict[str, list[Listener]] = {}


def listen(*event_types: str) -> Callable[[Listener], Listener]:
    """Register a listener for events of these types."""

    def register(listener: Listener) -> Listener:
        for event_type in event_types:
            registered = LISTENERS.setdefault(event_type, [])
            if listener not in registered:
                registered.append(listener)
        return listener

    return register


def publish(session: Session, event: Event) -> None:
    """Call every listener of the event's type, in registration order, in this transaction."""
    for listener in LISTENERS.get(event.type, []):
        listener(session, event)
