"""The baseline of the redirect benchmark: a bare Starlette app answering ``GET /l/{code}`` with the
same 302 as neigou (Location, Cache-Control, a fresh visitor cookie) and doing nothing else."""

from __future__ import annotations

import secrets

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def redirect(request: Request) -> Response:
    """The same response bytes as neigou's redirect, without looking anything up or recording."""
    code = request.path_params["code"]
    cookie = f"nv={secrets.token_urlsafe(12)}; Max-Age=63072000; Path=/; HttpOnly; SameSite=lax"
    return Response(
        status_code=302, headers={"location": f"/p/{code}", "cache-control": "no-store", "set-cookie": cookie}
    )


app = Starlette(routes=[Route("/l/{code}", redirect)])
