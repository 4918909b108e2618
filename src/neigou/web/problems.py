"""One renderer for every error: RFC 9457 problem+json with a stable ``code``; on a page's path
(``web.paths.is_page``) the same refusal is a page a person reads (``web.error_pages``)."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from neigou.kit.bulk import UNIQUE_VIOLATION
from neigou.kit.db_errors import database_code
from neigou.kit.errors import Invalid, ProblemError, Unauthorized, Unavailable
from neigou.kit.field_errors import OWN_FIELD_ERRORS, field_message
from neigou.kit.hidden_marks import INVALID_CUSTOMER_REF, customer_ref_refusal
from neigou.kit.i18n import N_, Message, Text, translate, translate_tree, translations
from neigou.kit.instants import numeric_detail, refusal_code
from neigou.kit.json_text import NUL_CHARACTER, holds_nul, own_body
from neigou.kit.logging import error_summary, redact_cut
from neigou.web.error_pages import HTTP_PAGES, error_page, unavailable_page, unreadable_page
from neigou.web.i18n import problem_locale
from neigou.web.paths import is_page
from neigou.web.route_index import allowed
from neigou.web.security_headers import mark_answer

log = structlog.get_logger(__name__)
_FAILED = Message("Something went wrong on our side; nothing was saved.")
PROBLEM_TYPE = "https://neigou.dev/problems/"
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}
# A value its column cannot hold: PostgreSQL's numeric_value_out_of_range, string_data_right_truncation,
# datetime_field_overflow; SQLite's driver refuses an int past 64 bits before the query is sent.
_OUT_OF_RANGE_SQLSTATES = frozenset({"22003", "22001", "22008"})
_SQLITE_OVERFLOW = "too large to convert to SQLite INTEGER"
_NUL = "cannot contain NUL"  # psycopg refuses a text parameter holding "\x00"
# PostgreSQL's untranslatable_character: JSONB refuses the "\u0000" escape a NUL in a JSON value becomes
# (a tag compared with a JSONB list, a text inside a JSON column).
_UNTRANSLATABLE = "22P05"
_JSON_NUL = "\\u0000"
_UNSTORABLE = {
    "value_out_of_range": Message(
        "A number or text in the request is too large to store; ids and amounts stop at {largest}.",
        largest=2**63 - 1,
    ),
    "nul_character": NUL_CHARACTER,
}
# SQLite's names of a broken unique key and a taken primary key.
_SQLITE_TAKEN = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})
_TAKEN = Message("Another request changed the same record at the same moment; nothing was saved. Try again.")
# Starlette's own errors (unknown path, wrong method), titled in its words.
_HTTP_TITLES = (N_("Not Found"), N_("Method Not Allowed"))


def unstorable(exc: BaseException) -> str | None:
    """The problem code when the database refused a value it cannot hold, None for anything else."""
    if isinstance(exc, DataError):
        sqlstate = database_code(exc).sqlstate
        if sqlstate in _OUT_OF_RANGE_SQLSTATES:
            return "value_out_of_range"
        if sqlstate == _UNTRANSLATABLE and _JSON_NUL in str(exc.orig):
            return "nul_character"
        return "nul_character" if _NUL in str(exc.orig) else None
    if isinstance(exc, OverflowError) and _SQLITE_OVERFLOW in str(exc):
        return "value_out_of_range"
    return None


def key_taken(exc: BaseException) -> bool:
    """Whether the database refused a write because a unique key (or primary key) was taken."""
    if not isinstance(exc, IntegrityError):
        return False
    code = database_code(exc)
    return code.sqlstate == UNIQUE_VIOLATION or code.sqlite_name in _SQLITE_TAKEN


def _which_key(exc: IntegrityError) -> str:
    """What a taken key's refusal says without the values: the database message's first line (the
    constraint or the columns), never PostgreSQL's ``DETAIL: Key (…)=(…)``, which names a customer's hash
    or a member's ids."""
    return redact_cut(str(exc.orig).split("\n", 1)[0], 300)


class Unstorable(Invalid):
    """A value no database of ours can hold, refused before it reaches one."""

    title = N_("Value cannot be stored")


def _takes_a_form(route: object) -> bool:
    """Whether FastAPI reads the route's body as a form (an upload's file): it has parsed it before this
    guard runs, whatever the content type said, and a parsed stream cannot be read again (a form sent
    without a file is the route's 422, not a 500)."""
    body_field = getattr(route, "body_field", None)
    return body_field is not None and isinstance(body_field.field_info, params.Form)


async def refuse_nul(request: Request) -> None:
    """Refuse a NUL in the path, the query string or a JSON body before anything reads them (422
    ``nul_character``).

    PostgreSQL can neither store nor compare text holding one, and SQLite takes it like any character: left
    to the database, the same request was a 422 on one and a 201 on the other (a product's title), or a 500
    where the value met a JSONB column (a customer list's ``category``). Every API caller gets the same
    answer on both, and nothing is written."""
    query = request.scope.get("query_string", b"").lower()
    nul = "\x00" in request.scope["path"] or b"%00" in query or b"\x00" in query
    # Any body but a file upload (whose rows the importers check): a JSON body under any content type
    # (a webhook parses its body whatever the header says), in any encoding ``json.loads`` detects.
    route = request.scope.get("route")
    if (
        not nul
        and not request.headers.get("content-type", "").lower().startswith("multipart/")
        and not own_body(getattr(route, "endpoint", None))
        and not _takes_a_form(route)
    ):
        body = await request.body()  # read once: Starlette keeps it for the body's own parsing
        nul = bool(body) and holds_nul(body)
    if nul:
        raise Unstorable(_UNSTORABLE["nul_character"], code="nul_character")


def problem(request: Request, status: int, code: str, title: str, detail: Text, **extra: Any) -> JSONResponse:
    """A problem+json response, its title, detail and messages in the caller's language; ``code`` stays."""
    locale = problem_locale(request)
    body = {
        "type": PROBLEM_TYPE + code,
        "title": translations(locale).gettext(title),
        "status": status,
        "detail": translate(detail, locale),
        "code": code,
        **translate_tree(extra, locale),
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def refusal(request: Request, status: int, code: str, title: str, detail: Text, **extra: Any) -> Response:
    """A refusal: on a page's path (``web.paths.is_page``) a page in the reader's language
    (``web.error_pages``), anywhere else problem+json."""
    if is_page(request.url.path):
        return error_page(request, status, code, title, detail)
    return problem(request, status, code, title, detail, **extra)


def _failed(request: Request) -> Response:
    """A failure of ours: on a person's page a page in its language, as every refusal is (problem+json
    when that page itself cannot be drawn), problem+json elsewhere."""
    if is_page(request.url.path):
        try:
            return error_page(request, 500, "internal_error", N_("Internal error"), _FAILED)
        except Exception as failed:
            log.error("request.error_page_failed", path=request.url.path, error=error_summary(failed))
    return problem(request, 500, "internal_error", N_("Internal error"), _FAILED)


def _refused(errors: list[dict[str, Any]], contexts: list[dict[str, Any] | None]) -> tuple[str, Text]:
    """The code and detail of a request refused for ``errors`` (each with its validation error's
    context in ``contexts``)."""
    numeric = numeric_detail([(e["field"], e["type"]) for e in errors])
    fields = ", ".join(e["field"] or "body" for e in errors)
    detail: Text = Message("Some fields are missing or malformed: {fields}.", fields=fields)
    if numeric is not None:
        detail = numeric
    # When every error is one of the product's own field errors (an employee number of nothing visible or
    # holding a refused character, a name of nothing visible, a customer's tag or job that is a phone
    # number), its type is the code.
    kinds = {e["type"] for e in errors}
    if len(kinds) == 1 and (kind := kinds.pop()) in OWN_FIELD_ERRORS:
        # A customer reference's refusal names its field (the reference itself is never quoted).
        if kind == INVALID_CUSTOMER_REF:
            return kind, customer_ref_refusal(fields, contexts)
        return kind, OWN_FIELD_ERRORS[kind]
    # A time outside the product's days (``kit.instants.Instant``) has the code a day outside them has.
    return refusal_code([e["type"] for e in errors]), detail


def bearer_challenge(code: str) -> str:
    """The ``WWW-Authenticate`` value of an API 401 of ``code`` (RFC 6750, section 3): a bad or unknown
    token says ``invalid_token``; a request that presented none gets the bare scheme."""
    return 'Bearer error="invalid_token"' if code == "invalid_token" else "Bearer"


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        # A signed-out page goes to its sign-in; an image or a stream a page fetches (``web.paths.FETCHED``)
        # is refused (401 problem+json): an <img> or an EventSource cannot follow a redirect to a page. An
        # image opened as the page itself (a tapped poster link: ``Sec-Fetch-Dest: document``) goes to
        # the sign-in like a page, not to a JSON body on the phone's screen.
        navigated = request.headers.get("sec-fetch-dest") == "document"
        signed_out = isinstance(exc, Unauthorized) and (is_page(request.url.path) or navigated)
        if signed_out and request.url.path.startswith("/console"):
            return RedirectResponse("/console/login?next=" + request.url.path, status_code=303)
        if signed_out and request.url.path.startswith("/m/"):
            return RedirectResponse("/m/expired", status_code=303)
        if isinstance(exc, Unavailable) and is_page(request.url.path):
            # On a thread: a workspace page's navigation reads the database.
            return await run_in_threadpool(unavailable_page, request, exc)
        answer = refusal(request, exc.status, exc.code, exc.title, exc.detail, **exc.extra)
        if isinstance(exc, Unauthorized) and not is_page(request.url.path):
            # RFC 6750: a program's 401 names the scheme it takes (never a page's: it goes to a sign-in).
            answer.headers["WWW-Authenticate"] = bearer_challenge(exc.code)
        if isinstance(exc, Unavailable):
            answer.headers["Retry-After"] = str(exc.retry_after)
        return answer

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # Each error's message is the product's sentence for its type in the reader's language, with the
        # schema's bound or values filled in (``kit.field_errors.field_message``): never pydantic's English
        # text, which may quote the value sent (a validator's ``Value error, …``).
        errors: list[dict[str, Any]] = []
        contexts: list[dict[str, Any] | None] = []
        for err in exc.errors():
            contexts.append(err.get("ctx"))
            field = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            kind = err.get("type", "")
            errors.append(
                {"field": field, "message": field_message(kind, field, err.get("ctx")), "type": kind}
            )
        code, detail = _refused(errors, contexts)
        if is_page(request.url.path):
            return unreadable_page(
                request, code, [e["field"].partition(".")[2] or e["field"] for e in errors]
            )
        return problem(request, 422, code, N_("Invalid request"), detail, errors=errors)

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _unstorable(request: Request, exc: Exception) -> Response:
        # The transaction is already rolled back (kit.deps); any other DataError or OverflowError is a bug.
        code = unstorable(exc)
        if code is None:
            raise exc
        # The error's first line only: its statement's bound values (``[parameters: …]``) are the request's.
        log.warning("request.unstorable_value", path=request.url.path, problem=code, error=error_summary(exc))
        return refusal(request, 422, code, N_("Value cannot be stored"), _UNSTORABLE[code])

    @app.exception_handler(IntegrityError)
    async def _taken(request: Request, exc: IntegrityError) -> Response:
        # The last resort for a write that lost a race on a unique key its service did not guard: the
        # request's transaction is rolled back (kit.deps) and the caller may try again, so 409, not 500.
        # Any other broken constraint is a bug.
        if not key_taken(exc):
            raise exc
        log.warning("request.key_taken", path=request.url.path, error=_which_key(exc))
        return refusal(request, 409, "conflict", N_("Conflicts with the current state"), _TAKEN)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        answer: Response
        if exc.status_code in HTTP_PAGES and is_page(request.url.path):
            # A person's unknown address or wrong method: a page in their language (web.i18n.locale_of).
            title, message = HTTP_PAGES[exc.status_code]
            answer = error_page(request, exc.status_code, code, title, message)
        elif is_page(request.url.path):
            text = str(exc.detail)
            answer = error_page(request, exc.status_code, code, text, text)
        else:
            text = translations(problem_locale(request)).gettext(str(exc.detail))
            answer = problem(request, exc.status_code, code, text, text)
        # The exception's own headers go with it: a 405's ``Allow`` (RFC 9110 requires it), a 401's
        # ``WWW-Authenticate``. A 405's names the methods of every route of the path, not only the
        # refusing route's.
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and (allow := allowed(request.scope, headers.pop("Allow", ""))):
            headers["Allow"] = allow
        for name, value in headers.items():
            answer.headers[name] = value
        return answer

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # The error's class and the redacted first line of its message, and its frames: never its whole
        # text (a database error's DETAIL, the statement's bound values) nor its causes' (kit.tracebacks).
        log.error("request.failed", path=request.url.path, error=error_summary(exc), exc_info=exc)
        # Starlette runs this handler in its outermost layer, outside web.security_headers: the answer
        # is marked here, by the same rule.
        answer = _failed(request)
        mark_answer(request, answer.headers)
        return answer
