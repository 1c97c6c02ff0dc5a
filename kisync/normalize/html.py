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
from collections.abc import Callable
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

# Tag names in the regexes below match as re.IGNORECASE matches them, spelled out: a letter
# matches its two cases, and i, k and s also "İ" and "ı", the Kelvin sign and "ſ", the four
# letters beyond ASCII that the flag lets [a-z] match (re docs; a test checks every code
# point). A case-insensitive literal is compared through Unicode lower-casing, and re tries
# every one of an alternation of them at each "<": a third of that cost, the same matches.
_OTHER_CASES = {"i": "\u0130\u0131", "k": "\u212a", "s": "\u017f"}  # İ ı, the Kelvin sign, ſ


def _caseless(name: str) -> str:
    return "".join(f"[{c}{c.upper()}{_OTHER_CASES.get(c, '')}]" if c.isalpha() else re.escape(c) for c in name)


def _before_tag(names: tuple[str, ...]) -> re.Pattern[str]:
    r"""The "<" of a start or end tag named one of ``names``: ``<(?=/?(?:div|form|…)\b)`` with re.IGNORECASE.

    The names are grouped by first letter (``d(?:iv|etails)|f(?:orm|…)``):
    in a lookahead, only whether some alternative matches counts, not which.
    """
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name[0], []).append(name[1:])
    alternatives = "|".join(f"{_caseless(first)}(?:{'|'.join(map(_caseless, rests))})" for first, rests in groups.items())
    return re.compile(rf"<(?=/?(?:{alternatives})\b)")


# A feed's <h1> is a heading all the same; the page around it has the real h1.
_H1 = re.compile(rf"<(/?){_caseless('h1')}\b")
# Block elements we strip keep their text; a space keeps "<div>a</div><div>b</div>" two words.
_STRIPPED_BLOCK = _before_tag(
    (
        "div", "section", "article", "header", "footer", "main", "aside", "nav", "figure", "figcaption", "address",
        "center", "details", "summary", "form",
    )
)  # fmt: skip

# The page the fragment being cleaned belongs to: nh3's attribute filter is
# a callback without arguments of ours, and one Cleaner serves every call.
_BASE: ContextVar[str | None] = ContextVar("kisync_html_base", default=None)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    # Must not raise: nh3 reports exceptions from here as "unraisable" and
    # strips the attribute, which would hide a bug; we strip it knowingly.
    try:
        if tag not in ALLOWED_TAGS:
            return None  # nh3 asks for the attributes of elements it then removes: nothing to clean there
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
            return _fixed_point(cleaned)  # one already (a peer's normalized item): a second pass would say so again
        for _ in range(_PASSES):
            again = _CLEANER.clean(cleaned).strip()
            if again == cleaned:
                return _fixed_point(cleaned)
            cleaned = again
        return cleaned
    finally:
        _BASE.reset(token)


# The sanitizer's latest results that are fixed points, for html_to_text: an item's
# content_html is read as text right after it is sanitized (``_strip_fixed_point``).
# Being a fixed point is a property of the string alone, whichever thread or base
# URL made it, so any entry found here is one; a miss only costs the slow way.
_FIXED_POINTS: dict[str, None] = {}
_FIXED_POINTS_MAX = 16


def _fixed_point(cleaned: str) -> str:
    if len(_FIXED_POINTS) >= _FIXED_POINTS_MAX:
        _FIXED_POINTS.clear()
    _FIXED_POINTS[cleaned] = None
    return cleaned


# -- plain text ----------------------------------------------------------------

# Block boundaries become spaces, so "<p>Eltern</p><p>Kinder</p>" reads
# "Eltern Kinder", not "ElternKinder". Inline tags join: "Kita<b>s</b>" is "Kitas".
_BLOCK_TAG = _before_tag(
    (
        "p", "br", "hr", "div", "section", "article", "li", "dt", "dd", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5",
        "h6", "blockquote", "pre", "table", "caption", "ul", "ol", "dl", "img",
    )
)  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MARKUP = re.compile("[<>&\ufeff]")  # markup, or a byte-order mark (the HTML parser drops one at the start)
# A tag of the sanitizer's output: its attribute values are always in double quotes, and may hold a ">".
# (<(?:[^>"]|"[^"]*")*>, with the loop unrolled: re runs through [^>"]* without trying alternatives.)
_SANITIZED_TAG = re.compile(r'<[^>"]*(?:"[^"]*"[^>"]*)*>')
_PASSES = 6


def _strip_tags(fragment: str) -> str:
    """The text of any HTML (escaped as HTML again), by nh3: it parses the fragment as a browser would."""
    return _TEXT_CLEANER.clean(fragment)


def _strip_fixed_point(fragment: str) -> str:
    """``_strip_tags`` of a fixed point of the sanitizer (spaces added before its block tags allowed), by a regex.

    nh3 would parse it into the tree that it is the serialization of: every
    tag in it is a tag of that tree, none is misnested or moved by the parser
    (it would not be a fixed point otherwise), and its text is escaped as
    nh3 escapes text. So the text nodes, in order and escaped, are what is
    between its tags. Spaces before block tags are whitespace, which the
    parser leaves where it is, in tables too. A third of the cost of nh3;
    a differential test holds the two to the same results.
    """
    return _SANITIZED_TAG.sub("", fragment)


def _collapse_spaces(text: str) -> str:
    # ``re.sub(r"\s+", " ", text).strip()``, without a replacement per run: str.split and
    # the regex \s both take whitespace to be what Py_UNICODE_ISSPACE says it is.
    return " ".join(text.split())


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
        return truncate(_collapse_spaces(_CONTROL.sub("", fragment)), limit)
    text = fragment
    # content_html, just sanitized: its tags can be cut out by a regex, no need to parse it again.
    strip_tags = _strip_fixed_point if fragment in _FIXED_POINTS else _strip_tags
    for _ in range(_PASSES):
        cleaned = _text_pass(text, limit, strip_tags)
        # Without markup left, the next pass would be the short way above, which leaves a pass's
        # output as it is: this is the fixed point, no need to run a pass to see it.
        if cleaned == text or not _MARKUP.search(cleaned):
            return cleaned
        text = cleaned
        strip_tags = _strip_tags
    # Pathological nesting of escapes: give up on the characters that keep
    # changing meaning; what is left is a fixed point of one more pass.
    return _text_pass(text.replace("&", " ").replace("<", " ").replace(">", " "), limit)


def _text_pass(text: str, limit: int, strip_tags: Callable[[str], str] = _strip_tags) -> str:
    text = strip_tags(_BLOCK_TAG.sub(" <", text))
    text = _CONTROL.sub("", html.unescape(text))
    return truncate(_collapse_spaces(text), limit)


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary, with "…" when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"
