"""``kisync validate`` and the JSON position scanner behind its line numbers.

Fixtures are hand-written documents in ``tests/fixtures/validate/``; line
numbers asserted here refer to those files. URLs are served by a real
aiohttp server on loopback.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from kisync import validate
from kisync.cli import main
from kisync.jsonpos import format_path, join_key, locate
from kisync.validate import Report, fetch_document, render_text, validate_text

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "validate"
NOW = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def check(name: str, *, lang: str = "de") -> Report:
    return validate_text(fixture(name), lang=lang, now=NOW)


def where(problems) -> list[tuple[str, int | None, str]]:
    return [(p.path, p.line, p.code) for p in problems]


def item(**fields) -> dict:
    """A valid live item of the KI Kreis Wesel."""
    return {
        "id": "urn:ki-05170:projekt:1",
        "kind": "project",
        "origin": {"id": "ki-05170", "name": "KI Kreis Wesel"},
        "created": "2026-01-01T00:00:00Z",
        "modified": "2026-01-01T00:00:00Z",
        "title": "Rucksack KiTa",
        "fields_of_action": ["elementarbereich"],
        **fields,
    }


def tombstone(**fields) -> dict:
    return {
        "id": "urn:ki-05170:projekt:alt",
        "kind": "project",
        "origin": {"id": "ki-05170", "name": "KI Kreis Wesel"},
        "created": "2025-01-01T00:00:00Z",
        "modified": "2026-01-01T00:00:00Z",
        "deleted": True,
        **fields,
    }


def document(*items: dict, **fields) -> str:
    """A document as indented JSON text: one key per line, so lines are predictable."""
    body = {
        "exchange_version": "1.0",
        "publisher": {"id": "ki-05170", "name": "KI Kreis Wesel"},
        "generated": "2026-05-01T06:00:00+02:00",
        "data": list(items),
        **fields,
    }
    return json.dumps(body, indent=2, ensure_ascii=False)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# -- jsonpos -----------------------------------------------------------------------


def test_locate_maps_nested_values_and_keys():
    text = '{\n  "data": [\n    {"origin": {"id": "ki-05170"}, "tags": ["a", "b"]},\n    {}\n  ],\n  "n": -1.5e3\n}'
    found = locate(text)
    assert found.values[""] == (1, 1)
    assert found.values["data"] == (2, 11)
    assert found.values["data[0]"] == (3, 5)
    assert found.values["data[0].origin"] == (3, 16)
    assert found.values["data[0].origin.id"] == (3, 23)
    assert found.values["data[0].tags"] == (3, 44)
    assert found.values["data[0].tags[1]"] == (3, 50)
    assert found.values["data[1]"] == (4, 5)
    assert found.values["n"] == (6, 8)
    assert found.keys["data[0].origin.id"] == (3, 17)
    assert found.keys["n"] == (6, 3)
    assert "data" not in found.duplicate_keys


def test_locate_escaped_strings_and_odd_keys():
    # Escapes and non-ASCII text before a value must not shift its column:
    # columns count characters, as json.JSONDecodeError does.
    text = '{"a\\"b": "x\\\\\\"y\\u00e4", "ä ö": ["\\n", "}{]["], "plain": "Köln"}'
    found = locate(text)
    assert set(found.values) == {"", '["a\\"b"]', '["ä ö"]', '["ä ö"][0]', '["ä ö"][1]', "plain"}
    assert found.keys['["a\\"b"]'] == (1, 2)
    assert found.values['["a\\"b"]'] == (1, 10)
    assert found.values['["ä ö"][1]'] == (1, 40)
    assert found.values["plain"] == (1, text.index('"Köln"') + 1)
    assert join_key("", "a b") == '["a b"]'
    assert format_path(("data", 3, "origin", "id")) == "data[3].origin.id"
    assert format_path(("x", "key\n")) == 'x["key\\n"]'


def test_locate_top_level_array_crlf_and_empty_containers():
    text = '[\r\n  {},\r\n  [],\r\n  "s",\r\n  null\r\n]'
    found = locate(text)
    assert dict(found.values) == {"": (1, 1), "[0]": (2, 3), "[1]": (3, 3), "[2]": (4, 3), "[3]": (5, 3)}
    assert dict(found.keys) == {}


def test_locate_reports_duplicate_keys_where_the_repeat_is():
    found = locate('{"a": 1,\n "b": {"c": 1, "c": 2},\n "a": 3}')
    assert found.duplicate_keys == [("b.c", "c"), ("a", "a")]
    assert found.keys["a"] == (3, 2)  # the last one counts, as in json.loads
    assert found.values["b.c"] == (2, 21)


def test_locate_deep_nesting_without_recursion():
    depth = 1500
    found = locate("[" * depth + "]" * depth)
    assert found.values["[0]" * (depth - 1)] == (1, depth)


@pytest.mark.parametrize("text", ['{"a": 1,}', '{"a" 1}', "[1 2]", '{"a": [1}', "[1] x", '{"a": tru}', "[1,"])
def test_locate_refuses_invalid_json_with_a_position(text):
    with pytest.raises(json.JSONDecodeError) as raised:
        locate(text)
    assert raised.value.lineno == 1 and raised.value.colno >= 1


def test_locate_ten_megabytes_quickly():
    entries = [item(id=f"urn:ki-05170:projekt:{n}", summary="Sprachförderung \"vor Ort\" " * 20) for n in range(12_000)]
    text = document(*entries)
    assert len(text) > 10_000_000
    started = time.perf_counter()
    found = locate(text)
    elapsed = time.perf_counter() - started
    assert found.values["data[11999].title"] == (line_of(text, '"urn:ki-05170:projekt:11999"') + 8, 16)
    assert elapsed < 10, f"locating 10 MB took {elapsed:.1f} s"
    started = time.perf_counter()
    report = validate_text(text, now=NOW)
    assert report.valid and report.items == 12_000
    assert time.perf_counter() - started < 20


# -- valid documents -----------------------------------------------------------------


def test_valid_document():
    report = check("valid.json")
    assert report.valid
    assert report.errors == [] and report.warnings == []
    assert report.items == 3


def test_byte_order_mark_and_crlf_are_tolerated():
    report = check("bom-crlf.json")
    assert report.valid and report.warnings == []
    text = validate_text("\ufeff" + fixture("valid.json").decode(), now=NOW)
    assert text.valid


def test_minor_versions_of_v1_are_accepted():
    assert validate_text(document(item(), exchange_version="1.5"), now=NOW).valid


# -- errors -----------------------------------------------------------------------------

# Every error in errors.json, in file order: (path, line, code).
ERRORS = [
    ("publisher.id", 3, "string_pattern_mismatch"),
    ("publisher.ars", 3, "string_pattern_mismatch"),
    ("generated", 4, "timezone_aware"),
    ("complete", 5, "bool_parsing"),
    ("links.self", 6, "http_url"),
    ("version", 7, "unknown_field"),
    ("data[0].id", 10, "uri"),
    ("data[0].kind", 11, "enum"),
    ("data[0].created", 13, "timezone_aware"),
    ("data[0].modified", 14, "datetime_from_date_parsing"),
    ("data[0].title", 15, "string_too_short"),
    ("data[0].summary", 16, "string_type"),
    ("data[0].language", 17, "string_pattern_mismatch"),
    ("data[0].fields_of_action", 18, "too_long"),
    ("data[0].tags", 19, "list_type"),
    ("data[0].start_date", 20, "date_from_datetime_parsing"),
    ("data[0].contact.email", 21, "string_pattern_mismatch"),
    ("data[0].contact.phone", 21, "string_pattern_mismatch"),
    ("data[0].contact.fax", 21, "unknown_field"),
    ("data[0].attachments[0].size", 22, "greater_than_equal"),
    ("data[0].titel", 23, "unknown_field"),
    ("data[1].title", 33, "unknown_field"),
    ("data[2]", 35, "model_type"),
    ("data[3].title", 36, "missing"),
    ("data[3].origin", 39, "model_type"),
    ("data[3].deleted", 42, "literal_error"),
    ("data[3].url", 43, "http_url"),
    ("data[3].status", 44, "enum"),
    ("data[3].stauts", 45, "unknown_field"),
]


def test_every_error_is_reported_with_path_and_line():
    report = check("errors.json")
    assert not report.valid
    assert where(report.errors) == ERRORS
    assert all(p.severity == "error" and p.column for p in report.errors)
    assert report.items == 4


def test_columns_point_at_the_value_or_the_unknown_key():
    report = check("errors.json")
    by_path = {p.path: (p.line, p.column) for p in report.errors}
    assert by_path["publisher.id"] == (3, 23)  # the value "KI Wesel"
    assert by_path["data[0].contact.fax"] == (3 + 18, 95)  # the key "fax"
    assert by_path["data[0].titel"] == (23, 7)  # the key, not its value
    assert by_path["data[3].title"] == (36, 5)  # missing: the item that lacks it


def test_unknown_fields_are_found_next_to_other_errors_and_reported_once():
    # data[0] has a dozen other errors, so the model's own after-validator
    # never runs; data[1] is otherwise valid, so it does, and must not double up.
    report = check("errors.json")
    unknown = [p.path for p in report.errors if p.code == "unknown_field"]
    assert unknown == ["version", "data[0].contact.fax", "data[0].titel", "data[1].title", "data[3].stauts"]
    assert "data[0]._intern" not in {p.path for p in report.errors}


def test_messages_in_german_name_the_field_and_say_what_to_write():
    messages = {p.path: p.message for p in check("errors.json").errors}
    assert messages["publisher.id"].startswith("Zentrumskennung „KI Wesel“ ist ungültig")
    assert "„ki-05170“" in messages["publisher.id"]
    assert messages["publisher.ars"].startswith("Regionalschlüssel „5170“ ist ungültig: 2, 3, 5, 8, 9 oder 12 Ziffern")
    assert messages["generated"].startswith("„generated“ muss ein Datum mit Uhrzeit und Zeitzone sein")
    assert "2024-05-01T09:00:00+02:00" in messages["generated"]
    assert messages["complete"] == "„complete“ muss true oder false sein (ohne Anführungszeichen)."
    assert messages["data[0].kind"] == (
        "„kind“ hat den Wert „Projekt“; erlaubt sind: project, best_practice, event, news."
    )
    assert messages["data[0].title"] == "„title“ darf nicht leer sein."
    assert messages["data[0].summary"] == "„summary“ muss Text sein (in Anführungszeichen)."
    assert messages["data[0].language"].startswith("Sprachcode „de_DE“ ist ungültig")
    assert messages["data[0].fields_of_action"] == "„fields_of_action“ hat zu viele Einträge (5, höchstens 4)."
    assert messages["data[0].tags"] == "„tags“ muss eine Liste sein: [ … ]."
    assert messages["data[0].start_date"] == "„start_date“ muss ein Datum sein, z. B. 2024-05-01 (hier: „01.05.2026“)."
    assert messages["data[0].contact.email"].startswith("E-Mail-Adresse „info(at)kreis-wesel.de“ ist ungültig")
    assert messages["data[0].contact.phone"].startswith("Telefonnummer „ruf an“ ist ungültig")
    assert messages["data[0].contact.fax"] == "Unbekanntes Feld „fax“."
    assert messages["data[0].titel"] == (
        "Unbekanntes Feld „titel“. Eigene Zusatzfelder müssen mit „_“ beginnen. Meinten Sie „title“?"
    )
    assert messages["data[1].title"].startswith("Feld „title“ in einem gelöschten Eintrag (deleted: true)")
    assert messages["data[2]"] == "„data[2]“ muss ein Objekt sein: { … }."
    assert messages["data[3].title"] == "Pflichtfeld „title“ fehlt."
    assert messages["data[3].url"].startswith("„url“ muss eine vollständige Adresse mit http:// oder https:// sein")
    assert messages["data[0].id"].startswith("„id“ muss eine eindeutige, absolute Kennung (URI) sein")
    assert messages["data[3].status"].endswith("erlaubt sind: planned, active, completed, inactive.")


def test_messages_in_english():
    report = check("errors.json", lang="en")
    assert where(report.errors) == ERRORS
    messages = {p.path: p.message for p in report.errors}
    assert messages["data[3].title"] == 'Required field "title" is missing.'
    assert messages["data[0].kind"] == '"kind" has the value "Projekt"; allowed values: project, best_practice, event, news.'
    assert messages["data[0].titel"] == (
        "Unknown field \"titel\". Your own extra fields must start with '_'. Did you mean \"title\"?"
    )
    assert messages["generated"].startswith('"generated" must be a date with time and time zone')
    assert messages["publisher.id"].startswith('Centre id "KI Wesel" is invalid')
    assert messages["complete"] == '"complete" must be true or false (without quotes).'


@pytest.mark.parametrize(
    ("fields", "path", "code", "message"),
    [
        ({"title": "x" * 501}, "data[0].title", "string_too_long", "„title“ ist zu lang (501 Zeichen, höchstens 500)."),
        ({"attachments": [{"url": "https://a.de/f.pdf", "size": "groß"}]}, "data[0].attachments[0].size",
         "int_parsing", "„size“ muss eine ganze Zahl sein."),
        ({"fields_of_action": ["schule", "kita"]}, "data[0].fields_of_action[1]", "enum",
         "„fields_of_action[1]“ hat den Wert „kita“; erlaubt sind: querschnitt, elementarbereich, schule, "
         "uebergang_schule_beruf."),
        ({"area_served": ["05170", "0517"]}, "data[0].area_served[1]", "string_pattern_mismatch",
         "Regionalschlüssel „0517“ ist ungültig: 2, 3, 5, 8, 9 oder 12 Ziffern, z. B. „05170“ (Kreis Wesel)."),
        ({"via": ["KI-05154"]}, "data[0].via[0]", "string_pattern_mismatch", "Zentrumskennung „KI-05154“ ist ungültig"),
        ({"contact": {"name": "A. Muster"}}, "data[0].contact.organisation", "missing",
         "Pflichtfeld „organisation“ fehlt."),
        ({"contact": "Frau Muster"}, "data[0].contact", "model_type", "„contact“ muss ein Objekt sein: { … }."),
        ({"end_date": "2026-06-30T10:00:00"}, "data[0].end_date", "date_from_datetime_inexact",
         "„end_date“ ist ein Datum ohne Uhrzeit, z. B. 2024-05-01 (hier: „2026-06-30T10:00:00“)."),
        ({"contact": {"organisation": "KI", "intern": 1}}, "data[0].contact.intern", "unknown_field",
         "Unbekanntes Feld „intern“."),
        ({"origin": {"id": "ki-05170", "name": "KI", "nmae": "x"}}, "data[0].origin.nmae", "unknown_field",
         "Unbekanntes Feld „nmae“. Meinten Sie „name“?"),
    ],
)
def test_error_types_and_their_messages(fields, path, code, message):
    text = document(item(**fields))
    report = validate_text(text, now=NOW)
    assert [(p.path, p.code) for p in report.errors] == [(path, code)]
    assert report.errors[0].message.startswith(message)
    assert report.errors[0].line is not None


def test_extensions_are_allowed_on_every_object():
    text = document(item(contact={"organisation": "KI", "_intern": 1}, origin={"id": "ki-05170", "name": "KI", "_x": 2}))
    report = validate_text(text, now=NOW)
    assert report.errors == []


def test_missing_document_fields_point_at_the_document():
    report = validate_text('{\n  "exchange_version": "1.0",\n  "data": []\n}', now=NOW)
    assert where(report.errors) == [("publisher", 1, "missing"), ("generated", 1, "missing")]


def test_unquoted_version_number_is_a_type_error_with_a_hint():
    text = document(item()).replace('"exchange_version": "1.0"', '"exchange_version": 1.0')
    report = validate_text(text, now=NOW)
    assert where(report.errors) == [("exchange_version", 2, "string_type")]
    assert report.errors[0].message == '„exchange_version“ muss Text in Anführungszeichen sein: "1.0" statt 1.0.'


def test_version_2_is_not_supported():
    report = check("version-2.json")
    assert where(report.errors) == [("exchange_version", 2, "unsupported_version")]
    assert report.errors[0].message.startswith("Version „2.0“ wird nicht unterstützt")
    english = check("version-2.json", lang="en").errors[0].message
    assert english.startswith('Version "2.0" not supported')
    # Nothing else: a 2.x document may be shaped differently ("entries").
    assert len(report.errors) == 1


# -- reading and recognising the file ------------------------------------------------------


def test_json_syntax_error_has_line_and_column():
    report = check("syntax-error.json")
    assert [(p.path, p.line, p.column, p.code) for p in report.errors] == [("", 5, 3, "json_syntax")]
    assert report.errors[0].message == "Kein gültiges JSON: hier fehlt ein Komma (am Ende der vorigen Zeile)."
    english = check("syntax-error.json", lang="en").errors[0].message
    assert english == "Not valid JSON: Expecting ',' delimiter (at the end of the previous line)."


def test_trailing_comma():
    report = validate_text('{\n  "a": 1,\n}', now=NOW)
    assert (report.errors[0].line, report.errors[0].column) == (3, 1)
    assert "Komma zu viel" in report.errors[0].message


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant):
    report = validate_text(f'{{\n  "exchange_version": "1.0",\n  "x": {constant}\n}}', now=NOW)
    assert [(p.line, p.column, p.code) for p in report.errors] == [(3, 8, "json_syntax")]
    assert "ist in JSON nicht erlaubt" in report.errors[0].message


def test_empty_file():
    report = validate_text(b"  \n", now=NOW)
    assert [(p.code, p.message) for p in report.errors] == [("json_syntax", "Die Datei ist leer.")]


def test_too_deeply_nested():
    report = validate_text("[" * 100_000 + "]" * 100_000, now=NOW)
    assert [p.code for p in report.errors] == ["json_syntax"]


def test_non_utf8_file_reports_the_byte_offset():
    raw = fixture("latin1.json")
    offset = raw.index(b"\xf6")
    report = validate_text(raw, now=NOW)
    [problem] = report.errors
    assert (problem.code, problem.line) == ("encoding", 3)
    assert problem.column == raw.split(b"\n")[2].index(b"\xf6") + 1
    assert problem.message == (
        f"Die Datei ist nicht UTF-8-kodiert (ungültiges Byte 0xF6 an Byte-Position {offset}). "
        "Bitte als UTF-8 speichern."
    )


def test_utf16_file():
    raw = "\ufeff" + document(item())
    report = validate_text(raw.encode("utf-16-le"), now=NOW)
    assert [p.code for p in report.errors] == ["encoding"]
    assert "UTF-16" in report.errors[0].message


def test_rss_feed_is_recognised():
    report = check("feed.rss")
    assert where(report.errors) == [("", 1, "wrong_format")]
    assert report.errors[0].message.startswith("Das ist ein RSS-Feed (XML), kein kisync-Austauschdokument")
    assert check("feed.rss", lang="en").errors[0].message.startswith("This is an RSS feed (XML)")


@pytest.mark.parametrize(
    ("body", "start"),
    [
        ('<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom"></feed>', "Das ist ein Atom-Feed"),
        ("<!DOCTYPE html>\n<html><body>Nicht gefunden</body></html>", "Das ist eine HTML-Seite"),
        ('<?xml version="1.0"?><projekte/>', "Das ist XML"),
    ],
)
def test_other_markup_is_recognised(body, start):
    report = validate_text(body, now=NOW)
    assert [p.code for p in report.errors] == ["wrong_format"]
    assert report.errors[0].message.startswith(start)


def test_json_feed_is_recognised():
    report = check("jsonfeed.json")
    assert where(report.errors) == [("", 1, "wrong_format")]
    assert report.errors[0].message.startswith(
        "Das ist ein JSON Feed (https://jsonfeed.org/version/1.1), kein kisync-Austauschdokument"
    )


@pytest.mark.parametrize(
    ("body", "code", "start"),
    [
        (json.dumps([item()]), "not_an_object", "Oben steht eine Liste von Einträgen. Sie gehört in „data“"),
        ("[1, 2]", "not_an_object", "Ein Austauschdokument ist ein JSON-Objekt {…}"),
        ('"1.0"', "not_an_object", "Ein Austauschdokument ist ein JSON-Objekt {…}"),
        (json.dumps(item()), "wrong_format", "Das ist ein einzelner Eintrag, kein Dokument"),
        ('{"error": {"code": "not_found", "message": "no such centre"}}', "wrong_format",
         "Das ist eine Fehlermeldung des Servers, kein Austauschdokument: „no such centre“"),
    ],
)
def test_other_json_shapes_are_explained(body, code, start):
    report = validate_text(body, now=NOW)
    assert [(p.path, p.code) for p in report.errors] == [("", code)]
    assert report.errors[0].message.startswith(start)


# -- warnings -------------------------------------------------------------------------------

WARNINGS = [
    ("data[0].origin.id", 10, "foreign_origin"),
    ("data[1]", 16, "no_fields_of_action"),
    ("data[1].created", 20, "created_after_modified"),
    ("data[1].summary", 23, "html_in_summary"),
    ("data[1].programmes[0]", 24, "unknown_code"),
    ("data[1].end_date", 26, "end_before_start"),
    ("data[2]", 28, "event_without_date"),
    ("data[2].id", 29, "duplicate_id"),
    ("data[2].modified", 33, "future_modified"),
    ("data[2].title", 35, "duplicate_key"),
]


def test_questionable_content_is_a_warning_not_an_error():
    report = check("warnings.json")
    assert report.valid and report.errors == []
    assert where(report.warnings) == WARNINGS
    assert {p.severity for p in report.warnings} == {"warning"}


def test_warning_messages():
    messages = {p.path: p.message for p in check("warnings.json").warnings}
    assert messages["data[2].modified"] == (
        "„modified“ liegt mehr als einen Tag in der Zukunft (2099-01-01T00:00:00+01:00): "
        "der Eintrag wird beim Import abgelehnt."
    )
    assert messages["data[2].id"] == (
        "Die id „urn:ki-05170:projekt:sprachcafe“ kommt mehrfach vor (zuerst in data[1]); "
        "nur die neueste Fassung wird übernommen."
    )
    assert messages["data[1].end_date"] == "„end_date“ (2026-06-30) liegt vor „start_date“ (2026-09-01)."
    assert messages["data[0].origin.id"].startswith("Herkunft „ki-05154“ ist nicht der Herausgeber („ki-05170“)")
    assert messages["data[1].programmes[0]"] == "Unbekannter Code „rucksack-kita“. Meinten Sie „rucksack_kita“?"
    english = {p.path: p.message for p in check("warnings.json", lang="en").warnings}
    assert english["data[2].modified"] == (
        '"modified" is more than a day in the future (2099-01-01T00:00:00+01:00): the item will be refused on import.'
    )
    assert english["data[1]"].startswith("No field of action (fields_of_action)")


def test_future_is_measured_with_a_day_of_grace():
    tomorrow_ish = "2026-05-03T11:00:00Z"  # 23 hours after NOW: clocks differ, fine
    report = validate_text(document(item(modified=tomorrow_ish, created=tomorrow_ish)), now=NOW)
    assert report.warnings == []
    later = "2026-05-04T12:00:00+02:00"
    report = validate_text(document(item(modified=later, created=later)), now=NOW)
    assert [(p.path, p.code) for p in report.warnings] == [
        ("data[0].created", "future_created"),
        ("data[0].modified", "future_modified"),
    ]


def test_future_generated():
    report = validate_text(document(item(), generated="2027-01-01T00:00:00Z"), now=NOW)
    assert where(report.warnings) == [("generated", 7, "future_generated")]


def test_snapshot_without_live_items_would_delete_everything():
    report = validate_text(document(tombstone(), complete=True), now=NOW)
    assert [(p.path, p.code) for p in report.warnings] == [("data", "empty_snapshot")]
    assert "„ki-05170“" in report.warnings[0].message
    report = validate_text(document(complete=True), now=NOW)
    assert [(p.path, p.code) for p in report.warnings] == [("data", "empty_snapshot")]


def test_a_page_of_only_tombstones():
    report = validate_text(document(tombstone()), now=NOW)
    assert report.valid
    assert [(p.path, p.line, p.code) for p in report.warnings] == [("data", 8, "only_tombstones")]


def test_unknown_ki_publisher():
    text = document(item(origin={"id": "ki-99999", "name": "x"}), publisher={"id": "ki-99999", "name": "x"})
    report = validate_text(text, now=NOW)
    assert [(p.path, p.code) for p in report.warnings] == [("publisher.id", "unknown_centre")]


def test_warnings_are_also_given_for_documents_with_errors():
    report = validate_text(document(item(kind="Projekt", fields_of_action=[])), now=NOW)
    assert [p.path for p in report.errors] == ["data[0].kind"]
    assert [p.path for p in report.warnings] == ["data[0].fields_of_action"]


# -- the command ---------------------------------------------------------------------------


def test_cli_exit_codes(capsys):
    assert main(["validate", str(FIXTURES / "valid.json")]) == 0
    assert main(["validate", str(FIXTURES / "warnings.json")]) == 0
    assert main(["validate", str(FIXTURES / "errors.json")]) == 1
    assert main(["validate", str(FIXTURES / "feed.rss")]) == 1
    assert main(["validate", str(FIXTURES / "jsonfeed.json")]) == 1
    assert main(["validate", str(FIXTURES / "latin1.json")]) == 1
    assert main(["validate", str(FIXTURES / "version-2.json")]) == 1
    with pytest.raises(SystemExit) as usage:
        main(["validate", str(FIXTURES / "valid.json"), "--strict"])
    assert usage.value.code == 2
    with pytest.raises(SystemExit) as usage:
        main(["validate", str(FIXTURES / "valid.json"), "--format", "xml"])
    assert usage.value.code == 2
    capsys.readouterr()


def test_cli_text_output(capsys):
    assert main(["validate", str(FIXTURES / "errors.json")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Fehler:"
    assert lines[1].startswith("publisher.id (Zeile 3, Spalte 23): Zentrumskennung „KI Wesel“ ist ungültig")
    assert "data[3].title (Zeile 36, Spalte 5): Pflichtfeld „title“ fehlt." in lines
    assert lines[-3] == "Warnungen:"
    assert lines[-2].startswith("data[3] (Zeile 36, Spalte 5): Kein Handlungsfeld")
    assert lines[-1] == "ungültig: 29 Fehler, 1 Warnung"
    assert len(lines) == 1 + 29 + 1 + 1 + 1


def test_cli_text_output_summaries(capsys):
    main(["validate", str(FIXTURES / "valid.json")])
    assert capsys.readouterr().out == "gültig: 3 Einträge\n"
    main(["validate", str(FIXTURES / "warnings.json"), "--lang", "en"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Warnings:"
    assert out[1].startswith("data[0].origin.id (line 10, column 24): Origin \"ki-05154\" is not the publisher")
    assert out[-1] == "valid: 3 items, 10 warnings"
    main(["validate", str(FIXTURES / "syntax-error.json"), "--lang", "en"])
    assert capsys.readouterr().out.splitlines() == [
        "Errors:",
        "$ (line 5, column 3): Not valid JSON: Expecting ',' delimiter (at the end of the previous line).",
        "invalid: 1 error",
    ]
    one = Report(warnings=[], items=1)
    assert render_text(one) == "gültig: 1 Eintrag"


def test_cli_json_output(capsys):
    target = str(FIXTURES / "errors.json")
    assert main(["validate", target, "--format", "json", "--lang", "en"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert set(body) == {"valid", "target", "items", "errors", "warnings"}
    assert body["valid"] is False and body["target"] == target and body["items"] == 4
    assert [(e["path"], e["line"], e["code"]) for e in body["errors"]] == ERRORS
    assert body["errors"][0] == {
        "path": "publisher.id",
        "line": 3,
        "column": 23,
        "code": "string_pattern_mismatch",
        "message": body["errors"][0]["message"],
    }
    assert body["errors"][0]["message"].startswith('Centre id "KI Wesel" is invalid')
    assert [w["code"] for w in body["warnings"]] == ["no_fields_of_action"]

    assert main(["validate", str(FIXTURES / "valid.json"), "--format", "json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body == {"valid": True, "target": str(FIXTURES / "valid.json"), "items": 3, "errors": [], "warnings": []}


def test_cli_missing_file(capsys, tmp_path):
    missing = str(tmp_path / "gibt-es-nicht.json")
    assert main(["validate", missing]) == 1
    assert capsys.readouterr().out.splitlines() == [f"Datei nicht gefunden: {missing}", "nicht lesbar"]
    assert main(["validate", missing, "--format", "json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["valid"] is False and [e["code"] for e in body["errors"]] == ["unreadable"]
    assert main(["validate", str(tmp_path)]) == 1  # a directory
    assert "Datei nicht lesbar" in capsys.readouterr().out


def test_cli_refuses_other_url_schemes(capsys):
    assert main(["validate", "ftp://www.kreis-wesel.de/ki.json"]) == 1
    assert "Nur http- und https-Adressen" in capsys.readouterr().out


# -- URLs -------------------------------------------------------------------------------------


async def serve(aiohttp_server) -> str:
    async def valid(request: web.Request) -> web.Response:
        return web.Response(body=fixture("valid.json"), content_type="application/json")

    async def too_large_streamed(request: web.Request) -> web.StreamResponse:
        # No Content-Length: the cap must hold while the body streams in.
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b" " * (1024 * 1024)
        for _ in range(validate.MAX_BODY // len(chunk) + 1):
            await response.write(chunk)
        await response.write(b"{}")
        return response

    async def too_large_declared(request: web.Request) -> web.Response:
        return web.Response(body=b" " * (validate.MAX_BODY + 1), content_type="application/json")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="{}")

    app = web.Application()
    app.router.add_get("/valid.json", valid)
    app.router.add_get("/big.json", too_large_streamed)
    app.router.add_get("/declared.json", too_large_declared)
    app.router.add_get("/slow.json", slow)
    server = await aiohttp_server(app)
    return str(server.make_url("/"))


async def run_cli(*args: str) -> int:
    # The CLI runs its own event loop (asyncio.run); the test server lives in this one.
    return await asyncio.to_thread(main, ["validate", *args])


async def test_url_valid_document(aiohttp_server, capsys):
    base = await serve(aiohttp_server)
    assert await fetch_document(base + "valid.json") == fixture("valid.json")
    assert await run_cli(base + "valid.json") == 0
    assert capsys.readouterr().out == "gültig: 3 Einträge\n"


async def test_url_not_found(aiohttp_server, capsys):
    base = await serve(aiohttp_server)
    assert await run_cli(base + "missing.json") == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ["Abruf fehlgeschlagen: der Server antwortet mit HTTP 404 Not Found.", "nicht lesbar"]
    assert await run_cli(base + "missing.json", "--format", "json", "--lang", "en") == 1
    body = json.loads(capsys.readouterr().out)
    assert body["valid"] is False
    assert body["errors"][0]["message"] == "Fetch failed: the server answered HTTP 404 Not Found."


@pytest.mark.parametrize("path", ["big.json", "declared.json"])
async def test_url_body_over_the_cap(aiohttp_server, capsys, path):
    base = await serve(aiohttp_server)
    assert await run_cli(base + path) == 1
    assert capsys.readouterr().out.splitlines()[0] == "Abruf abgebrochen: das Dokument ist größer als 10 MiB."


async def test_url_timeout(aiohttp_server, capsys, monkeypatch):
    base = await serve(aiohttp_server)
    monkeypatch.setattr(validate, "FETCH_TIMEOUT", 0.2)
    assert await run_cli(base + "slow.json", "--lang", "en") == 1
    assert capsys.readouterr().out.splitlines()[0] == "Fetch aborted: no complete answer after 0.2 seconds."


async def test_url_connection_refused(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert await run_cli(f"http://127.0.0.1:{port}/ki.json") == 1
    assert capsys.readouterr().out.startswith("Abruf fehlgeschlagen: ")


# -- the repository's examples --------------------------------------------------------------

# Globbed at collection time: the examples are maintained separately, and
# every one of them must keep passing (or failing) as documented.
EXAMPLES = sorted((REPO / "examples").glob("*.json"))
BROKEN_EXAMPLES = sorted((REPO / "examples" / "broken").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_are_valid(path, capsys):
    assert main(["validate", str(path)]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("path", BROKEN_EXAMPLES, ids=[p.name for p in BROKEN_EXAMPLES])
def test_broken_examples_are_invalid(path, capsys):
    assert main(["validate", str(path)]) == 1, capsys.readouterr().out
