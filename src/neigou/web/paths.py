"""Where the web layer's files live inside the package, and which of its paths are not pages."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
# Paths whose callers are programs, never a browser: the API (bearer tokens only), the signed
# webhooks, the static files, and the probes (``PROBES``, whole paths). They read no cookie (no CSRF
# check) and every refusal is problem+json; any other path is a page's, whose refusals a person reads
# as a page in their language (``web.forms``, ``web.body_limit``, ``web.error_pages``).
NOT_PAGES = ("/api/", "/webhooks/", "/static/")
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
# Images a page shows, fetched by its ``<img>`` or saved by a download link, never read as a page: the
# drawn product tiles, the QR codes and posters (``….png``), a live code's uploaded join QR. Their
# refusals are problem+json with a code too (every image route is a GET: no form is ever sent to one).
IMAGES = re.compile(r"^/img/|\.png$|^/g/[^/]+/qr/[^/]+$")


def is_page(path: str) -> bool:
    """Whether ``path`` is a page's (see ``NOT_PAGES``, ``PROBES`` and ``IMAGES``): the one test of
    whether a refusal is a page in the reader's language or problem+json."""
    return not path.startswith(NOT_PAGES) and path not in PROBES and IMAGES.search(path) is None
