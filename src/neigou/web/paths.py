"""Where the web layer's files live inside the package, and which of its paths are not pages."""

from __future__ import annotations

from pathlib import Path

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
# Paths whose callers are programs, never a browser: the API (bearer tokens only) and the signed
# webhooks. They read no cookie (no CSRF check) and every refusal is problem+json; any other path is
# a page's, whose refusals a person reads as a page (``web.forms``, ``web.body_limit``).
NOT_PAGES = ("/api/", "/webhooks/")
