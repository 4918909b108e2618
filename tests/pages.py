"""Reading a page's refusal (``web.error_pages``): ``http_error.html`` with the refusal's code."""

from __future__ import annotations

import re

from httpx2 import Response

_CODE = re.compile(r'data-testid="http-error" data-code="([a-z0-9_]+)"')


def refusal_code(response: Response) -> str:
    """The code of a page's refusal, insisting it is a page (HTML), not problem+json."""
    assert response.headers["content-type"].startswith("text/html"), response.text[:300]
    found = _CODE.search(response.text)
    assert found is not None, response.text[:300]
    return found.group(1)
