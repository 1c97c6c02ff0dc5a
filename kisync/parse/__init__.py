"""Parse: bytes of an exchange document, RSS/Atom feed or JSON Feed -> ParsedDocument.

``parse_document`` is the entry point; everything else here is its parts.
"""

from kisync.parse.document import describe_format, parse_document
from kisync.parse.types import FeedEntry, ParsedDocument, ParseWarning

__all__ = ["FeedEntry", "ParseWarning", "ParsedDocument", "describe_format", "parse_document"]
