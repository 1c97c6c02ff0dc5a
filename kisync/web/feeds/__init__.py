"""Syndication formats of the merged set: RSS 2.0, Atom 1.0, JSON Feed 1.1.

Each module is a pure function from (feed metadata, items) to bytes; the
handlers in ``kisync.web.syndication`` query and cache.
"""
