"""CSV for spreadsheets, as German Excel opens it with a double click.

German Excel reads a file without asking when it is UTF-8 *with* a byte
order mark (else it guesses Windows-1252 and breaks umlauts), separated by
semicolons (the list separator of the German locale, where the comma is
the decimal mark), with CRLF line ends. Dates are written as ``TT.MM.JJJJ``
so Excel recognises them as dates; codes become their German labels.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kisync.model import Item
from kisync.vocab import FieldOfAction, Kind, Status, audience_label, programme_label

MEDIA_TYPE = "text/csv; charset=utf-8"
FILENAME = "kisync-projekte.csv"
BOM = "\ufeff"

try:
    BERLIN: ZoneInfo | None = ZoneInfo("Europe/Berlin")
except ZoneInfoNotFoundError:  # a system without time zone data: UTC then
    BERLIN = None

HEADERS = [
    "Titel",
    "Zentrum",
    "Art",
    "Handlungsfelder",
    "Zielgruppen",
    "Programme",
    "Status",
    "Beginn",
    "Ende",
    "Sprache",
    "Link",
    "Geändert",
    "Schlagwörter",
    "Zusammenfassung",
    "Kontakt (Organisation)",
]
PERSONAL_HEADERS = ["Ansprechperson", "E-Mail", "Telefon"]
ID_HEADER = "ID"

# A cell that starts with one of these is a formula to a spreadsheet: text
# from other centres must not run as one (OWASP, "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str | None) -> str:
    text = (value or "").replace("\r\n", "\n")
    return "'" + text if text.startswith(_FORMULA_START) else text


def _date(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


def _datetime(value: datetime) -> str:
    local = value.astimezone(BERLIN) if BERLIN else value
    return local.strftime("%d.%m.%Y %H:%M")


def _row(item: Item, personal: bool) -> list[str]:
    contact = item.contact
    row = [
        item.title,
        item.origin.name,
        Kind(item.kind).label,
        ", ".join(FieldOfAction(f).label for f in item.fields_of_action),
        ", ".join(audience_label(a) for a in item.audience),
        ", ".join(programme_label(p) for p in item.programmes),
        Status(item.status).label if item.status else "",
        _date(item.start_date),
        _date(item.end_date),
        item.language,
        item.url or "",
        _datetime(item.modified),
        ", ".join(item.tags),
        item.summary or "",
        contact.organisation if contact else "",
    ]
    if personal:
        row += [contact.name or "", contact.email or "", contact.phone or ""] if contact else ["", "", ""]
    row.append(item.id)
    return [_cell(value) for value in row]


def render_csv(items: Iterable[Item], *, personal: bool) -> bytes:
    """The items as CSV; the personal contact columns only where contacts are published."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADERS + (PERSONAL_HEADERS if personal else []) + [ID_HEADER])
    for item in items:
        writer.writerow(_row(item, personal))
    return out.getvalue().encode("utf-8")
