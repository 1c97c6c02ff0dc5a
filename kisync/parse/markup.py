"""Plain text as HTML, so that every summary and content a parser hands on is HTML."""

from __future__ import annotations

import html


def text_to_html(text: str) -> str:
    """HTML showing the same text: a paragraph per blank-line block, <br> at line breaks."""
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").replace("\r", "\n").split("\n\n")]
    return "".join(f"<p>{html.escape(p, quote=False).replace(chr(10), '<br>')}</p>" for p in paragraphs if p)
