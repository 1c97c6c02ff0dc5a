"""The web side: feeds, the exchange API, admin and operations endpoints (aiohttp)."""

from kisync.web.accesslog import AccessLogger
from kisync.web.app import create_app
from kisync.web.context import SEQ, TRIGGER_SYNC

__all__ = ["SEQ", "TRIGGER_SYNC", "AccessLogger", "create_app"]
