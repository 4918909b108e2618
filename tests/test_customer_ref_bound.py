"""Every ``customer_ref`` the API takes is short enough for ``kit.phones`` to read whole: a longer one
would never be parsed as a phone number, and so would hash as a customer of its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI

from neigou.kit.phones import MAX_INPUT


def _bounds(schema: Any) -> Iterator[int | None]:
    """The ``maxLength`` of every ``customer_ref`` property under ``schema`` (None where it has none)."""
    if isinstance(schema, dict):
        for name, inner in schema.get("properties", {}).items():
            if name == "customer_ref":
                options = [inner, *inner.get("anyOf", [])]
                yield min((o["maxLength"] for o in options if "maxLength" in o), default=None)
        for value in schema.values():
            yield from _bounds(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _bounds(value)


def test_every_customer_ref_is_read_whole_as_a_phone(app: FastAPI) -> None:
    spec = app.openapi()
    bounds = list(_bounds(spec))
    assert len(bounds) >= 5, bounds  # claims, orders, events, the customer book, opt-outs, members…
    assert all(bound is not None and bound <= MAX_INPUT for bound in bounds), bounds
