"""What the handlers share: settings, engine, caches; kept on the app under typed keys."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from aiohttp import web
from sqlalchemy.engine import Engine

from kisync import __version__
from kisync.config import Settings
from kisync.sources import SourceRegistry
from kisync.web.caching import ChangeSeq, RenderCache
from kisync.web.public import Publication

TriggerSync = Callable[[str], Awaitable[Any]]


@dataclass
class WebContext:
    settings: Settings
    engine: Engine
    publication: Publication
    seq: ChangeSeq
    cache: RenderCache
    sources: SourceRegistry
    admin_token: bytes | None = None

    @property
    def base_url(self) -> str:
        return self.settings.node.base_url.rstrip("/")

    def url(self, path: str, query: str = "") -> str:
        """An absolute URL on this node (feeds and exchange documents need absolute links)."""
        return f"{self.base_url}{path}" + (f"?{query}" if query else "")

    @cached_property
    def salt(self) -> str:
        """What else shapes a representation: a change here must change every ETag."""
        node = self.settings.node
        text = f"{__version__}|{node.centre}|{node.name}|{node.base_url}|{self.publication.publish_contacts}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def admin_token_matches(self, token: str) -> bool:
        assert self.admin_token is not None
        # Constant time: the comparison must not tell how much of a guess was right.
        return hmac.compare_digest(token.encode(), self.admin_token)


CONTEXT = web.AppKey("kisync.context", WebContext)
# The change sequence: an in-process syncer calls app[SEQ].bump(result.last_seq) after a merge.
SEQ = web.AppKey("kisync.seq", ChangeSeq)
# An async callable taking a source id; set by a process that runs a worker.
TRIGGER_SYNC = web.AppKey("kisync.trigger_sync", TriggerSync)


def context(request: web.Request) -> WebContext:
    return request.app[CONTEXT]
