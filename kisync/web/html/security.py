"""Security headers on every answer: the pages' CSP, and a locked-down one for everything else.

The HTML pages need nothing but their own stylesheet: no scripts at all,
no inline styles, nothing from elsewhere (BITV 2.0 pages for the public
sector; no tracking). A payload that got past the sanitizer would still
not run: the CSP has no ``'unsafe-inline'`` and no script source.
Feeds and JSON get a CSP that allows nothing and sandboxes the document,
so that a browser showing a feed as XML cannot run markup from it either.
"""

from __future__ import annotations

from aiohttp import web

PAGE_CSP = "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
OTHER_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox"

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # The filter in a page's URL is nobody else's business, not even the linked site's.
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), geolocation=(), microphone=()",
}


def page_headers() -> dict[str, str]:
    """The headers of an HTML page (a page sets them itself; the middleware keeps them)."""
    return {"Content-Security-Policy": PAGE_CSP}


def _secure(headers) -> None:
    for name, value in COMMON_HEADERS.items():
        headers.setdefault(name, value)
    headers.setdefault("Content-Security-Policy", OTHER_CSP)


@web.middleware
async def security_headers_middleware(request: web.Request, handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects and the like leave as exceptions
        _secure(exc.headers)
        raise
    _secure(response.headers)
    return response
