"""Every ``customer_ref`` the API takes is short enough for ``kit.phones`` to read whole: a longer one
would never be parsed as a phone number, and so would hash as a customer of its own. And every one
names someone: only white space and invisible marks are refused, and so is one hiding an invisible mark
in the form it is hashed in (``kit.hidden_marks``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from neigou.kit.phones import MAX_INPUT
from neigou.web.landing import attributed_ref


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


BLANK_ONCE_CANONICAL = [" ", "\u3000", "\u200b", "\ufeff", "\u200e\u200f", "\u2060", "\u00a0 \u200b"]


def _models_with_a_customer_ref(app: FastAPI) -> Iterator[type[BaseModel]]:
    """The body model of every API route (and the models inside it) that has a ``customer_ref``."""
    seen: set[type[BaseModel]] = set()

    def walk(annotation: Any) -> Iterator[type[BaseModel]]:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation not in seen:
            seen.add(annotation)
            if "customer_ref" in annotation.model_fields:
                yield annotation
            for field in annotation.model_fields.values():
                yield from walk(field.annotation)
        for inner in get_args(annotation):
            yield from walk(inner)

    for top in app.routes:
        contexts = getattr(top, "effective_route_contexts", None)
        for context in contexts() if callable(contexts) else ():
            if isinstance(context.original_route, APIRoute) and context.dependant is not None:
                for param in context.dependant.body_params:
                    yield from walk(param.field_info.annotation)


def test_a_customer_ref_of_only_blanks_and_invisible_marks_is_refused(app: FastAPI) -> None:
    """Such a reference would hash as the empty one: a made-up customer every blank input shares (a
    shop's missing phone sent as a space claims, orders and opts out as one person)."""
    models = list(_models_with_a_customer_ref(app))
    assert len(models) >= 5, models  # claims, orders, events, the customer book, opt-outs, members…

    def refused(model: type[BaseModel], ref: str) -> bool:
        try:
            model.model_validate({"customer_ref": ref})
        except ValidationError as exc:
            return any(tuple(e["loc"]) == ("customer_ref",) for e in exc.errors())
        return False

    accepted = [(m.__name__, ref) for m in models for ref in BLANK_ONCE_CANONICAL if not refused(m, ref)]
    assert accepted == []
    assert [m.__name__ for m in models if refused(m, "\u200b13812345678\u3000")] == []


HIDING_A_MARK = ["oUpF8uMuAJO\u200b_M2pxb1Q9zNjWeS6o", "openid-1\u00ad", "openid-1\u180e", "openid-1\ufe0f"]


# An opt-out only finds what is stored: it hashes such a reference as given, so a shopper recorded under
# one before they were refused can still be erased (``kit.refs.NamesSomeoneStored``).
ERASING = {"OptOutIn"}


def test_a_customer_ref_hiding_an_invisible_mark_is_refused_by_every_model(app: FastAPI) -> None:
    """Claims, orders, events, the customer book, members, quotes: each refuses it with the one type
    (``invalid_customer_ref``) the problem renderer answers by; a mark always trimmed at the edges, or
    between a mobile number's digits, is no refusal (those hash as they always did). The opt-out takes it."""
    every = list(_models_with_a_customer_ref(app))
    assert {m.__name__ for m in every} >= ERASING
    models = [m for m in every if m.__name__ not in ERASING]
    for model in every:
        if model.__name__ in ERASING:
            for ref in HIDING_A_MARK:
                assert (
                    model.model_validate({"customer_ref": ref, "request_id": "r-1"}).model_dump()[
                        "customer_ref"
                    ]
                    == ref
                )

    def kinds(model: type[BaseModel], ref: str) -> set[str]:
        try:
            model.model_validate({"customer_ref": ref})
        except ValidationError as exc:
            return {e["type"] for e in exc.errors() if tuple(e["loc"]) == ("customer_ref",)}
        return set()

    assert {m.__name__: {r: kinds(m, r) for r in HIDING_A_MARK} for m in models} == {
        m.__name__: {key: {"invalid_customer_ref"} for key in HIDING_A_MARK} for m in models
    }
    assert [
        m.__name__ for m in models if kinds(m, "\ufeffopenid-1\u200b") or kinds(m, "138\u00ad1234 5678")
    ] == []


@pytest.mark.parametrize("ref", HIDING_A_MARK)
def test_a_share_links_click_is_not_attributed_to_a_reference_hiding_a_mark(ref: str) -> None:
    assert attributed_ref(ref) is None
    assert attributed_ref(" openid-1\u200b") == "openid-1\u200b"  # trimmed when hashed, as always
