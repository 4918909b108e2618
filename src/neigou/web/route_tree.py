"""Every FastAPI route below an app's top-level routes, with the dependencies it is solved with.

An included router keeps its routes as FastAPI built them; what the including routers add (their
prefix, their dependencies) lives in one ``effective route context`` per inclusion, whose
``dependant`` is the one FastAPI solves for a request. ``web.credentials`` and ``web.body_limit`` read
the routes through it and put their checks on the route itself: FastAPI calls ``route.handle`` once it
has chosen the route, before the route's handler reads anything, whichever router included it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[tuple[APIRoute, Dependant]]:
    """Each FastAPI route below ``routes`` with the dependencies of one inclusion (a route included
    twice comes twice)."""
    for top in routes:
        if isinstance(top, APIRoute):
            yield top, top.dependant
        contexts = getattr(top, "effective_route_contexts", None)
        for context in contexts() if callable(contexts) else ():
            if isinstance(context.original_route, APIRoute) and context.dependant is not None:
                yield context.original_route, context.dependant
