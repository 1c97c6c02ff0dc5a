"""HTML from strangers -> sanitized HTML (nh3) or plain text.

Every format goes through here, exchange items included: a centre's CMS
export is no more trusted than an RSS feed, and our outputs (HTML overview,
RSS, JSON Feed) embed ``content_html`` as it is.

The allowlist is text markup, lists, tables, links and images. Everything
else is stripped, keeping its text; script, style and other elements whose
content is code or chrome lose their content too. Link and image URLs are
made absolute against the item's page and cleaned of tracking parameters
here, because nh3 is the one place that sees every attribute.
"""

from __future__ import annotations

import html
import re
from contextvars import ContextVar

import nh3

from kisync.normalize.urls import LINK_SCHEMES, WEB_SCHEMES, clean_url

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "strong", "em", "b", "i", "u", "s", "sub", "sup", "blockquote", "code", "pre",
        "h2", "h3", "h4", "h5", "h6", "hr",
        "ul", "ol", "li", "dl", "dt", "dd",
        "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
        "a", "img",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# Elements whose content is not text for a reader: removed with everything in them.
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "template", "noscript", "iframe", "frame", "frameset", "noframes", "object",
        "embed", "applet", "svg", "math", "title", "head", "textarea", "select", "button",
    }
)  # fmt: skip
_NUMBER = re.compile(r"\d{1,4}")
# A feed's <h1> is a heading all the same; the page around it has the real h1.
_H1 = re.compile(r"<(/?)h1\b", re.IGNORECASE)
# Block elements we strip keep their text; a space keeps "<div>a</div><div>b</div>" two words.
_STRIPPED_BLOCK = re.compile(
    r"<(?=/?(?:div|section|article|header|footer|main|aside|nav|figure|figcaption|address|center|details|summary|form)\b)",
    re.IGNORECASE,
)

# The page the fragment being cleaned belongs to: nh3's attribute filter is
# a callback without arguments of ours, and one Cleaner serves every call.
_BASE: ContextVar[str | None] = ContextVar("kisync_html_base", default=None)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    # Must not raise: nh3 reports exceptions from here as "unraisable" and
    # strips the attribute, which would hide a bug; we strip it knowingly.
    try:
        if attribute in ("href", "src"):
            # nh3 checks the scheme of absolute URLs before calling us, but
            # not what we return for a relative one: we check it ourselves.
            schemes = WEB_SCHEMES if tag == "img" else LINK_SCHEMES
            return clean_url(value, _BASE.get(), schemes=schemes)
        if attribute in ("width", "height", "colspan", "rowspan"):
            return value.strip() if _NUMBER.fullmatch(value.strip()) else None
        return value
    except Exception:  # see above: never raise from here
        return None


def _still_relative(url: str) -> str | None:
    return None  # the filter made every URL it kept absolute; anything else goes


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_attribute_filter,
    strip_comments=True,
    link_rel="noopener noreferrer",
    url_schemes=set(LINK_SCHEMES),
    url_relative=_still_relative,
)
_TEXT_CLEANER = nh3.Cleaner(tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT), attributes={}, strip_comments=True)


def sanitize_html(fragment: str, base_url: str | None = None) -> str:
    """Sanitized HTML: the allowlist above; URLs absolute against ``base_url``, http(s)/mailto only."""
    if not fragment:
        return ""
    fragment = _STRIPPED_BLOCK.sub(" <", _H1.sub(r"<\1h2", fragment))
    token = _BASE.set(base_url)
    try:
        # Mis-nested input ("<li><table><li>") is repaired differently the
        # second time round; clean until it is stable, so that normalizing
        # an item again leaves it as it is (a relay must not see a change).
        cleaned = _CLEANER.clean(fragment).strip()
        if cleaned == fragment:
            return cleaned  # a fixed point already (a peer's normalized item): a second pass would say so again
        for _ in range(_PASSES):
            again = _CLEANER.clean(cleaned).strip()
            if again == cleaned:
                break
            cleaned = again
        return cleaned
    finally:
        _BASE.reset(token)


# -- plain text ----------------------------------------------------------------

# Block boundaries become spaces, so "<p>Eltern</p><p>Kinder</p>" reads
# "Eltern Kinder", not "ElternKinder". Inline tags join: "Kita<b>s</b>" is "Kitas".
_BLOCK_TAG = re.compile(
    r"<(?=/?(?:p|br|hr|div|section|article|li|dt|dd|tr|td|th|h[1-6]|blockquote|pre|table|caption|ul|ol|dl|img)\b)",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s+")
_MARKUP = re.compile("[<>&\ufeff]")  # markup, or a byte-order mark (the HTML parser drops one at the start)
_PASSES = 6


def html_to_text(fragment: str | None, limit: int) -> str:
    """Plain text: tags stripped, entities decoded, whitespace collapsed, at most ``limit`` characters.

    Repeated until nothing changes, so that the result is a fixed point:
    ``&amp;lt;script&amp;gt;`` decodes to ``<script>`` in one pass, which
    is markup again, and the next pass removes it. A fixed point contains
    no markup and stays as it is when normalized again (idempotence).
    """
    if not fragment:
        return ""
    if not _MARKUP.search(fragment):
        # No tag, entity or '>' to read: what a pass would do to it is what this does (the nh3
        # pass only normalizes line ends and drops NULs, which the steps below do as well).
        return truncate(_SPACE.sub(" ", _CONTROL.sub("", fragment)).strip(), limit)
    text = fragment
    for _ in range(_PASSES):
        cleaned = _text_pass(text, limit)
        # Without markup left, the next pass would be the short way above, which leaves a pass's
        # output as it is: this is the fixed point, no need to run a pass to see it.
        if cleaned == text or not _MARKUP.search(cleaned):
            return cleaned
        text = cleaned
    # Pathological nesting of escapes: give up on the characters that keep
    # changing meaning; what is left is a fixed point of one more pass.
    return _text_pass(text.replace("&", " ").replace("<", " ").replace(">", " "), limit)


def _text_pass(text: str, limit: int) -> str:
    text = _TEXT_CLEANER.clean(_BLOCK_TAG.sub(" <", text))
    text = _CONTROL.sub("", html.unescape(text))
    return truncate(_SPACE.sub(" ", text).strip(), limit)


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary, with "…" when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"
