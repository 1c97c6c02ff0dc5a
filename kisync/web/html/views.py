"""Small pure helpers the templates use: German labels, dates, languages and writing direction, links."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import quote

from kisync.centres import registry
from kisync.vocab import FieldOfAction, Kind, Status, audience_label, programme_label
from kisync.web.csvexport import BERLIN

PAGE_LANGUAGE = "de"

# Languages written right to left (WCAG 1.3.2: the reading order must be the
# text's own); a script subtag decides where one is given (ku-Arab, az-Arab).
_RTL_LANGUAGES = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ks", "prs", "ps", "sd", "syr", "ug", "ur", "yi"})
_RTL_SCRIPTS = frozenset({"arab", "hebr", "thaa", "syrc", "nkoo", "adlm", "rohg", "mand", "samr"})
_LTR_SCRIPTS = frozenset({"latn", "cyrl", "grek", "armn", "geor", "deva", "ethi"})
_SCRIPT = re.compile(r"^[a-z]{4}$")

LANGUAGE_NAMES = {
    "de": "Deutsch",
    "en": "Englisch",
    "fr": "Französisch",
    "tr": "Türkisch",
    "ar": "Arabisch",
    "fa": "Persisch",
    "prs": "Dari",
    "ps": "Paschtu",
    "uk": "Ukrainisch",
    "ru": "Russisch",
    "pl": "Polnisch",
    "ro": "Rumänisch",
    "bg": "Bulgarisch",
    "el": "Griechisch",
    "it": "Italienisch",
    "es": "Spanisch",
    "pt": "Portugiesisch",
    "sq": "Albanisch",
    "sr": "Serbisch",
    "hr": "Kroatisch",
    "bs": "Bosnisch",
    "ku": "Kurdisch",
    "ckb": "Kurdisch (Sorani)",
    "ti": "Tigrinya",
    "so": "Somali",
    "ur": "Urdu",
    "he": "Hebräisch",
    "vi": "Vietnamesisch",
    "zh": "Chinesisch",
}


def primary_language(tag: str | None) -> str:
    return (tag or PAGE_LANGUAGE).split("-", 1)[0].lower()


def text_direction(tag: str | None) -> str:
    """``rtl`` or ``ltr`` for a BCP 47 tag."""
    parts = (tag or "").lower().split("-")
    script = next((p for p in parts[1:] if _SCRIPT.match(p)), None)
    if script in _RTL_SCRIPTS:
        return "rtl"
    if script in _LTR_SCRIPTS:
        return "ltr"
    return "rtl" if parts[0] in _RTL_LANGUAGES else "ltr"


@dataclass(frozen=True)
class TextLanguage:
    """``lang`` and ``dir`` for text in an item's language; both None when it is the page's own (German, left to right)."""

    lang: str | None
    dir: str | None


def text_language(tag: str | None) -> TextLanguage:
    if primary_language(tag) == PAGE_LANGUAGE:
        return TextLanguage(None, None)
    direction = text_direction(tag)
    return TextLanguage(tag, direction if direction == "rtl" else None)


def language_name(tag: str | None) -> str:
    code = primary_language(tag)
    return LANGUAGE_NAMES.get(code, code)


# -- dates -----------------------------------------------------------------------


def local(moment: datetime) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(BERLIN) if BERLIN else moment


def de_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local(value)
    return value.strftime("%d.%m.%Y")


def de_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return local(value).strftime("%d.%m.%Y, %H:%M Uhr")


def iso(value: date | datetime | None) -> str:
    """For ``<time datetime>``: RFC 3339 (a valid global date and time string in HTML)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def period_start_word(start: date, today: date | None = None) -> str:
    """ "ab" for a start still to come, "seit" for one in the past."""
    return "ab" if start > (today or datetime.now(UTC).date()) else "seit"


# -- labels ----------------------------------------------------------------------


def field_label(code: str) -> str:
    return FieldOfAction(code).label


def kind_label(code: str) -> str:
    return Kind(code).label


def status_label(code: str | None) -> str:
    return Status(code).label if code else ""


def centre_name(centre_id: str, fallback: str | None = None) -> str:
    """The registry's short name of a KI of NRW (``KI Kreis Wesel``), else the name given, else the id."""
    entry = registry().get(centre_id)
    if entry is not None:
        return f"KI {entry.name}"
    return fallback or centre_id


def file_size(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return f"{size} Byte"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


MEDIA_LABELS = {
    "application/pdf": "PDF",
    "application/msword": "Word-Dokument",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word-Dokument",
    "application/vnd.ms-excel": "Excel-Tabelle",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel-Tabelle",
    "application/vnd.oasis.opendocument.text": "OpenDocument-Text",
    "application/zip": "ZIP-Archiv",
    "text/html": "Webseite",
    "text/plain": "Text",
    "text/csv": "CSV-Tabelle",
}


def media_label(media_type: str | None) -> str:
    """A media type as a reader knows it: PDF, Bild, Video; the type itself when there is no name for it."""
    if not media_type:
        return ""
    media_type = media_type.lower()
    if media_type in MEDIA_LABELS:
        return MEDIA_LABELS[media_type]
    kind = media_type.split("/", 1)[0]
    return {"image": "Bild", "video": "Video", "audio": "Tonaufnahme"}.get(kind, media_type)


def attachment_note(media_type: str | None, size: int | None) -> str:
    """``PDF, 471 KB``: what a reader wants to know before opening an attachment."""
    return ", ".join(part for part in (media_label(media_type), file_size(size)) if part)


def item_path(item_id: str) -> str:
    """The item page; the id is a URI, percent-encoded whole (slashes too), as in the API."""
    return "/items/" + quote(item_id, safe="")


def api_item_path(item_id: str) -> str:
    return "/api/v1/items/" + quote(item_id, safe="")


LABELS = {
    "field_label": field_label,
    "kind_label": kind_label,
    "status_label": status_label,
    "audience_label": audience_label,
    "programme_label": programme_label,
    "language_name": language_name,
    "centre_name": centre_name,
}
