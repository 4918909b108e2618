"""Errors that carry their HTTP status and a stable machine code (RFC 9457 problem+json).

The detail is an English ``Message`` (a msgid with named values); the problem handler shows it, and the
title, in the caller's language.
"""

from __future__ import annotations

from typing import Any

from neigou.kit.i18n import N_, Text

# RFC 9457 members every problem document carries; an error's extra fields may not reuse them.
RESERVED_FIELDS = frozenset({"type", "title", "status", "detail", "code"})


class ProblemError(Exception):
    """An expected failure shown to the caller; never a 500."""

    status: int = 400
    code: str = "bad_request"
    title: str = N_("Bad request")

    def __init__(
        self,
        detail: Text,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(detail))
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        clash = RESERVED_FIELDS.intersection(extra or {})
        if clash:  # a programming error: the problem document's own fields cannot be overridden
            raise ValueError(f"extra fields {sorted(clash)} clash with the problem document's own")
        self.extra = extra or {}


class NotFound(ProblemError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    status = 404
    code = "not_found"
    title = N_("Not found")


class Conflict(ProblemError):
    """The request clashes with the current state (duplicate, sold out, limit reached)."""

    status = 409
    code = "conflict"
    title = N_("Conflicts with the current state")


class Invalid(ProblemError):
    """Well-formed request whose content breaks a business rule."""

    status = 422
    code = "invalid"
    title = N_("Request not accepted")


class TooLarge(ProblemError):
    """A request body larger than its endpoint reads (``web.body_limit`` answers the same for the app's
    limit and for a JSON endpoint's smaller one)."""

    status = 413
    code = "body_too_large"
    title = N_("Request body too large")


class Unauthorized(ProblemError):
    """No valid credentials."""

    status = 401
    code = "unauthenticated"
    title = N_("Sign-in required")


class Forbidden(ProblemError):
    """Valid credentials that may not do this."""

    status = 403
    code = "forbidden"
    title = N_("Not allowed")


class Unavailable(ProblemError):
    """Not possible right now through no fault of the caller (our configuration); worth retrying
    after ``retry_after`` seconds (sent as Retry-After)."""

    status = 503
    code = "unavailable"
    title = N_("Temporarily unavailable")
    # A fixed five minutes, on purpose: what makes a retry succeed is an operator's fix of our
    # configuration (a key put back, then a restart), at a time the code cannot know. Five minutes is
    # about as soon as such a fix lands: a shorter wait only spends the caller's retries on the same
    # 503, a longer one holds its requests back after the fix.
    retry_after = 300
