"""Reading a response body under the size cap."""

from __future__ import annotations

import aiohttp

from kisync.errors import FetchError


def too_large(cap: int) -> FetchError:
    return FetchError(f"body larger than {_size(cap)} (fetch.max_body_bytes = {cap})")


async def read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    """The body, decompressed, or FetchError as soon as it grows past ``cap`` bytes.

    The cap bounds memory per fetch. It counts decompressed bytes while they
    stream in (aiohttp inflates chunk by chunk), so a small gzip bomb that
    would inflate to gigabytes is stopped after ``cap`` bytes, never held whole.
    """
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity") and response.content_length is not None and response.content_length > cap:
        # The server told us up front: no need to read a byte of it.
        response.close()
        raise too_large(cap)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > cap:
            response.close()  # drop the connection instead of draining the rest
            raise too_large(cap)
        chunks.append(chunk)
    return b"".join(chunks)


def _size(count: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= factor:
            return f"{count / factor:g} {unit}"
    return f"{count} bytes"
