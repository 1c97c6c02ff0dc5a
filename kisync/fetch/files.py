"""Local file sources: a snapshot a centre hand-writes or exports from its CMS into a directory.

Only below ``fetch.file_root``: a source URL can come from the admin API, and
without a root anyone who may add a source could read any file kisync can
(``/etc/passwd``, the config with its database password).
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import stat
import time
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kisync.errors import FetchError
from kisync.fetch.body import too_large
from kisync.fetch.types import FetchResult
from kisync.fetch.urls import scrub

_OFF = "local file sources are off: set fetch.file_root to the directory that holds them"


def local_path(url: str, file_root: str | None) -> Path:
    """The real path a file source names, or FetchError when it is not below ``file_root``.

    Relative paths are relative to the root. Symlinks are resolved before the
    check, so a link inside the root that points outside is refused.
    """
    path = _path_of(url)
    if file_root is None:
        raise FetchError(f"{path}: {_OFF}")
    root = Path(file_root).resolve()
    candidate = path if path.is_absolute() else root / path
    try:
        real = candidate.resolve()
    except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop
        raise FetchError(f"{path}: cannot resolve the path: {error}") from None
    # Containment before existence: "not found" for a path outside the root would tell
    # whoever may add sources which files exist elsewhere on the machine.
    if not real.is_relative_to(root):
        shown = f"{path} (really {real})" if real != candidate else str(path)
        raise FetchError(f"{shown}: outside fetch.file_root ({root}); only files below it may be sources")
    if not real.exists():
        raise FetchError(f"{path}: file not found")
    return real


async def fetch_file(url: str, *, file_root: str | None, etag: str | None, max_body_bytes: int) -> FetchResult:
    """Read a local file source, emulating a conditional GET with an ETag from mtime and size."""
    started = time.monotonic()
    path = local_path(url, file_root)
    # Reading is blocking I/O; a thread keeps the event loop (and the other fetches) moving.
    status, body, tag, modified = await asyncio.to_thread(_read, path, etag, max_body_bytes)
    return FetchResult(
        url=str(path),
        status=status,
        body=body,
        etag=tag,
        last_modified=modified,
        content_type=mimetypes.guess_type(path.name)[0],
        elapsed=time.monotonic() - started,
        fetched_at=datetime.now(UTC),
    )


def file_etag(info: os.stat_result) -> str:
    """Changes whenever the file is rewritten (mtime in ns) or resized; cheap, no hashing of the body."""
    return f'"{info.st_mtime_ns:x}-{info.st_size:x}"'


def _read(path: Path, etag: str | None, cap: int) -> tuple[int, bytes | None, str, str]:
    try:
        # No symlink may be swapped in at the last moment: the path was resolved above.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise FetchError(f"{path}: not a regular file")
            tag = file_etag(info)
            modified = formatdate(info.st_mtime, usegmt=True)
            if etag is not None and etag == tag:
                return 304, None, tag, modified
            if info.st_size > cap:
                raise too_large(cap)
            # Read one byte past the cap: the file may have grown since fstat.
            body = handle.read(cap + 1)
    except FetchError as error:
        raise FetchError(f"{path}: {error}") from None
    except OSError as error:
        raise FetchError(f"{path}: cannot read: {error.strerror or error}") from None
    if len(body) > cap:
        raise FetchError(f"{path}: {too_large(cap)}")
    return 200, body, tag, modified


def _path_of(url: str) -> Path:
    if not url.lower().startswith("file:"):
        return Path(url)
    parts = urlsplit(url)
    # file://host/path would mean a file on another machine; only the local one is ours.
    if parts.netloc not in ("", "localhost"):
        raise FetchError(f"{scrub(url)}: file URLs must name a local path (file:///path), not host {parts.netloc!r}")
    return Path(unquote(parts.path))
