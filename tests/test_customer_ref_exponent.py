"""A customer reference in exponent form (``1.3812345678E10``, ``＇1.38E10``: a phone or member number a
spreadsheet held roughly) is refused by the one annotation every body that records a customer takes it
through (``kit.refs.NamesSomeone``): a customer added to the book, a member, a quote, a claim, a
reservation, an order. Each answers ``invalid_customer_ref`` and "write ids as text", never the value; a
JSON float is refused there too, and a share link's signed click ignores such a reference. The opt-out
takes it (it only finds what is stored, ``kit.refs.NamesSomeoneStored``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from neigou.web.landing import attributed_ref
from tests.conftest import TokenMaker, row_counts
from tests.crm.builders import build
from tests.factories import create_program

EXPONENT = ["1.3812345678E10", "＇1.38E10", "'2.34568E+18", '="2.34568E+18"', "２.３４５６８Ｅ＋１８", "1e10"]
ERASING = {"OptOutIn"}


def _models(app: FastAPI) -> Iterator[type[BaseModel]]:
    """The body models (and those inside them) of the API's routes that have a ``customer_ref``."""
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


def _kinds(model: type[BaseModel], ref: object) -> set[str]:
    try:
        model.model_validate({"customer_ref": ref})
    except ValidationError as exc:
        return {e["type"] for e in exc.errors() if tuple(e["loc"]) == ("customer_ref",)}
    return set()


def test_every_model_refuses_a_reference_in_exponent_form(app: FastAPI) -> None:
    every = list(_models(app))
    names = {m.__name__ for m in every}
    assert names >= {"CustomerCreate", "MemberCreate", "QuoteRequest", "ClaimCreate", "ReservationBody"}
    assert names >= {"OrderBody", *ERASING}
    models = [m for m in every if m.__name__ not in ERASING]
    assert {m.__name__: {r: _kinds(m, r) for r in EXPONENT} for m in models} == {
        m.__name__: {ref: {"invalid_customer_ref"} for ref in EXPONENT} for m in models
    }
    # Not an exponent form: a reference that merely holds an ``E`` between digits is someone.
    assert [m.__name__ for m in models if _kinds(m, "JD-1E10X") or _kinds(m, "13812345678")] == []


def test_a_json_float_is_refused_by_every_model(app: FastAPI) -> None:
    """A float holds an id only roughly: refused as no text, or read in exponent form and refused so."""
    models = [m for m in _models(app) if m.__name__ not in ERASING]
    for number in (13812345678.0, 1.3812345678e10):
        assert [m.__name__ for m in models if not _kinds(m, number)] == []


@pytest.mark.parametrize("ref", EXPONENT)
def test_a_share_links_click_ignores_a_reference_in_exponent_form(ref: str) -> None:
    assert attributed_ref(ref) is None
    assert attributed_ref(" 13812345678 ") == "13812345678"


def _refused_as_text(response: Any, field: str = "customer_ref") -> None:
    assert (response.status_code, response.json()["code"]) == (422, "invalid_customer_ref"), response.text
    body = response.json()
    assert "文本" in body["detail"]  # "write ids as text"
    assert field in body["detail"]
    assert [e["field"] for e in body["errors"]] == [field]
    assert "不可见" not in response.text  # not the hidden mark's message
    assert "1.38" not in response.text
    assert "１.３８" not in response.text


@pytest.mark.parametrize("ref", ["1.3812345678E10", "＇1.38E10"])
def test_a_customer_added_to_the_book_in_exponent_form_is_refused(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    ref: str,
) -> None:
    book = build(client, operator, make_token)
    before = row_counts(factory)
    refused = client.post(
        f"/api/v1/members/{book.member}/customers", json={"customer_ref": ref}, headers=book.member_headers
    )
    _refused_as_text(refused)
    assert row_counts(factory) == before


def test_a_member_and_a_quote_in_exponent_form_are_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)
    before = row_counts(factory)
    member = client.post(
        f"/api/v1/programs/{program['id']}/members",
        json={"name": "导购", "customer_ref": "＇1.38E10"},
        headers=operator,
    )
    _refused_as_text(member)
    quote = client.post(
        "/api/v1/quotes",
        json={"customer_ref": "1.3812345678E10", "items": [{"sku": "SKU-1", "quantity": 1}]},
        headers=operator,
    )
    _refused_as_text(quote)
    assert row_counts(factory) == before


def test_an_opt_out_still_takes_a_reference_in_exponent_form(
    client: TestClient, operator: dict[str, str]
) -> None:
    """It only finds what is stored: a shopper recorded under one before it was refused is erased."""
    body = {"customer_ref": "1.3812345678E10", "request_id": "exp-1"}
    made = client.post("/api/v1/privacy/opt-outs", json=body, headers=operator)
    assert made.status_code == 201, made.text
