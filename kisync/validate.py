"""``kisync validate``: check an exchange v1 document and report every problem.

The reader is a centre's web editor fixing a hand-written or CMS-exported
file, so every problem names the field, says where it is (JSON path, line,
column) and what to write instead, in German by default.

``validate_text`` is pure: text in, report out. ``cli_validate`` is the
edge that reads a file or fetches a URL and prints the report.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pydantic
from pydantic import AwareDatetime, TypeAdapter

from kisync import __version__
from kisync.errors import FetchError, Problem
from kisync.jsonpos import Positions, format_path, locate
from kisync.model import (
    SUPPORTED_EXCHANGE_VERSION,
    Attachment,
    Centre,
    Contact,
    Document,
    Funding,
    Identifier,
    Item,
    Links,
    Partner,
    Tombstone,
)
from kisync.store.merge import MAX_FUTURE
from kisync.validate_messages import count, json_detail_de, quote, say
from kisync.vocab import AUDIENCES, PROGRAMMES

# A validator that hangs or fills the memory on a wrong URL helps nobody;
# a real exchange document is far below both limits.
FETCH_TIMEOUT = 30.0
MAX_BODY = 10 * 1024 * 1024

Parts = tuple[str | int, ...]


@dataclass
class Report:
    """Everything ``validate_text`` found; the document is valid when ``errors`` is empty."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    items: int = 0  # entries in ``data``, valid or not
    readable: bool = True  # False when the file or URL could not be read at all

    @property
    def valid(self) -> bool:
        return self.readable and not self.errors


@dataclass
class _Finding:
    """A problem before its path is formatted and its position looked up."""

    parts: Parts
    code: str
    message: str
    severity: str = "error"
    at_key: bool = False  # point at the key (an unknown field), not at its value


# -- validating text -------------------------------------------------------------


def validate_text(text: str | bytes, *, lang: str = "de", now: datetime | None = None) -> Report:
    """Check an exchange v1 document and report every problem, with its JSON path, line and column.

    ``now`` is the moment "in the future" is measured from (default: the
    current time).
    """
    lang = "en" if lang == "en" else "de"
    decoded = _decode(text, lang)
    if isinstance(decoded, Problem):
        return Report(errors=[decoded])
    text = decoded
    looks_like = _sniff_markup(text, lang)
    if looks_like:
        return Report(errors=[Problem("", looks_like, line=1, column=1, code="wrong_format")])
    document = _parse_json(text, lang)
    if isinstance(document, Problem):
        return Report(errors=[document])
    data = document.get("data") if isinstance(document, dict) else None
    items = len(data) if isinstance(data, list) else 0
    shape = _check_shape(document, lang)
    if shape:
        positions = locate(text)
        return Report(errors=[_place(shape, positions)], items=items)

    errors = _model_errors(text, lang) + _unknown_fields(document, lang)
    warnings = _content_warnings(document, lang, now or datetime.now(UTC))
    positions = locate(text)
    duplicates = [
        Problem(path, say(lang, "duplicate_key", f=quote(lang, key)), "warning", *positions.keys[path], "duplicate_key")
        for path, key in positions.duplicate_keys
    ]
    return Report(errors=_placed(errors, positions), warnings=_placed(warnings, positions, duplicates), items=items)


def _decode(raw: str | bytes, lang: str) -> str | Problem:
    if isinstance(raw, str):
        return raw.removeprefix("\ufeff")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Problem("", say(lang, "encoding_utf16"), line=1, column=1, code="encoding")
    # A UTF-8 byte order mark is not JSON (RFC 8259 §8.1) but Windows editors write one.
    skipped = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        return raw[skipped:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = skipped + error.start
        line_start = raw.rfind(b"\n", 0, offset) + 1
        column = len(raw[max(line_start, skipped) : offset].decode("utf-8", "replace")) + 1
        message = say(lang, "encoding", byte=raw[offset], offset=offset)
        return Problem("", message, line=raw.count(b"\n", 0, offset) + 1, column=column, code="encoding")


def _sniff_markup(text: str, lang: str) -> str | None:
    """What an XML or HTML body is, so the message can say so instead of "Expecting value"."""
    head = text[:4096].lstrip().lower()
    if not head.startswith("<"):
        return None
    if "<rss" in head or "<rdf:rdf" in head:
        return say(lang, "looks_rss")
    if "<feed" in head:
        return say(lang, "looks_atom")
    if "<html" in head or "<!doctype html" in head:
        return say(lang, "looks_html")
    return say(lang, "looks_xml")


class _Constant(Exception):
    pass


def _refuse_constant(name: str) -> Any:
    raise _Constant(name)


def _parse_json(text: str, lang: str) -> Any:
    """The parsed value, or the Problem that stops it (a JSON value is never a Problem)."""
    if not text.strip():
        return Problem("", say(lang, "empty"), line=1, column=1, code="json_syntax")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        detail = error.msg if lang == "en" else json_detail_de(error.msg)
        if error.msg == "Expecting ',' delimiter" and not text[error.pos - error.colno + 1 : error.pos].strip():
            # json stops at the next member, but the comma is missing at the end of the line before.
            detail += " (at the end of the previous line)" if lang == "en" else " (am Ende der vorigen Zeile)"
        message = say(lang, "json_syntax", detail=detail)
        return Problem("", message, line=error.lineno, column=error.colno, code="json_syntax")
    except _Constant as constant:
        # json.loads accepts NaN and Infinity, JSON does not; the scanner knows where they are.
        try:
            locate(text)
            line, column = 1, 1
        except json.JSONDecodeError as error:
            line, column = error.lineno, error.colno
        message = say(lang, "json_constant", v=quote(lang, str(constant)))
        return Problem("", message, line=line, column=column, code="json_syntax")
    except RecursionError:
        return Problem("", say(lang, "json_too_deep"), line=1, column=1, code="json_syntax")


def _check_shape(document: Any, lang: str) -> _Finding | None:
    """A problem that makes checking field by field pointless: another format, another version."""
    if isinstance(document, list):
        if document and all(isinstance(entry, dict) and "id" in entry for entry in document):
            return _Finding((), "not_an_object", say(lang, "looks_item_list"))
        what = _json_type(lang, document)
        return _Finding((), "not_an_object", say(lang, "not_an_object", what=what))
    if not isinstance(document, dict):
        return _Finding((), "not_an_object", say(lang, "not_an_object", what=_json_type(lang, document)))
    if "exchange_version" not in document:
        version = document.get("version")
        if isinstance(version, str) and version.startswith("https://jsonfeed.org/version/"):
            return _Finding((), "wrong_format", say(lang, "looks_jsonfeed", v=version))
        if isinstance(document.get("error"), dict):
            detail = document["error"].get("message") or document["error"].get("code") or ""
            return _Finding((), "wrong_format", say(lang, "looks_error", v=quote(lang, detail, 200)))
        if {"id", "kind", "origin"} <= document.keys():
            return _Finding((), "wrong_format", say(lang, "looks_item"))
        return None
    version = document["exchange_version"]
    if isinstance(version, int | float) and not isinstance(version, bool):
        version = str(version)  # 1.0 without quotes: reported as a type error below, 2.0 as unsupported
    if isinstance(version, str) and not SUPPORTED_EXCHANGE_VERSION.match(version.strip()):
        # A 2.x document may be shaped differently: field errors would only mislead.
        message = say(lang, "unsupported_version", v=quote(lang, version))
        return _Finding(("exchange_version",), "unsupported_version", message)
    return None


def _json_type(lang: str, value: Any) -> str:
    names = {
        list: ("eine Liste [ … ]", "a list [ … ]"),
        str: ("ein Text", "a string"),
        bool: ("true/false", "true/false"),
        int: ("eine Zahl", "a number"),
        float: ("eine Zahl", "a number"),
        type(None): ("null", "null"),
        dict: ("ein Objekt", "an object"),
    }
    german, english = names.get(type(value), ("?", "?"))
    return english if lang == "en" else german


# -- model errors ----------------------------------------------------------------

_ITEM_TAGS = ("item", "tombstone")


def _model_errors(text: str, lang: str) -> list[_Finding]:
    try:
        Document.model_validate_json(text)
    except pydantic.ValidationError as error:
        findings = []
        for detail in error.errors(include_url=False):
            # Reported field by field by _unknown_fields: this after-validator
            # runs only when the rest of the item is valid, and names no path.
            if detail["type"] == "unknown_field":
                continue
            findings.append(_translate(detail, lang))
        return findings
    return []


def _item_loc(loc: tuple) -> Parts:
    """Drop the discriminator tag pydantic puts into ``data[i]`` locations."""
    if len(loc) >= 3 and loc[0] == "data" and isinstance(loc[1], int) and loc[2] in _ITEM_TAGS:
        return (*loc[:2], *loc[3:])
    return tuple(loc)


def _field_name(parts: Parts) -> str:
    """The name an editor recognises: the last key, with its index when it is a list element."""
    for index in range(len(parts) - 1, -1, -1):
        if isinstance(parts[index], str):
            return format_path(parts[index:])
    return format_path(parts) or "$"


def _translate(detail: dict, lang: str) -> _Finding:
    parts = _item_loc(detail["loc"])
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    value = detail.get("input")
    name = _field_name(parts)
    f, v = quote(lang, name), quote(lang, value)
    def msg(key: str, **more: Any) -> str:
        return say(lang, key, f=f, v=v, **more)


    if kind == "missing":
        return _Finding(parts, kind, msg("missing"))
    if kind == "extra_forbidden":
        return _Finding(parts, "unknown_field", _unknown_closed_field(parts, lang), at_key=True)
    if kind == "string_type":
        key = "version_type" if parts == ("exchange_version",) else "string_type"
        return _Finding(parts, kind, msg(key))
    if kind == "string_too_short":
        minimum = ctx.get("min_length", 1)
        return _Finding(parts, kind, msg("string_empty") if minimum <= 1 else msg("string_too_short", min=minimum))
    if kind == "string_too_long":
        actual = len(value) if isinstance(value, str) else "?"
        return _Finding(parts, kind, msg("string_too_long", actual=actual, max=ctx.get("max_length")))
    if kind == "string_pattern_mismatch":
        return _Finding(parts, kind, msg(_pattern_message(parts)))
    if kind in ("enum", "literal_error"):
        if parts[-1:] == ("deleted",):
            return _Finding(parts, kind, msg("deleted_value"))
        allowed = ", ".join(re.findall(r"'([^']*)'", ctx.get("expected", ""))) or ctx.get("expected", "")
        return _Finding(parts, kind, msg("choice", allowed=allowed))
    if kind.startswith("datetime") or kind in ("timezone_aware", "timezone_naive"):
        return _Finding(parts, kind, msg("datetime"))
    if kind == "date_from_datetime_inexact":
        return _Finding(parts, kind, msg("date_with_time"))
    if kind.startswith("date"):
        return _Finding(parts, kind, msg("date"))
    if kind in ("bool_type", "bool_parsing"):
        return _Finding(parts, kind, msg("bool"))
    if kind in ("int_type", "int_parsing", "int_from_float", "int_parsing_size"):
        return _Finding(parts, kind, msg("int"))
    if kind == "greater_than_equal":
        return _Finding(parts, kind, msg("greater_than_equal", min=ctx.get("ge")))
    if kind == "list_type":
        return _Finding(parts, kind, msg("list_type"))
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _Finding(parts, kind, msg("object_type"))
    if kind in ("too_long", "too_short"):
        limits = {"actual": ctx.get("actual_length"), "max": ctx.get("max_length"), "min": ctx.get("min_length")}
        return _Finding(parts, kind, msg(kind, **limits))
    if kind in ("http_url", "uri"):
        return _Finding(parts, kind, msg(kind))
    return _Finding(parts, kind, msg("other", detail=detail.get("msg", kind)))


def _pattern_message(parts: Parts) -> str:
    """Which explanation fits a pattern mismatch, from where the value sits."""
    last = parts[-1] if parts else ""
    parent = parts[-2] if len(parts) >= 2 else ""
    if (last == "id" and parent in ("origin", "publisher")) or parent == "via":
        return "pattern_centre_id"
    if last == "ars" or parent == "area_served":
        return "pattern_ars"
    if last in ("language", "email", "phone", "media_type"):
        return f"pattern_{last}"
    return "pattern"


# Models of the closed objects, by the field that holds them, to suggest
# the field an unknown key was probably meant to be.
_CLOSED_MODELS: dict[str, type[pydantic.BaseModel]] = {
    "publisher": Centre,
    "origin": Centre,
    "contact": Contact,
    "partners": Partner,
    "funding": Funding,
    "attachments": Attachment,
    "identifiers": Identifier,
    "links": Links,
}


def _unknown_closed_field(parts: Parts, lang: str) -> str:
    key = str(parts[-1])
    f = quote(lang, key)
    holders = [part for part in parts[:-1] if isinstance(part, str)]
    model = _CLOSED_MODELS.get(holders[-1], Document) if holders else Document
    return say(lang, "unknown_field_closed", f=f, hint=_did_you_mean(lang, key, model.model_fields))


def _did_you_mean(lang: str, key: str, known: Any) -> str:
    close = difflib.get_close_matches(key.lower(), list(known), n=1, cutoff=0.7)
    return say(lang, "did_you_mean", v=quote(lang, close[0])) if close else ""


def _unknown_fields(document: dict, lang: str) -> list[_Finding]:
    """Unknown keys of every object in the document, each at its own path.

    The model's own check (``_Strict._only_extensions``) is an
    after-validator: it runs only once the rest of the object is valid, so a
    typo next to a real error would go unreported until the next round.
    """
    findings = _unknown_keys(document, Document, (), lang)
    data = document.get("data")
    for index, entry in enumerate(data if isinstance(data, list) else []):
        if not isinstance(entry, dict):
            continue
        model = Tombstone if entry.get("deleted") is True else Item
        findings += _unknown_keys(entry, model, ("data", index), lang)
    return findings


def _unknown_keys(value: dict, model: type[pydantic.BaseModel], parts: Parts, lang: str) -> list[_Finding]:
    findings = []
    allowed = model.model_fields
    for key, child in value.items():
        if key.startswith("_"):
            continue  # an extension, allowed on every object
        if key not in allowed:
            f = quote(lang, key)
            if model is Tombstone and key in Item.model_fields:
                message = say(lang, "tombstone_field", f=f)
            elif model in (Item, Tombstone):
                message = say(lang, "unknown_field", f=f, hint=_did_you_mean(lang, key, allowed))
            else:
                message = say(lang, "unknown_field_closed", f=f, hint=_did_you_mean(lang, key, allowed))
            findings.append(_Finding((*parts, key), "unknown_field", message, at_key=True))
            continue
        nested = _CLOSED_MODELS.get(key)
        if nested is None or key == "data":
            continue
        if isinstance(child, dict):
            findings += _unknown_keys(child, nested, (*parts, key), lang)
        elif isinstance(child, list):
            for position, element in enumerate(child):
                if isinstance(element, dict):
                    findings += _unknown_keys(element, nested, (*parts, key, position), lang)
    return findings


# -- warnings ----------------------------------------------------------------------

_MOMENT: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)
_DAY: TypeAdapter[date] = TypeAdapter(date)
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")


def _moment(value: Any) -> datetime | None:
    try:
        return _MOMENT.validate_python(value) if isinstance(value, str) else None
    except pydantic.ValidationError:
        return None


def _day(value: Any) -> date | None:
    try:
        return _DAY.validate_python(value) if isinstance(value, str) else None
    except pydantic.ValidationError:
        return None


@cache
def _known_centres() -> frozenset[str]:
    with resources.files("kisync").joinpath("data/ki-nrw.csv").open(encoding="utf-8") as rows:
        return frozenset(row["id"] for row in csv.DictReader(rows))


def _content_warnings(document: dict, lang: str, now: datetime) -> list[_Finding]:
    """Questionable content that is still valid: each would surprise the editor after import.

    Works on the raw JSON so that it also helps with documents that have
    errors elsewhere; values that do not parse are errors already and are
    skipped here.
    """
    found: list[_Finding] = []

    def warn(parts: Parts, code: str, value: Any = None, **more: Any) -> None:
        name = quote(lang, _field_name(parts))
        message = say(lang, code, f=name, v=quote(lang, value, 200), raw=value, **more)
        found.append(_Finding(parts, code, message, "warning"))

    generated = _moment(document.get("generated"))
    if generated and generated > now + MAX_FUTURE:
        warn(("generated",), "future_generated", document["generated"])

    known_centres = _known_centres()
    publisher = document.get("publisher")
    publisher_id = publisher.get("id") if isinstance(publisher, dict) else None
    if isinstance(publisher_id, str) and publisher_id.startswith("ki-") and publisher_id not in known_centres:
        warn(("publisher", "id"), "unknown_centre", publisher_id)

    data = document.get("data")
    entries = [(i, entry) for i, entry in enumerate(data) if isinstance(entry, dict)] if isinstance(data, list) else []
    first_seen: dict[str, int] = {}
    for index, entry in entries:
        _item_warnings(index, entry, warn, now, lang)
        item_id = entry.get("id")
        if isinstance(item_id, str):
            if item_id in first_seen:
                warn(("data", index, "id"), "duplicate_id", item_id, other=f"data[{first_seen[item_id]}]")
            else:
                first_seen[item_id] = index
        origin = entry.get("origin")
        origin_id = origin.get("id") if isinstance(origin, dict) else None
        snapshot = document.get("complete") is True
        if snapshot and isinstance(origin_id, str) and isinstance(publisher_id, str) and origin_id != publisher_id:
            warn(("data", index, "origin", "id"), "foreign_origin", origin_id, other=quote(lang, publisher_id))

    live = sum(1 for _, entry in entries if entry.get("deleted") is not True)
    deleted = len(entries) - live
    if document.get("complete") is True and isinstance(data, list) and not live:
        warn(("data",), "empty_snapshot", publisher_id or "?")
    elif deleted and not live:
        warn(("data",), "only_tombstones", count=deleted)
    return found


def _item_warnings(index: int, entry: dict, warn: Callable[..., None], now: datetime, lang: str) -> None:
    at = ("data", index)
    created, modified = _moment(entry.get("created")), _moment(entry.get("modified"))
    if modified and modified > now + MAX_FUTURE:
        warn((*at, "modified"), "future_modified", entry["modified"])
    if created and created > now + MAX_FUTURE:
        warn((*at, "created"), "future_created", entry["created"])
    if created and modified and created > modified:
        warn((*at, "created"), "created_after_modified", entry["created"], other=entry["modified"])
    if entry.get("deleted") is True:
        return

    if not entry.get("fields_of_action"):
        where = (*at, "fields_of_action") if "fields_of_action" in entry else at
        warn(where, "no_fields_of_action", allowed="querschnitt, elementarbereich, schule, uebergang_schule_beruf")
    start, end = _day(entry.get("start_date")), _day(entry.get("end_date"))
    if start and end and end < start:
        warn((*at, "end_date"), "end_before_start", entry["end_date"], other=entry["start_date"])
    if entry.get("kind") == "event" and "start_date" not in entry:
        warn(at, "event_without_date")
    summary = entry.get("summary")
    tag = _HTML_TAG.search(summary) if isinstance(summary, str) else None
    if tag:
        warn((*at, "summary"), "html_in_summary", tag.group(0))
    for key, vocabulary in (("audience", AUDIENCES), ("programmes", PROGRAMMES)):
        codes = entry.get(key)
        for position, code in enumerate(codes if isinstance(codes, list) else []):
            if isinstance(code, str) and code not in vocabulary:
                # Free codes are allowed; a near miss of a known one is a typo
                # that splits the statistics per programme or audience.
                close = difflib.get_close_matches(code.lower(), list(vocabulary), n=1, cutoff=0.75)
                if close:
                    warn((*at, key, position), "unknown_code", code, other=quote(lang, close[0]))


# -- positions ---------------------------------------------------------------------


def _place(finding: _Finding, positions: Positions) -> Problem:
    path = format_path(finding.parts)
    where = positions.keys.get(path) if finding.at_key else None
    where = where or positions.nearest(finding.parts)
    line, column = where if where else (None, None)
    return Problem(path, finding.message, finding.severity, line, column, finding.code)


def _placed(findings: list[_Finding], positions: Positions, extra: list[Problem] = ()) -> list[Problem]:
    """Problems in file order, each once."""
    seen: set[tuple[str, str, str]] = set()
    problems = []
    for problem in [_place(finding, positions) for finding in findings] + list(extra):
        if (problem.path, problem.code, problem.message) not in seen:
            seen.add((problem.path, problem.code, problem.message))
            problems.append(problem)
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    return problems


# -- the command -------------------------------------------------------------------


def cli_validate(target: str, output_format: str = "text", lang: str = "de") -> int:
    """``kisync validate TARGET``: print the report; 0 when valid (warnings allowed), else 1."""
    report = validate_target(target, lang=lang)
    print(render_json(report, target) if output_format == "json" else render_text(report, lang))
    return 0 if report.valid else 1


def validate_target(target: str, *, lang: str = "de") -> Report:
    """Read a file or fetch an http(s) URL, then validate it."""
    lang = "en" if lang == "en" else "de"
    try:
        body = asyncio.run(fetch_document(target, lang=lang)) if _is_url(target) else _read_file(target, lang)
    except FetchError as error:
        return Report(errors=[Problem("", str(error), code="unreadable")], readable=False)
    return validate_text(body, lang=lang)


def _is_url(target: str) -> bool:
    return re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", target) is not None


def _read_file(target: str, lang: str) -> bytes:
    try:
        return Path(target).read_bytes()
    except FileNotFoundError:
        raise FetchError(say(lang, "file_missing", v=target)) from None
    except OSError as error:
        raise FetchError(say(lang, "file_unreadable", v=target, detail=error.strerror or error)) from None


async def fetch_document(url: str, *, lang: str = "de") -> bytes:
    """The body at ``url``: http(s) only, at most ``MAX_BODY`` bytes, within ``FETCH_TIMEOUT`` seconds."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise FetchError(say(lang, "url_scheme", v=url))
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
    headers = {"User-Agent": f"kisync/{__version__} (validate)", "Accept": "application/json"}
    try:
        async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session, session.get(url) as response:
            if response.status != 200:
                status = f"{response.status} {response.reason or ''}".strip()
                raise FetchError(say(lang, "http_status", status=status), status=response.status)
            too_large = FetchError(say(lang, "too_large", limit=MAX_BODY // (1024 * 1024)))
            # Content-Length may be absent or wrong (and counts compressed
            # bytes), so the cap is enforced on what actually arrives.
            if (response.content_length or 0) > MAX_BODY:
                raise too_large
            body = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                body += chunk
                if len(body) > MAX_BODY:
                    raise too_large
            return bytes(body)
    except TimeoutError:
        raise FetchError(say(lang, "timeout", seconds=FETCH_TIMEOUT)) from None
    except aiohttp.ClientError as error:
        raise FetchError(say(lang, "network", detail=str(error) or type(error).__name__)) from None


def render_text(report: Report, lang: str = "de") -> str:
    """One line per problem, errors then warnings, then a summary line."""
    lang = "en" if lang == "en" else "de"
    lines = []
    for heading, problems in (("errors_heading", report.errors), ("warnings_heading", report.warnings)):
        if problems and report.readable:
            lines.append(say(lang, heading))
        if report.readable:
            lines += [f"{_where(problem, lang)}: {problem.message}" for problem in problems]
    if not report.readable:
        lines += [problem.message for problem in report.errors]
        lines.append(say(lang, "unreadable"))
    elif report.errors:
        counts = count(lang, "error", len(report.errors))
        if report.warnings:
            counts += ", " + count(lang, "warning", len(report.warnings))
        lines.append(f"{say(lang, 'invalid')}: {counts}")
    else:
        counts = count(lang, "item", report.items)
        if report.warnings:
            counts += ", " + count(lang, "warning", len(report.warnings))
        lines.append(f"{say(lang, 'valid')}: {counts}")
    return "\n".join(lines)


def _where(problem: Problem, lang: str) -> str:
    where = problem.path or "$"
    if problem.line is not None:
        where += f" ({say(lang, 'where', line=problem.line, column=problem.column)})"
    return where


def render_json(report: Report, target: str) -> str:
    def shape(problem: Problem) -> dict[str, Any]:
        return {
            "path": problem.path,
            "line": problem.line,
            "column": problem.column,
            "code": problem.code,
            "message": problem.message,
        }

    body = {
        "valid": report.valid,
        "target": target,
        "items": report.items,
        "errors": [shape(problem) for problem in report.errors],
        "warnings": [shape(problem) for problem in report.warnings],
    }
    return json.dumps(body, ensure_ascii=False, indent=2)
