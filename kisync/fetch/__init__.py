"""Fetching sources: HTTP(S) with aiohttp, and local files below a configured root.

The public surface is ``Fetcher``, ``FetchResult`` and ``user_agent``; errors
are ``kisync.errors.FetchError`` carrying the HTTP status and Retry-After.

Modules: ``http`` (the Fetcher and its redirect loop), ``guard`` (SSRF),
``files`` (local sources), ``body`` (the size cap), ``hints`` (Retry-After,
Cache-Control, Expires), ``failures`` (error messages), ``limits`` (timeouts
and concurrency), ``headers`` and ``urls``.
"""

from kisync.fetch.headers import user_agent
from kisync.fetch.http import Fetcher
from kisync.fetch.types import FetchResult

__all__ = ["FetchResult", "Fetcher", "user_agent"]
