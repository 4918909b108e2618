"""The date-time fields the API's requests take, read from its OpenAPI schema."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI

from tests.authz.cases import ALL_CASES
from tests.authz.matrix import Case

Field = tuple[str, str, str]  # method, path as in the schema, field ("consent.at"; a list's item "items[].x")

_PLACEHOLDER = re.compile(r"\{[^}]*\}")
WRITES = frozenset({"post", "put", "patch"})


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _times(schema: dict[str, Any], spec: dict[str, Any], prefix: str, seen: frozenset[str]) -> Iterator[str]:
    """The dotted names of the date-time fields of ``schema``."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return
        seen |= {name}
    schema = _resolve(schema, spec)
    if schema.get("format") == "date-time":
        yield prefix
    for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        yield from _times(option, spec, prefix, seen)
    for name, inner in schema.get("properties", {}).items():
        yield from _times(inner, spec, f"{prefix}.{name}" if prefix else name, seen)
    if "items" in schema:
        yield from _times(schema["items"], spec, f"{prefix}[]", seen)


def request_times(app: FastAPI, methods: frozenset[str] | None = None) -> tuple[set[Field], set[Field]]:
    """Every date-time the API's requests take (of ``methods``, all when None): in parameters, in bodies."""
    spec = app.openapi()
    parameters: set[Field] = set()
    bodies: set[Field] = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if methods is not None and method not in methods:
                continue
            for parameter in operation.get("parameters", []):
                names = _times(parameter.get("schema", {}), spec, parameter["name"], frozenset())
                parameters |= {(method.upper(), path, name) for name in names}
            for content in operation.get("requestBody", {}).get("content", {}).values():
                names = _times(content.get("schema", {}), spec, "", frozenset())
                bodies |= {(method.upper(), path, name) for name in names}
    return parameters, bodies


def matrix_case(method: str, path: str) -> Case:
    """The authorization matrix's case of an operation (its placeholders may be named otherwise)."""
    shape = _PLACEHOLDER.sub("{}", path)
    for case in ALL_CASES:
        if (case.method, _PLACEHOLDER.sub("{}", case.path)) == (method, shape):
            return case
    raise AssertionError(f"{method} {path} is not in the authorization matrix")


def with_field(body: Any, field: str, value: Any) -> dict[str, Any]:
    """``body`` with ``field`` (``consent.at``: inside a consent given with it) set to ``value``."""
    changed: dict[str, Any] = dict(body or {})
    parent, _, name = field.rpartition(".")
    if parent:
        changed[parent] = {"marketing": True, **changed.get(parent, {}), name: value}
    else:
        changed[name] = value
    return changed
