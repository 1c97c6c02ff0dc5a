"""What a fetch hands to the parser and to the scheduler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FetchResult:
    url: str  # the final URL, after redirects
    status: int  # 200, or 304 when the stored validators still hold
    body: bytes | None  # None on 304
    etag: str | None  # validators to store; on a 304 the ones we sent unless the server sent new ones
    last_modified: str | None
    content_type: str | None
    # Freshness hints for the next due time, from Cache-Control max-age or Expires (seconds from now).
    max_age: float | None = None
    elapsed: float = 0.0  # seconds
    fetched_at: datetime | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304
