"""Normalize: ParsedDocument -> canonical items (sanitized HTML, UTC dates, clean URLs, ids, classification).

``normalize_document`` is the entry point; the modules beside it are its parts:
``html`` (nh3), ``dates``, ``urls``, ``ids``, ``classify``, ``items``.
"""

from kisync.normalize.classify import DEFAULT_RULES, ClassificationRules, CodeRule, FieldRule
from kisync.normalize.html import html_to_text, sanitize_html
from kisync.normalize.ids import feed_item_id
from kisync.normalize.items import NormalizeContext, NormalizedBatch, normalize_document
from kisync.normalize.urls import clean_url, normalize_feed_url

__all__ = [
    "DEFAULT_RULES",
    "ClassificationRules",
    "CodeRule",
    "FieldRule",
    "NormalizeContext",
    "NormalizedBatch",
    "clean_url",
    "feed_item_id",
    "html_to_text",
    "normalize_document",
    "normalize_feed_url",
    "sanitize_html",
]
