"""ParsedDocument -> canonical items: ``normalize_document``.

Pure: no I/O, no clock (``ctx.now`` is the clock). Every entry is handled
on its own; one that cannot become a valid item is a warning and is left
out, the others go on (STYLE.md, convention 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from kisync.model import MAX_CONTENT, MAX_SUMMARY, AnyItem, Attachment, Centre, Item, Tombstone
from kisync.normalize.classify import DEFAULT_RULES, MAX_CLASSIFIED_CHARS, ClassificationRules, classify
from kisync.normalize.dates import UNDATED, entry_dates
from kisync.normalize.html import html_to_text, sanitize_html
from kisync.normalize.ids import feed_item_id
from kisync.normalize.urls import clean_url
from kisync.parse.types import FeedEntry, ParsedDocument, ParseWarning
from kisync.vocab import FieldOfAction, Kind

_ANY_ITEM: TypeAdapter[Item | Tombstone] = TypeAdapter(AnyItem)

MAX_TITLE = 500
# A summary derived from a feed entry's HTML is a teaser, not the text.
MAX_FEED_SUMMARY = 500
# A title invented for an entry without one: the start of its text.
MAX_DERIVED_TITLE = 120
UNTITLED = "Ohne Titel"
MAX_TAGS = 100
MAX_TAG = 100
MAX_ATTACHMENTS = 100


@dataclass(frozen=True, kw_only=True)
class NormalizeContext:
    """What normalization needs to know about the source a document came from."""

    source_id: str
    feed_url: str  # the source's configured URL: feed item ids are minted from it
    centre: Centre  # the origin of feed items
    now: datetime
    # Not used here: exchange items are taken as they come from relays and
    # direct sources alike; the merge applies the origin rules (DESIGN.md).
    relay: bool = False
    default_kind: Kind | None = None  # feed entries; "news" when None
    default_fields: list[FieldOfAction] = field(default_factory=list)  # when no rule matches a feed entry
    rules: ClassificationRules = field(default_factory=lambda: DEFAULT_RULES)


@dataclass
class NormalizedBatch:
    items: list[Item | Tombstone] = field(default_factory=list)
    # Normalization's own warnings; the parser's stay on the ParsedDocument.
    warnings: list[ParseWarning] = field(default_factory=list)


def normalize_document(doc: ParsedDocument, ctx: NormalizeContext) -> NormalizedBatch:
    batch = NormalizedBatch()
    if doc.format == "exchange":
        positions = doc.exchange_positions or list(range(len(doc.exchange_items)))
        for position, raw in zip(positions, doc.exchange_items, strict=False):
            item = normalize_exchange_item(raw, position, ctx, batch.warnings)
            if item is not None:
                batch.items.append(item)
        _warn_duplicates(batch)
        return batch
    undated = 0
    for entry in doc.entries:
        item = normalize_feed_entry(entry, doc, ctx, batch.warnings)
        if item is not None:
            batch.items.append(item)
            undated += item.modified == UNDATED
    _warn_duplicates(batch)
    if undated:
        batch.warnings.append(
            ParseWarning(
                "document",
                f"{undated} {'entry has' if undated == 1 else 'entries have'} no date; "
                f"given the fixed date {UNDATED.date().isoformat()} "
                "so that an unchanged entry stays unchanged from fetch to fetch",
                code="undated",
            )
        )
    return batch


# -- exchange items ------------------------------------------------------------------


def normalize_exchange_item(
    raw: dict[str, Any], position: int, ctx: NormalizeContext, warnings: list[ParseWarning]
) -> Item | Tombstone | None:
    """Validate one raw exchange item; sanitize its HTML, plain-text its summary, clean its URLs.

    Nothing else changes: `modified`, `origin` and `via` are the origin's
    (the merge judges them), classification is the item's own.
    """
    where = f"data[{position}]"
    label = _label(raw, where)
    try:
        item = _ANY_ITEM.validate_python(raw)
    except PydanticValidationError as error:
        warnings.append(ParseWarning(where, f"{label} is invalid and was skipped: {_describe(error)}", code="invalid_item"))
        return None
    if isinstance(item, Tombstone):
        return item
    data = item.model_dump(mode="python", exclude_unset=False)
    data["title"] = html_to_text(item.title, MAX_TITLE)
    if not data["title"]:
        warnings.append(
            ParseWarning(f"{where}.title", f"{label}: the title is empty without its markup; skipped", code="invalid_item")
        )
        return None
    data["summary"] = html_to_text(item.summary, MAX_SUMMARY) or None
    data["url"] = clean_url(item.url)
    data["content_html"] = _content(item.content_html, data["url"] or clean_url(ctx.feed_url), where, warnings)
    data["attachments"] = [a for a in (_clean_attachment(a) for a in data["attachments"]) if a]
    for key in ("partners", "funding"):
        for entry in data[key]:
            entry["url"] = clean_url(entry.get("url"))
    if data.get("contact"):
        data["contact"]["url"] = clean_url(data["contact"].get("url"))
    if item.start_date and item.end_date and item.end_date < item.start_date:
        warnings.append(
            ParseWarning(
                f"{where}.end_date",
                f"{label}: end_date {item.end_date} is before start_date {item.start_date}",
                code="suspicious",
            )
        )
    return _validated(data, where, label, warnings)


def _clean_attachment(attachment: dict[str, Any]) -> dict[str, Any] | None:
    url = clean_url(attachment.get("url"))
    return {**attachment, "url": url} if url else None


def _warn_duplicates(batch: NormalizedBatch) -> None:
    seen: set[str] = set()
    for item in batch.items:
        if item.id in seen:
            # Not an error: the version order picks one (DESIGN.md), but the publisher should know.
            batch.warnings.append(
                ParseWarning(item.id, "the document lists this id (or guid) more than once", code="duplicate_id")
            )
        seen.add(item.id)


# -- feed entries --------------------------------------------------------------------


def normalize_feed_entry(
    entry: FeedEntry, doc: ParsedDocument, ctx: NormalizeContext, warnings: list[ParseWarning]
) -> Item | None:
    where = f"entry {entry.position}"
    item_id = feed_item_id(ctx.feed_url, entry.guid, entry.link)
    if item_id is None:
        warnings.append(ParseWarning(where, "neither a guid/id nor a usable link: it cannot be tracked; skipped"))
        return None
    base = clean_url(ctx.feed_url)
    url = clean_url(entry.link, base)
    page = url or base  # relative links in the content are relative to the entry's page

    content_html = _content(entry.content or entry.summary, page, where, warnings)
    summary_source = entry.summary if entry.summary else content_html
    summary = html_to_text(summary_source, MAX_FEED_SUMMARY) or None
    # Only classification and a missing title read it, and neither past its start.
    content_text = html_to_text(content_html, MAX_CLASSIFIED_CHARS)
    title = html_to_text(entry.title, MAX_TITLE) or _derived_title(summary or content_text)

    dates = entry_dates(entry.published, entry.updated, ctx.now)
    if dates.clamped:
        warnings.append(
            ParseWarning(where, "a date more than a day in the future; set to the start of today", code="future_date")
        )
    tags = _tags(entry.categories)
    classification = classify(
        ctx.rules or DEFAULT_RULES,
        texts=[title, summary or "", content_text],
        categories=entry.categories,
        default_fields=ctx.default_fields,
    )
    data: dict[str, Any] = {
        "id": item_id,
        "kind": ctx.default_kind or Kind.news,
        "origin": ctx.centre,
        "created": dates.created,
        "modified": dates.modified,
        "title": title,
        "summary": summary,
        "content_html": content_html,
        "url": url,
        "language": normalize_language(entry.language or doc.feed_language),
        "fields_of_action": classification.fields_of_action,
        "audience": classification.audience,
        "programmes": classification.programmes,
        "tags": tags,
        "attachments": _attachments(entry.attachments, page, where, warnings),
        "via": [],
        "_classification": classification.record,
    }
    item = _validated(data, where, _label({"id": item_id}, where), warnings)
    return item if isinstance(item, Item) else None


def _derived_title(text: str | None) -> str:
    # html_to_text, not just truncate: the cut must be a fixed point too (idempotence).
    return html_to_text(text, MAX_DERIVED_TITLE) or UNTITLED


def _tags(categories: list[str]) -> list[str]:
    tags: list[str] = []
    seen: set[str] = set()
    for category in categories:
        tag = html_to_text(category, MAX_TAG)
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tags[:MAX_TAGS]


def _attachments(raw: list[dict[str, Any]], base: str | None, where: str, warnings: list[ParseWarning]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for attachment in raw[:MAX_ATTACHMENTS]:
        url = clean_url(attachment.get("url"), base)
        if url is None:
            continue
        candidate = {"url": url}
        for key in ("title", "media_type", "size"):
            if attachment.get(key) is not None:
                candidate[key] = html_to_text(attachment[key], 500) if key == "title" else attachment[key]
        try:
            result.append(Attachment.model_validate(candidate).model_dump(mode="json", exclude_none=True))
        except PydanticValidationError:
            # Keep the file, drop what is wrong about it (a media type like "PDF", a size of "12 KB").
            result.append({"url": url})
            warnings.append(
                ParseWarning(where, f"attachment {url}: unusable title, type or size; kept the link only", code="bad_attachment")
            )
    return result


# -- shared ---------------------------------------------------------------------------


def _content(html: str | None, base: str | None, where: str, warnings: list[ParseWarning]) -> str | None:
    """Sanitized HTML that fits the model's limit, or None when nothing is left."""
    if not html:
        return None
    cleaned = sanitize_html(html, base)
    if len(cleaned) > MAX_CONTENT:
        warnings.append(ParseWarning(where, f"content longer than {MAX_CONTENT} characters; cut", code="content_cut"))
    # Cut and clean again (nh3 closes what the cut left open); closing tags
    # can take the result over the limit again, so cut shorter each round.
    limit = MAX_CONTENT
    while len(cleaned) > MAX_CONTENT and limit > 0:
        cleaned = sanitize_html(cleaned[:limit], base)
        limit -= 5_000
    return cleaned if cleaned and len(cleaned) <= MAX_CONTENT else None


def normalize_language(tag: str | None) -> str:
    """A BCP 47 tag in its usual case ("de-de" -> "de-DE"), "de" when missing or invalid."""
    if not tag:
        return "de"
    parts = tag.strip().replace("_", "-").split("-")
    if not (2 <= len(parts[0]) <= 3 and parts[0].isascii() and parts[0].isalpha()):
        return "de"
    result = [parts[0].lower()]
    for part in parts[1:]:
        if not (1 <= len(part) <= 8 and part.isascii() and part.isalnum()):
            return "de"
        if len(part) == 2 and part.isalpha():
            result.append(part.upper())  # region
        elif len(part) == 4 and part.isalpha():
            result.append(part.title())  # script
        else:
            result.append(part.lower())
    return "-".join(result)


def _validated(data: dict[str, Any], where: str, label: str, warnings: list[ParseWarning]) -> Item | Tombstone | None:
    try:
        return _ANY_ITEM.validate_python(data)
    except PydanticValidationError as error:
        warnings.append(
            ParseWarning(
                where, f"{label} is invalid after normalization and was skipped: {_describe(error)}", code="invalid_item"
            )
        )
        return None


def _label(raw: dict[str, Any], where: str) -> str:
    item_id = raw.get("id")
    return f"item {str(item_id)[:200]!r}" if isinstance(item_id, str) and item_id else f"the item at {where}"


def _describe(error: PydanticValidationError, limit: int = 5) -> str:
    """``title: Field required; kind: Input should be ...`` for the first few problems."""
    problems = []
    for problem in error.errors()[:limit]:
        # The discriminated union puts the branch ("item"/"tombstone") first in loc.
        loc = [str(part) for part in problem["loc"]]
        if loc and loc[0] in ("item", "tombstone"):
            loc = loc[1:]
        path = ".".join(loc) or "item"
        problems.append(f"{path}: {problem['msg']}")
    more = error.error_count() - limit
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")
