"""An item's ``content_html`` as the item page shows it: allowlisted again, and fitted into the page.

The normalizer sanitized the HTML on the way in (kisync.normalize.html),
so what is stored is already safe. This is the second, independent line:
it re-emits only the normalizer's allowlist of tags and attributes, from
a parse of its own, with every text and attribute escaped again, so a
store filled by an older or buggy normalizer still cannot put markup of
its choosing into the page. On the way it fits the fragment into the page:

- images become links to the image: the pages load nothing from elsewhere
  (no tracking pixel, no request to a third party when a page is opened);
- headings move one level down, below the page's "Beschreibung" (h2), so
  the outline stays in order (WCAG 1.3.1);
- a link without text gets its address as text (WCAG 2.4.4, 4.1.2);
- open elements are closed at the end, so a broken table cannot swallow
  the rest of the page.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser

from kisync.normalize.html import ALLOWED_TAGS, DROPPED_WITH_CONTENT
from kisync.normalize.urls import LINK_SCHEMES, WEB_SCHEMES, clean_url

_VOID = frozenset({"br", "hr"})
_HEADINGS = ("h2", "h3", "h4", "h5", "h6")
_NUMBER_ATTRIBUTES = {"td": ("colspan", "rowspan"), "th": ("colspan", "rowspan")}
# Tags the stored HTML may have that are shown, except the ones handled apart (a, img, headings).
_PLAIN = frozenset(ALLOWED_TAGS - {"a", "img", "h1", *_HEADINGS})


def _numeric(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if value.isdigit() and 0 < len(value) <= 3 and int(value) > 0 else None


class _Rewriter(HTMLParser):
    def __init__(self, heading_offset: int):
        super().__init__(convert_charrefs=True)
        self.heading_offset = heading_offset
        self.out: list[str] = []
        self.open: list[str] = []  # elements emitted and not yet closed
        self.link_text_at: int | None = None  # index in out where the open link's text begins
        self.link_href = ""
        self.skipping = 0  # inside script, style and the like: their content is not text

    # -- elements ----------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in DROPPED_WITH_CONTENT:
            self.skipping += 1
        elif self.skipping:
            return
        elif tag == "img":
            self._image(values)
        elif tag == "a":
            self._link_start(values)
        elif tag in ("h1", *_HEADINGS):
            level = 2 if tag == "h1" else int(tag[1])
            self._open(f"h{min(level + self.heading_offset, 6)}", "")
        elif tag in _VOID:
            self.out.append(f"<{tag}>")
        elif tag in _PLAIN:
            extra = ""
            for name in _NUMBER_ATTRIBUTES.get(tag, ()):
                number = _numeric(values.get(name))
                if number:
                    extra += f' {name}="{number}"'
            self._open(tag, extra)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and tag != "img" and (tag not in DROPPED_WITH_CONTENT or self.skipping):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED_WITH_CONTENT:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping:
            return
        if tag in ("h1", *_HEADINGS):
            tag = next((t for t in reversed(self.open) if t in _HEADINGS), "")
        if tag == "a" and "a" not in self.open:
            self._reset_link()  # the end of a link that had no usable address
        elif tag in self.open:
            while self.open:
                if self._close_top() == tag:
                    break

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        self.out.append(escape(data, quote=False))

    # -- helpers -------------------------------------------------------------------

    def _open(self, tag: str, attributes: str) -> None:
        self.out.append(f"<{tag}{attributes}>")
        self.open.append(tag)

    def _image(self, values: dict[str, str | None]) -> None:
        src = clean_url(values.get("src"), schemes=WEB_SCHEMES)
        alt = " ".join((values.get("alt") or "").split())
        if self.link_text_at is not None or src is None:
            # Inside a link the image was the link's text; without an address only its description is left.
            if alt:
                self.out.append(escape(alt, quote=False))
            return
        text = f"Bild: {alt}" if alt else "Bild"
        self.out.append(f'<a href="{escape(src)}" rel="noopener noreferrer nofollow">{escape(text, quote=False)}</a>')

    def _link_start(self, values: dict[str, str | None]) -> None:
        if self.link_text_at is not None:
            return  # no links inside links
        href = clean_url(values.get("href"), schemes=LINK_SCHEMES)
        self.link_href = href or ""
        if href is not None:
            self._open("a", f' href="{escape(href)}" rel="noopener noreferrer nofollow"')
        self.link_text_at = len(self.out)

    def _reset_link(self) -> None:
        self.link_text_at = None
        self.link_href = ""

    def _close_top(self) -> str:
        name = self.open.pop()
        if name == "a":
            text = "".join(self.out[self.link_text_at or 0 :])
            if not text.strip():
                self.out.append(escape(self.link_href.removeprefix("mailto:"), quote=False))
            self._reset_link()
        self.out.append(f"</{name}>")
        return name

    def result(self) -> str:
        self.close()
        while self.open:
            self._close_top()
        return "".join(self.out)


def display_html(fragment: str | None, *, heading_offset: int = 1) -> str:
    """The stored, sanitized HTML as the item page embeds it (see the module's docstring)."""
    if not fragment:
        return ""
    rewriter = _Rewriter(heading_offset)
    rewriter.feed(fragment)
    return rewriter.result()
