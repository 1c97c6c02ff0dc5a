"""Messages of ``kisync validate``, in German (default) and English.

Kept apart from the checks: this table is what a translator or a centre's
editor reviews, the checks are what a developer reviews.
"""

from __future__ import annotations

import json
from typing import Any

# (German, English); {f} is the quoted field name, {v} the quoted value.
_TEXT: dict[str, tuple[str, str]] = {
    # reading the file
    "encoding": (
        "Die Datei ist nicht UTF-8-kodiert (ungültiges Byte 0x{byte:02X} an Byte-Position {offset}). "
        "Bitte als UTF-8 speichern.",
        "The file is not UTF-8 encoded (invalid byte 0x{byte:02X} at byte offset {offset}). Please save it as UTF-8.",
    ),
    "encoding_utf16": (
        "Die Datei ist UTF-16-kodiert. Bitte als UTF-8 speichern.",
        "The file is UTF-16 encoded. Please save it as UTF-8.",
    ),
    "empty": ("Die Datei ist leer.", "The file is empty."),
    "json_syntax": ("Kein gültiges JSON: {detail}.", "Not valid JSON: {detail}."),
    "json_constant": (
        "Kein gültiges JSON: {v} ist in JSON nicht erlaubt (null oder eine Zahl verwenden).",
        "Not valid JSON: {v} is not allowed in JSON (use null or a number).",
    ),
    "json_too_deep": ("Das JSON ist zu tief verschachtelt.", "The JSON is nested too deeply."),
    # what the document looks like
    "looks_rss": (
        "Das ist ein RSS-Feed (XML), kein kisync-Austauschdokument (JSON). "
        "RSS-Feeds bindet kisync als Quelle mit „format: feed“ ein.",
        "This is an RSS feed (XML), not a kisync exchange document (JSON). "
        "kisync reads RSS feeds as a source with 'format: feed'.",
    ),
    "looks_atom": (
        "Das ist ein Atom-Feed (XML), kein kisync-Austauschdokument (JSON). "
        "Atom-Feeds bindet kisync als Quelle mit „format: feed“ ein.",
        "This is an Atom feed (XML), not a kisync exchange document (JSON). "
        "kisync reads Atom feeds as a source with 'format: feed'.",
    ),
    "looks_html": (
        "Das ist eine HTML-Seite, kein JSON-Dokument. Stimmt die Adresse?",
        "This is an HTML page, not a JSON document. Is the address right?",
    ),
    "looks_xml": ("Das ist XML, kein JSON-Dokument.", "This is XML, not a JSON document."),
    "looks_jsonfeed": (
        "Das ist ein JSON Feed ({v}), kein kisync-Austauschdokument. "
        "JSON Feeds bindet kisync als Quelle mit „format: feed“ ein.",
        "This is a JSON Feed ({v}), not a kisync exchange document. kisync reads JSON Feeds as a source with "
        "'format: feed'.",
    ),
    "looks_error": (
        "Das ist eine Fehlermeldung des Servers, kein Austauschdokument: {v}",
        "This is an error response from the server, not an exchange document: {v}",
    ),
    "looks_item": (
        "Das ist ein einzelner Eintrag, kein Dokument. Einträge stehen in der Liste „data“ eines Dokuments "
        "mit exchange_version, publisher, generated und data.",
        "This is a single item, not a document. Items go in the 'data' list of a document with "
        "exchange_version, publisher, generated and data.",
    ),
    "looks_item_list": (
        "Oben steht eine Liste von Einträgen. Sie gehört in „data“ eines Dokuments "
        "{{\"exchange_version\": \"1.0\", \"publisher\": …, \"generated\": …, \"data\": […]}}.",
        "The top level is a list of items. It belongs in 'data' of a document "
        "{{\"exchange_version\": \"1.0\", \"publisher\": …, \"generated\": …, \"data\": […]}}.",
    ),
    "not_an_object": (
        "Ein Austauschdokument ist ein JSON-Objekt {{…}} mit exchange_version, publisher, generated und data; "
        "hier steht {what}.",
        "An exchange document is a JSON object {{…}} with exchange_version, publisher, generated and data; "
        "this is {what}.",
    ),
    "unsupported_version": (
        "Version {v} wird nicht unterstützt: kisync liest das Austauschformat 1.x (z. B. „1.0“).",
        "Version {v} not supported: kisync reads exchange format 1.x (e.g. \"1.0\").",
    ),
    # pydantic error types
    "missing": ("Pflichtfeld {f} fehlt.", "Required field {f} is missing."),
    "unknown_field": (
        "Unbekanntes Feld {f}. Eigene Zusatzfelder müssen mit „_“ beginnen.{hint}",
        "Unknown field {f}. Your own extra fields must start with '_'.{hint}",
    ),
    "unknown_field_closed": ("Unbekanntes Feld {f}.{hint}", "Unknown field {f}.{hint}"),
    "tombstone_field": (
        "Feld {f} in einem gelöschten Eintrag (deleted: true): der enthält nur id, kind, origin, created, "
        "modified und via. Bitte {f} entfernen.",
        "Field {f} in a deleted item (deleted: true), which keeps only id, kind, origin, created, modified and "
        "via. Please remove {f}.",
    ),
    "did_you_mean": (" Meinten Sie {v}?", " Did you mean {v}?"),
    "string_type": ("{f} muss Text sein (in Anführungszeichen).", "{f} must be text (in quotes)."),
    "version_type": (
        "{f} muss Text in Anführungszeichen sein: \"1.0\" statt 1.0.",
        "{f} must be text in quotes: \"1.0\", not 1.0.",
    ),
    "string_empty": ("{f} darf nicht leer sein.", "{f} must not be empty."),
    "string_too_short": (
        "{f} ist zu kurz (mindestens {min} Zeichen).",
        "{f} is too short (at least {min} characters).",
    ),
    "string_too_long": (
        "{f} ist zu lang ({actual} Zeichen, höchstens {max}).",
        "{f} is too long ({actual} characters, at most {max}).",
    ),
    "pattern_centre_id": (
        "Zentrumskennung {v} ist ungültig: nur Kleinbuchstaben, Ziffern, Punkt, Unterstrich und Bindestrich, "
        "z. B. „ki-05170“ (KI Kreis Wesel).",
        "Centre id {v} is invalid: lower-case letters, digits, dot, underscore and hyphen only, "
        "e.g. \"ki-05170\" (KI Kreis Wesel).",
    ),
    "pattern_ars": (
        "Regionalschlüssel {v} ist ungültig: 2, 3, 5, 8, 9 oder 12 Ziffern, z. B. „05170“ (Kreis Wesel).",
        "Regional key {v} is invalid: 2, 3, 5, 8, 9 or 12 digits, e.g. \"05170\" (Kreis Wesel).",
    ),
    "pattern_language": (
        "Sprachcode {v} ist ungültig: ein Sprachcode wie „de“, „en“ oder „de-DE“ (mit Bindestrich).",
        "Language {v} is invalid: a language tag like \"de\", \"en\" or \"de-DE\" (with a hyphen).",
    ),
    "pattern_email": (
        "E-Mail-Adresse {v} ist ungültig, z. B. „integration@kreis-wesel.de“.",
        "Email address {v} is invalid, e.g. \"integration@kreis-wesel.de\".",
    ),
    "pattern_phone": (
        "Telefonnummer {v} ist ungültig: nur Ziffern, Leerzeichen und + ( ) / -, z. B. „+49 281 207-0“.",
        "Phone number {v} is invalid: digits, spaces and + ( ) / - only, e.g. \"+49 281 207-0\".",
    ),
    "pattern_media_type": (
        "Medientyp {v} ist ungültig, z. B. „application/pdf“.",
        "Media type {v} is invalid, e.g. \"application/pdf\".",
    ),
    "pattern": ("{f} hat nicht das erwartete Format: {v}.", "{f} does not have the expected format: {v}."),
    "choice": (
        "{f} hat den Wert {v}; erlaubt sind: {allowed}.",
        "{f} has the value {v}; allowed values: {allowed}.",
    ),
    "deleted_value": (
        "{f} ist true bei einem gelöschten Eintrag, sonst false oder weglassen (ohne Anführungszeichen).",
        "{f} is true for a deleted item, otherwise false or left out (without quotes).",
    ),
    "datetime": (
        "{f} muss ein Datum mit Uhrzeit und Zeitzone sein, z. B. 2024-05-01T09:00:00+02:00 (hier: {v}).",
        "{f} must be a date with time and time zone, e.g. 2024-05-01T09:00:00+02:00 (here: {v}).",
    ),
    "date": (
        "{f} muss ein Datum sein, z. B. 2024-05-01 (hier: {v}).",
        "{f} must be a date, e.g. 2024-05-01 (here: {v}).",
    ),
    "date_with_time": (
        "{f} ist ein Datum ohne Uhrzeit, z. B. 2024-05-01 (hier: {v}).",
        "{f} is a date without time, e.g. 2024-05-01 (here: {v}).",
    ),
    "bool": (
        "{f} muss true oder false sein (ohne Anführungszeichen).",
        "{f} must be true or false (without quotes).",
    ),
    "int": ("{f} muss eine ganze Zahl sein.", "{f} must be a whole number."),
    "greater_than_equal": ("{f} muss mindestens {min} sein.", "{f} must be at least {min}."),
    "list_type": ("{f} muss eine Liste sein: [ … ].", "{f} must be a list: [ … ]."),
    "object_type": ("{f} muss ein Objekt sein: {{ … }}.", "{f} must be an object: {{ … }}."),
    "too_long": (
        "{f} hat zu viele Einträge ({actual}, höchstens {max}).",
        "{f} has too many entries ({actual}, at most {max}).",
    ),
    "too_short": (
        "{f} hat zu wenige Einträge ({actual}, mindestens {min}).",
        "{f} has too few entries ({actual}, at least {min}).",
    ),
    "http_url": (
        "{f} muss eine vollständige Adresse mit http:// oder https:// sein, z. B. https://www.kreis-wesel.de/ "
        "(hier: {v}).",
        "{f} must be a full address starting with http:// or https://, e.g. https://www.kreis-wesel.de/ "
        "(here: {v}).",
    ),
    "uri": (
        "{f} muss eine eindeutige, absolute Kennung (URI) sein, z. B. https://www.kreis-wesel.de/projekte/42 "
        "oder urn:ki-05170:projekt:42 (hier: {v}).",
        "{f} must be a unique absolute identifier (URI), e.g. https://www.kreis-wesel.de/projekte/42 "
        "or urn:ki-05170:projekt:42 (here: {v}).",
    ),
    "other": ("{f}: {detail}", "{f}: {detail}"),
    # warnings
    "future_generated": (
        "{f} liegt in der Zukunft ({raw}). Stimmen Uhr und Zeitzone?",
        "{f} is in the future ({raw}). Are the clock and the time zone right?",
    ),
    "future_modified": (
        "{f} liegt mehr als einen Tag in der Zukunft ({raw}): der Eintrag wird beim Import abgelehnt.",
        "{f} is more than a day in the future ({raw}): the item will be refused on import.",
    ),
    "future_created": (
        "{f} liegt mehr als einen Tag in der Zukunft ({raw}). Stimmt das Datum?",
        "{f} is more than a day in the future ({raw}). Is the date right?",
    ),
    "created_after_modified": (
        "{f} ({raw}) liegt nach „modified“ ({other}); „modified“ ist der Zeitpunkt der letzten Änderung.",
        "{f} ({raw}) is after \"modified\" ({other}); \"modified\" is the time of the last change.",
    ),
    "duplicate_id": (
        "Die id {v} kommt mehrfach vor (zuerst in {other}); nur die neueste Fassung wird übernommen.",
        "The id {v} appears more than once (first in {other}); only the newest version is kept.",
    ),
    "no_fields_of_action": (
        "Kein Handlungsfeld (fields_of_action) angegeben: der Eintrag fehlt in Feeds und Statistiken "
        "nach Handlungsfeld. Erlaubt: {allowed}.",
        "No field of action (fields_of_action): the item is missing from feeds and statistics by field of "
        "action. Allowed: {allowed}.",
    ),
    "end_before_start": (
        "{f} ({raw}) liegt vor „start_date“ ({other}).",
        "{f} ({raw}) is before \"start_date\" ({other}).",
    ),
    "event_without_date": (
        "Veranstaltung ohne „start_date“: sie erscheint ohne Termin.",
        "Event without \"start_date\": it is shown without a date.",
    ),
    "foreign_origin": (
        "Herkunft {v} ist nicht der Herausgeber ({other}), aber „complete“ ist true: ein vollständiger Bestand "
        "listet nur die eigenen Einträge des Herausgebers.",
        "Origin {v} is not the publisher ({other}), but \"complete\" is true: a complete snapshot lists only "
        "the publisher's own items.",
    ),
    "empty_snapshot": (
        "„complete“ ist true, aber es gibt keinen aktiven Eintrag: ein Import würde alle bisherigen Einträge von "
        "{v} löschen (die Massenlöschsperre hält das an).",
        "\"complete\" is true but there is no live item: an import would delete all earlier items of {v} "
        "(the mass-deletion guard stops that).",
    ),
    "only_tombstones": (
        "Das Dokument enthält nur Löschungen ({count} gelöschte Einträge, deleted: true). Ist das beabsichtigt?",
        "The document contains only deletions ({count} deleted items, deleted: true). Is that intended?",
    ),
    "duplicate_key": (
        "Feld {f} steht mehrfach im selben Objekt; nur das letzte zählt.",
        "Field {f} appears more than once in the same object; only the last one counts.",
    ),
    "html_in_summary": (
        "{f} ist reiner Text, enthält aber HTML ({v}); die Tags werden als Text angezeigt. "
        "Formatierten Text bitte in „content_html“.",
        "{f} is plain text but contains HTML ({v}); the tags will show as text. Put formatted text in "
        "\"content_html\".",
    ),
    "unknown_code": ("Unbekannter Code {v}. Meinten Sie {other}?", "Unknown code {v}. Did you mean {other}?"),
    "unknown_centre": (
        "{v} ist keine bekannte Kennung eines KI in NRW (ki-<Kreisschlüssel>, z. B. „ki-05170“).",
        "{v} is not a known id of a KI in NRW (ki-<district key>, e.g. \"ki-05170\").",
    ),
    # reading the target
    "file_missing": ("Datei nicht gefunden: {v}", "File not found: {v}"),
    "file_unreadable": ("Datei nicht lesbar: {v} ({detail})", "Cannot read file: {v} ({detail})"),
    "url_scheme": (
        "Nur http- und https-Adressen können abgerufen werden: {v}",
        "Only http and https addresses can be fetched: {v}",
    ),
    "http_status": (
        "Abruf fehlgeschlagen: der Server antwortet mit HTTP {status}.",
        "Fetch failed: the server answered HTTP {status}.",
    ),
    "too_large": (
        "Abruf abgebrochen: das Dokument ist größer als {limit} MiB.",
        "Fetch aborted: the document is larger than {limit} MiB.",
    ),
    "timeout": (
        "Abruf abgebrochen: keine vollständige Antwort nach {seconds:g} Sekunden.",
        "Fetch aborted: no complete answer after {seconds:g} seconds.",
    ),
    "network": ("Abruf fehlgeschlagen: {detail}", "Fetch failed: {detail}"),
    # the summary
    "where": ("Zeile {line}, Spalte {column}", "line {line}, column {column}"),
    "errors_heading": ("Fehler:", "Errors:"),
    "warnings_heading": ("Warnungen:", "Warnings:"),
    "unreadable": ("nicht lesbar", "unreadable"),
    "invalid": ("ungültig", "invalid"),
    "valid": ("gültig", "valid"),
}

# Counted nouns: (German singular, plural, English singular, plural).
_NOUNS = {
    "error": ("Fehler", "Fehler", "error", "errors"),
    "warning": ("Warnung", "Warnungen", "warning", "warnings"),
    "item": ("Eintrag", "Einträge", "item", "items"),
}

# json.JSONDecodeError messages, German; the English ones are json's own.
_JSON_DETAIL_DE = {
    "Expecting value": "hier wird ein Wert erwartet",
    "Expecting ',' delimiter": "hier fehlt ein Komma",
    "Expecting ':' delimiter": "hier fehlt ein Doppelpunkt",
    "Expecting property name enclosed in double quotes": "hier wird ein Feldname in doppelten Anführungszeichen "
    "erwartet (oder ein Komma zu viel vor „}“)",
    "Unterminated string starting at": "Text ohne schließendes Anführungszeichen",
    "Invalid control character at": "Zeilenumbruch oder Steuerzeichen im Text (als \\n schreiben)",
    "Invalid \\escape": "ungültiges Escape mit \\ (ein \\ wird als \\\\ geschrieben)",
    "Invalid \\uXXXX escape": "ungültiges \\u-Escape",
    "Extra data": "nach dem Ende des Dokuments folgt noch etwas",
    "Illegal trailing comma before end of object": "ein Komma zu viel vor „}“",
    "Illegal trailing comma before end of array": "ein Komma zu viel vor „]“",
}


def json_detail_de(message: str) -> str:
    # Some of json's messages go on with the offending character ("Invalid \\escape: 'x'").
    for english, german in _JSON_DETAIL_DE.items():
        if message.startswith(english):
            return german
    return message


def say(lang: str, key: str, **values: Any) -> str:
    german, english = _TEXT[key]
    return (english if lang == "en" else german).format(**values)


def quote(lang: str, value: Any, limit: int = 60) -> str:
    if isinstance(value, dict | list):
        # Never the whole object: pydantic hands the entire document as the input of a missing field.
        text = "{…}" if isinstance(value, dict) else "[…]"
    else:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f'"{text}"' if lang == "en" else f"„{text}“"


def count(lang: str, noun: str, number: int) -> str:
    de_one, de_many, en_one, en_many = _NOUNS[noun]
    if lang == "en":
        return f"{number} {en_one if number == 1 else en_many}"
    return f"{number} {de_one if number == 1 else de_many}"
