"""Where the web layer's files live inside the package, and which of its paths are not pages."""

from __future__ import annotations

from pathlib import Path

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
# Paths whose callers are programs, never a browser: the API (bearer tokens only), the signed
# webhooks, the static files, and the probes (``PROBES``, whole paths). They read no cookie (no CSRF
# check) and every refusal is problem+json; any other path is a page's, whose refusals a person reads
# as a page in their language (``web.forms``, ``web.body_limit``, a 404 or 405 of ``web.problems``).
NOT_PAGES = ("/api/", "/webhooks/", "/static/")
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


def is_page(path: str) -> bool:
    """Whether ``path`` is a page's (see ``NOT_PAGES``)."""
    return not path.startswith(NOT_PAGES) and path not in PROBES
