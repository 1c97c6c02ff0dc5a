"""The Jinja2 environment of the pages and the one stylesheet.

Autoescaping is on for every template: text from other centres' feeds is
text, whatever it contains. The only markup that reaches a page unescaped
is an item's content after kisync.web.html.content has rebuilt it from
the allowlist (marked safe in exactly one place, pages.item_page).
"""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any

import jinja2

from kisync.web.html import views

STYLESHEET_NAME = "kisync.css"
STYLESHEET = resources.files("kisync.web.html").joinpath("static", STYLESHEET_NAME).read_bytes()
# In the stylesheet's URL: a new version is a new URL, so browsers may keep one for long.
STYLESHEET_VERSION = hashlib.sha256(STYLESHEET).hexdigest()[:12]
STYLESHEET_PATH = f"/static/{STYLESHEET_NAME}"


def _templates_version() -> str:
    """A digest of every template and the stylesheet: part of the pages' ETags, so a new release is never a 304."""
    digest = hashlib.sha256(STYLESHEET)
    folder = resources.files("kisync.web.html").joinpath("templates")
    for name in sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".html")):
        digest.update(name.encode() + b"\0" + folder.joinpath(name).read_bytes())
    return digest.hexdigest()[:12]


VERSION = _templates_version()

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("kisync.web.html", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
ENVIRONMENT.globals.update(
    views.LABELS,
    stylesheet=f"{STYLESHEET_PATH}?v={STYLESHEET_VERSION}",
    item_path=views.item_path,
    api_item_path=views.api_item_path,
    text_language=views.text_language,
    period_start_word=views.period_start_word,
    attachment_note=views.attachment_note,
)
ENVIRONMENT.filters.update(de_date=views.de_date, de_datetime=views.de_datetime, iso=views.iso)


def render_page(name: str, **context: Any) -> bytes:
    return ENVIRONMENT.get_template(name).render(**context).encode("utf-8")
