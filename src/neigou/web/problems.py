"""One renderer for every error: RFC 9457 problem+json with a stable ``code``."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from neigou.kit.errors import ProblemError, Unauthorized

log = structlog.get_logger(__name__)
PROBLEM_TYPE = "https://neigou.dev/problems/"
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": PROBLEM_TYPE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _is_page(request: Request) -> bool:
    return request.url.path.startswith(("/console", "/m/"))


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        if isinstance(exc, Unauthorized) and request.url.path.startswith("/console"):
            return RedirectResponse("/console/login?next=" + request.url.path, status_code=303)
        if isinstance(exc, Unauthorized) and request.url.path.startswith("/m/"):
            return RedirectResponse("/m/expired", status_code=303)
        return problem(exc.status, exc.code, type(exc).__name__, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "message": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        fields = ", ".join(e["field"] or "body" for e in errors)
        return problem(
            422,
            "validation_error",
            "Invalid request",
            f"Some fields are missing or malformed: {fields}. 请求字段缺失或格式错误。",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return problem(exc.status_code, code, str(exc.detail), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("request.failed", path=request.url.path, error=repr(exc))
        return problem(
            500,
            "internal_error",
            "Internal error",
            "Something went wrong on our side; nothing was saved. 服务器内部错误，本次操作未保存。",
        )
