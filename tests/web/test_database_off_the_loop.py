"""Database work runs in the thread pool, never on the event loop.

FastAPI runs a plain function (endpoint or dependency) in a thread and a coroutine on the loop. A
coroutine that is handed the request's session, or anything solved from it, would wait for the
database on the loop: one statement waiting for a lock holds up every request of the process (see
``tests/integrations/test_webhook_waits.py``). So no coroutine, endpoint or dependency, may have a
dependency handing out a database session or connection anywhere below it, however deep.

The dependencies that open a connection of their own (the authenticators, which resolve the caller
in one short session closed before they return) must be plain functions themselves; a coroutine
above them only gets their answer, read in a thread.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.dependencies import Authenticator, ConsoleOperator
from neigou.auth.models import Role
from neigou.kit.deps import SessionDep, get_session
from neigou.web.route_tree import api_routes

# What a dependency hands out when it hands out the database.
DATABASE_HANDLES = (Session, Connection, Engine, sessionmaker)


def _function(call: Callable[..., Any]) -> Callable[..., Any]:
    """The function FastAPI calls for ``call`` (a callable instance's ``__call__``), unwrapped."""
    function = call if inspect.isroutine(call) else type(call).__call__
    unwrapped: Callable[..., Any] = inspect.unwrap(function)
    return unwrapped


def _on_the_loop(call: Callable[..., Any]) -> bool:
    function = _function(call)
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


def _hands_out_the_database(call: Callable[..., Any]) -> bool:
    """``get_session``, or any dependency whose return annotation names a session, connection, engine
    or session factory (``Iterator[Session]``, ``Connection``…)."""
    if call is get_session:
        return True
    try:
        returned = typing.get_type_hints(_function(call)).get("return")
    except (NameError, TypeError):  # an annotation this module cannot resolve names none of ours
        return False

    def names(annotation: Any) -> bool:
        origin = typing.get_origin(annotation) or annotation
        if isinstance(origin, type) and issubclass(origin, DATABASE_HANDLES):
            return True
        return any(names(inner) for inner in typing.get_args(annotation))

    return names(returned)


def _name(call: Callable[..., Any]) -> str:
    return getattr(call, "__qualname__", type(call).__qualname__)


def database_on_the_loop(app: FastAPI) -> list[str]:
    """``path: callable`` for each coroutine of each route with the database below it, and for each
    authenticator FastAPI would call on the loop."""
    refused: list[str] = []

    def walk(dependant: Dependant, path: str) -> bool:
        """Whether ``dependant``'s sub-tree, itself included, hands out the database."""
        below = False
        for sub in dependant.dependencies:
            below |= walk(sub, path)
        call = dependant.call
        if call is None:
            return below
        if _on_the_loop(call) and (below or isinstance(call, Authenticator)):
            refused.append(f"{path}: {_name(call)}")
        return below or _hands_out_the_database(call)

    for route, dependant in api_routes(app.routes):
        walk(dependant, route.path)
    return sorted(set(refused))


def test_no_coroutine_of_the_app_has_the_database_below_it(app: FastAPI) -> None:
    """An endpoint that uses the session is a plain function (run in a thread): what it must read
    asynchronously (a raw body, a form) comes through an async dependency of its own."""
    assert database_on_the_loop(app) == []


# Deliberately bad routes, on an app of the test's own: each hides the session from a coroutine at
# another depth.


async def _async_uses_session(session: SessionDep) -> int:
    return 1


def _sync_uses_session(session: SessionDep) -> int:
    return 2


async def _async_above_sync(value: Annotated[int, Depends(_sync_uses_session)]) -> int:
    return value


def _own_connection(request: Request) -> Iterator[Connection]:
    engine: Engine = request.app.state.engine
    with engine.connect() as connection:
        yield connection


class _AsyncAuthenticator(Authenticator):
    async def __call__(self, request: Request) -> Any:  # type: ignore[override]  # the mistake tested
        return super().__call__(request)


async def _async_stream(request: Request) -> AsyncIterator[bytes]:
    yield b""


def _bad_app() -> FastAPI:
    bad = FastAPI()

    @bad.get("/async-dependency-takes-session")
    def sync_endpoint(value: Annotated[int, Depends(_async_uses_session)]) -> int:
        return value

    @bad.get("/async-endpoint-below-sync-dependency")
    async def async_endpoint(value: Annotated[int, Depends(_sync_uses_session)]) -> int:
        return value

    @bad.get("/async-dependency-two-levels-up")
    def deep(value: Annotated[int, Depends(_async_above_sync)]) -> int:
        return value

    @bad.get("/async-endpoint-takes-connection")
    async def connection(connection: Annotated[Connection, Depends(_own_connection)]) -> int:
        return 0

    @bad.get("/async-authenticator")
    def authenticated(principal: Annotated[Any, Depends(_AsyncAuthenticator(Role.OPERATOR))]) -> int:
        return 0

    # Fine: a coroutine endpoint above a plain authenticator (the stream pages), an async body read.
    @bad.get("/fine")
    async def fine(principal: ConsoleOperator, body: Annotated[Any, Depends(_async_stream)]) -> int:
        return 0

    return bad


def test_a_coroutine_with_the_database_anywhere_below_it_is_refused() -> None:
    assert database_on_the_loop(_bad_app()) == [
        "/async-authenticator: _AsyncAuthenticator",
        "/async-dependency-takes-session: _async_uses_session",
        "/async-dependency-two-levels-up: _async_above_sync",
        "/async-endpoint-below-sync-dependency: _bad_app.<locals>.async_endpoint",
        "/async-endpoint-takes-connection: _bad_app.<locals>.connection",
    ]
