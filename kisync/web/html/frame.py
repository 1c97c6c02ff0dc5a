"""What every page shares: its frame, its headers, and German pages for errors.

A person who mistypes a filter or follows an old link gets a page in
German with the right status, inside the usual frame (navigation, skip
link), not the API's JSON error body. Every answer of a page handler
carries the pages' Content-Security-Policy (security.py), errors included.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from kisync.errors import StorageError
from kisync.web.context import WebContext, context
from kisync.web.errors import HttpError, InvalidParameter
from kisync.web.html import templates
from kisync.web.html.security import page_headers

log = logging.getLogger("kisync.web")

HTML = "text/html; charset=utf-8"
# Revalidate every time: cheap (304 by ETag), and a sync shows at once.
PAGE_CACHE = "no-cache"
STATIC_CACHE = "public, max-age=31536000, immutable"


def cache_key(canonical: str) -> str:
    """The normalized query plus the version of the templates: a new release of the pages is a new representation."""
    return f"{canonical}#{templates.VERSION}"


class Gone(HttpError):
    """A deleted item: its tombstone is all that is left."""

    status = 410
    code = "gone"

    def __init__(self, message: str, *, page_message: str):
        super().__init__(message)
        self.page_message = page_message


PARAMETER_LABELS = {
    "field": "Handlungsfeld",
    "centre": "Zentrum",
    "kind": "Art",
    "audience": "Zielgruppe",
    "programme": "Programm",
    "lang": "Sprache",
    "q": "Suche",
    "tag": "Schlagwort",
    "limit": "Anzahl",
    "cursor": "Seite",
    "modified_since": "geändert seit",
    "modified_until": "geändert bis",
}
STATUS_MESSAGES = {
    400: ("Ungültige Anfrage", "Die Adresse enthält eine Angabe, die kisync nicht versteht."),
    404: ("Nicht gefunden", "Diese Seite gibt es hier nicht."),
    405: ("Nicht erlaubt", "Diese Seite kann nur gelesen werden."),
    410: ("Gelöscht", "Dieser Eintrag wurde von seinem Zentrum gelöscht."),
    500: ("Interner Fehler", "Beim Erstellen der Seite ist ein Fehler aufgetreten. Bitte versuchen Sie es später wieder."),
    503: ("Vorübergehend nicht verfügbar", "Die Datenbank ist gerade nicht erreichbar. Bitte versuchen Sie es später wieder."),
}


def german_problem(error: InvalidParameter) -> str:
    """A filter mistake in German, naming the form field."""
    label = PARAMETER_LABELS.get(error.parameter)
    if label is None:
        return f"Die Adresse enthält die unbekannte Angabe „{error.parameter}“."
    if error.parameter == "cursor":
        return "Der Verweis auf die nächste Seite ist ungültig. Bitte beginnen Sie auf der ersten Seite."
    if error.parameter == "q":
        return "Der Suchbegriff ist ungültig: Er muss mindestens ein Wort enthalten und darf höchstens 500 Zeichen lang sein."
    if "more than once" in error.message:
        return f"Die Angabe „{label}“ ist mehrfach enthalten."
    return f"Die Auswahl für „{label}“ ist ungültig. Bitte wählen Sie einen Wert aus der Liste."


def site(ctx: WebContext, current: str | None) -> dict[str, Any]:
    """What the frame of every page shows: the node's name, and which navigation entry is the current page."""
    return {"name": ctx.settings.node.name, "centre": ctx.settings.node.centre, "current": current}


def error_page(request: web.Request, status: int, message: str | None = None) -> web.Response:
    title, default = STATUS_MESSAGES.get(status, STATUS_MESSAGES[500] if status >= 500 else STATUS_MESSAGES[400])
    body = templates.render_page(
        "error.html", site=site(context(request), None), status=status, title=title, message=message or default
    )
    return web.Response(body=body, status=status, headers={"Content-Type": HTML, "Cache-Control": "no-store"})


def page(handler):
    """A page handler: every answer with the pages' security headers, every error as a German page."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except InvalidParameter as error:
            response = error_page(request, 400, german_problem(error))
        except HttpError as error:
            response = error_page(request, error.status, getattr(error, "page_message", None))
        except web.HTTPException:
            raise
        except (StorageError, sa.exc.OperationalError):
            log.exception("database error", extra={"method": request.method, "path": request.path})
            response = error_page(request, 503)
        except Exception:
            # Never a traceback to the reader; the log has it.
            log.exception("unhandled error", extra={"method": request.method, "path": request.path})
            response = error_page(request, 500)
        response.headers.update(page_headers())
        return response

    return wrapped
