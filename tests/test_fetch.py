"""kisync.fetch against real servers on loopback.

Every byte these tests send goes to 127.0.0.0/8. The SSRF guard is tested by
letting exactly the test server's (address, port) through and checking that
everything else on loopback is refused before a connection is made; public
and private addresses are only ever classified, never contacted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import shutil
import socket
import ssl
import subprocess
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict, CIMultiDictProxy

from kisync.config import FetchSettings
from kisync.errors import FetchError
from kisync.fetch import Fetcher, FetchResult, user_agent
from kisync.fetch.files import local_path
from kisync.fetch.guard import AddressGuard, GuardedResolver, ip_literal, refusal_reason
from kisync.fetch.headers import ACCEPT
from kisync.fetch.hints import max_age, retry_after
from kisync.fetch.limits import Timeouts
from kisync.fetch.urls import redact, source_kind

FIXTURES = Path(__file__).parent / "fixtures" / "fetch"
SNAPSHOT = (FIXTURES / "snapshot.json").read_bytes()
UA = user_agent("0.1.0", "https://contact.example")
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 01 May 2024 06:00:00 GMT"
MiB = 1 << 20

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# -- the test server -----------------------------------------------------------


@dataclass
class State:
    """What the test server saw."""

    requests: list[tuple[str, CIMultiDictProxy[str]]] = field(default_factory=list)  # (path, headers) of each request
    active: int = 0  # requests being answered right now
    peak: int = 0  # the most answered at once
    bomb_sent: int = 0  # compressed bytes of the gzip bomb written


STATE = web.AppKey("state", State)


def make_app(state: State | None = None) -> web.Application:
    app = web.Application()
    app[STATE] = state if state is not None else State()

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        request.app[STATE].requests.append((request.path, request.headers.copy()))
        return await handler(request)

    app.middlewares.append(record)
    app.router.add_get("/feed", feed)
    app.router.add_get("/feed-new-etag", feed_new_etag)
    app.router.add_get("/gzip", compressed(31, "gzip"))
    app.router.add_get("/deflate", compressed(15, "deflate"))
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/cache", cache)
    app.router.add_get("/drip", drip)
    app.router.add_get("/big", big)
    app.router.add_get("/big-stream", big_stream)
    app.router.add_get("/bomb", bomb)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/loop/{name}", loop)
    app.router.add_get("/chain/{n}", chain)
    app.router.add_get("/slow", slow)
    return app


async def feed(request: web.Request) -> web.Response:
    if request.headers.get("If-None-Match") == ETAG:
        return web.Response(status=304)
    return web.Response(body=SNAPSHOT, content_type="application/json", headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED})


async def feed_new_etag(request: web.Request) -> web.Response:
    return web.Response(status=304, headers={"ETag": '"v2"', "Last-Modified": "Thu, 02 May 2024 06:00:00 GMT"})


def compressed(wbits: int, coding: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
        body = compressor.compress(SNAPSHOT) + compressor.flush()
        return web.Response(body=body, headers={"Content-Encoding": coding, "Content-Type": "application/json"})

    return handler


async def status(request: web.Request) -> web.Response:
    headers = {}
    if "retry_after" in request.query:
        headers["Retry-After"] = request.query["retry_after"]
    return web.Response(status=int(request.match_info["code"]), text="nope", headers=headers)


async def cache(request: web.Request) -> web.Response:
    headers = {
        name: request.query[key] for key, name in [("cc", "Cache-Control"), ("expires", "Expires")] if key in request.query
    }
    return web.Response(body=SNAPSHOT, content_type="application/json", headers=headers)


async def drip(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    for _ in range(30):
        await response.write(b" ")
        await asyncio.sleep(1)
    return response


async def big(request: web.Request) -> web.Response:
    return web.Response(body=bytes(2 * MiB), content_type="application/json")


async def big_stream(request: web.Request) -> web.StreamResponse:
    # Chunked, no Content-Length: the cap must be enforced by counting.
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        for _ in range(64):
            await response.write(bytes(64 * 1024))
    except ConnectionError:
        pass
    return response


async def bomb(request: web.Request) -> web.StreamResponse:
    """1 GiB of zeros, gzip-compressed (about 1 MiB on the wire), made lazily one MiB at a time."""
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    await response.prepare(request)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MiB)
    try:
        for _ in range(1024):
            chunk = compressor.compress(zeros)
            if chunk:
                await response.write(chunk)
                request.app[STATE].bomb_sent += len(chunk)
            # Server and client share one event loop here: let the client read (and hang up).
            await asyncio.sleep(0)
        await response.write(compressor.flush())
    except ConnectionError:
        pass  # the client hung up, as it should
    return response


async def redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.query.get("to", "/feed"))


async def loop(request: web.Request) -> web.Response:
    raise web.HTTPFound("/loop/b" if request.match_info["name"] == "a" else "/loop/a")


async def chain(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently(f"/chain/{int(request.match_info['n']) + 1}")


async def slow(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.active += 1
    state.peak = max(state.peak, state.active)
    try:
        await asyncio.sleep(0.15)
    finally:
        state.active -= 1
    return web.json_response({})


@pytest.fixture
async def server(aiohttp_server) -> TestServer:
    return await aiohttp_server(make_app())


def settings(**overrides: object) -> FetchSettings:
    values: dict[str, object] = {"connect_timeout": 2, "total_timeout": 5, "max_body_bytes": MiB}
    values.update(overrides)
    return FetchSettings(**values)


@asynccontextmanager
async def fetcher(*servers: TestServer, ports: tuple[int, ...] = (), **overrides: object) -> AsyncIterator[Fetcher]:
    """A Fetcher with the guard on, letting through only the given loopback servers."""
    allowed = [("127.0.0.1", s.port) for s in servers] + [("127.0.0.1", p) for p in ports]
    async with Fetcher(settings(**overrides), user_agent=UA, allow_addresses=allowed) as opened:
        yield opened


def url(server: TestServer, path: str) -> str:
    return str(server.make_url(path))


@asynccontextmanager
async def raw_server(handle, host: str = "127.0.0.1") -> AsyncIterator[int]:
    """A bare TCP server for answers aiohttp's server will not give (truncated bodies, silence)."""
    handlers: set[asyncio.Task] = set()
    writers: set[asyncio.StreamWriter] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())
        writers.add(writer)
        try:
            await handle(reader, writer)
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()

    tcp = await asyncio.start_server(tracked, host, 0)
    try:
        yield tcp.sockets[0].getsockname()[1]
    finally:
        tcp.close()
        for writer in writers:
            writer.close()  # ends handlers still waiting on a read
        await asyncio.gather(*handlers, return_exceptions=True)
        await tcp.wait_closed()


# -- success, validators, encodings ---------------------------------------------


async def test_200_returns_body_and_validators(server):
    async with fetcher(server) as f:
        result = await f.fetch(url(server, "/feed"))
    assert isinstance(result, FetchResult)
    assert (result.status, result.body, result.etag, result.last_modified) == (200, SNAPSHOT, ETAG, LAST_MODIFIED)
    assert result.content_type.startswith("application/json")
    assert result.url == url(server, "/feed")
    assert result.fetched_at is not None and result.elapsed > 0
    assert not result.not_modified


async def test_second_fetch_is_conditional_and_gets_304(server):
    async with fetcher(server) as f:
        first = await f.fetch(url(server, "/feed"))
        second = await f.fetch(url(server, "/feed"), etag=first.etag, last_modified=first.last_modified)
    assert (second.status, second.body, second.etag, second.last_modified) == (304, None, ETAG, LAST_MODIFIED)
    assert second.not_modified
    sent = server.app[STATE].requests[-1][1]
    assert sent["If-None-Match"] == ETAG
    assert sent["If-Modified-Since"] == LAST_MODIFIED
    assert "If-None-Match" not in server.app[STATE].requests[0][1]


async def test_304_carries_new_validators_when_the_server_sends_them(server):
    async with fetcher(server) as f:
        result = await f.fetch(url(server, "/feed-new-etag"), etag=ETAG, last_modified=LAST_MODIFIED)
    assert (result.status, result.etag, result.last_modified) == (304, '"v2"', "Thu, 02 May 2024 06:00:00 GMT")


@pytest.mark.parametrize("path", ["/gzip", "/deflate"])
async def test_compressed_bodies_are_decompressed(server, path):
    async with fetcher(server) as f:
        result = await f.fetch(url(server, path))
    assert result.body == SNAPSHOT
    assert json.loads(result.body)["publisher"]["id"] == "ki-05170"


async def test_user_agent_accept_and_encoding_headers_are_sent(server):
    async with fetcher(server) as f:
        await f.fetch(url(server, "/feed"))
    sent = server.app[STATE].requests[0][1]
    assert sent["User-Agent"] == "kisync/0.1.0 (+https://contact.example)"
    assert sent["Accept"] == ACCEPT
    for media_type in ["application/json", "application/feed+json", "application/atom+xml", "application/rss+xml"]:
        assert media_type in sent["Accept"]
    assert "q=" in sent["Accept"]
    assert sent["Accept-Encoding"] == "gzip, deflate"


def test_user_agent_names_version_and_contact():
    assert user_agent("1.2.3", "https://ki.example/kontakt") == "kisync/1.2.3 (+https://ki.example/kontakt)"


# -- statuses and hints ---------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "words"),
    [(404, "not found"), (410, "gone"), (500, "server error"), (502, "server error"), (403, "forbidden"), (418, "client error")],
)
async def test_error_statuses_raise_fetch_error(server, code, words):
    target = url(server, f"/status/{code}")
    async with fetcher(server) as f:
        with pytest.raises(FetchError) as caught:
            await f.fetch(target)
    assert caught.value.status == code
    assert words in str(caught.value)
    assert target in str(caught.value) and f"HTTP {code}" in str(caught.value)
    assert caught.value.retry_after is None


@pytest.mark.parametrize("code", [429, 503])
async def test_retry_after_seconds(server, code):
    async with fetcher(server) as f:
        with pytest.raises(FetchError) as caught:
            await f.fetch(url(server, f"/status/{code}?retry_after=120"))
    assert (caught.value.status, caught.value.retry_after) == (code, 120)
    assert "retry after 120 s" in str(caught.value)


async def test_retry_after_http_date(server):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=300), usegmt=True)
    async with fetcher(server) as f:
        with pytest.raises(FetchError) as caught:
            await f.fetch(url(server, "/status/429?retry_after=" + when.replace(" ", "%20")))
    assert 295 <= caught.value.retry_after <= 300


async def test_garbage_retry_after_is_no_hint(server):
    async with fetcher(server) as f:
        with pytest.raises(FetchError) as caught:
            await f.fetch(url(server, "/status/503?retry_after=soon"))
    assert (caught.value.status, caught.value.retry_after) == (503, None)


async def test_cache_control_and_expires_give_max_age(server):
    expires = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True).replace(" ", "%20")
    async with fetcher(server) as f:
        by_max_age = await f.fetch(url(server, "/cache?cc=public,%20max-age=900,%20s-maxage=60"))
        by_expires = await f.fetch(url(server, f"/cache?expires={expires}"))
        no_store = await f.fetch(url(server, "/cache?cc=no-store"))
        none = await f.fetch(url(server, "/cache"))
    assert by_max_age.max_age == 900
    assert 7190 <= by_expires.max_age <= 7200
    assert no_store.max_age == 0
    assert none.max_age is None


def _headers(**values: str) -> CIMultiDict:
    return CIMultiDict((name.replace("_", "-"), value) for name, value in values.items())


NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (_headers(Cache_Control="max-age=300"), 300),
        (_headers(Cache_Control='private, max-age="60"'), 60),
        (_headers(Cache_Control="s-maxage=10"), None),
        (_headers(Cache_Control="s-maxage=10, max-age=600"), 600),
        (_headers(Cache_Control="no-cache"), 0),
        (_headers(Cache_Control="max-age=600, no-store"), 0),
        (_headers(Cache_Control="max-age=abc"), None),
        (_headers(Cache_Control="max-age=-5"), None),
        (_headers(Cache_Control="max-age=300", Age="100"), 200),
        (_headers(Cache_Control="max-age=300", Age="900"), 0),
        (_headers(Expires="Wed, 01 May 2024 13:00:00 GMT"), 3600),
        (_headers(Expires="Wed, 01 May 2024 13:00:00 GMT", Date="Wed, 01 May 2024 12:30:00 GMT"), 1800),
        (_headers(Expires="Wed, 01 May 2024 11:00:00 GMT"), 0),
        (_headers(Expires="0"), None),
        (_headers(Expires="never"), None),
        (_headers(Cache_Control="max-age=120", Expires="Wed, 01 May 2024 13:00:00 GMT"), 120),
        (_headers(Cache_Control="max-age=bogus", Expires="Wed, 01 May 2024 13:00:00 GMT"), 3600),
        (_headers(), None),
    ],
)
def test_max_age_parsing(headers, expected):
    assert max_age(headers, NOW) == expected


def test_max_age_reads_every_cache_control_header():
    headers = CIMultiDict([("Cache-Control", "public"), ("Cache-Control", "max-age=42")])
    assert max_age(headers, NOW) == 42


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120),
        ("0", 0),
        ("Wed, 01 May 2024 12:10:00 GMT", 600),
        ("Wednesday, 01-May-24 12:10:00 GMT", 600),
        ("Wed May  1 12:10:00 2024", 600),
        ("Wed, 01 May 2024 11:00:00 GMT", 0),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_parsing(value, expected):
    assert retry_after(value, NOW) == expected


# -- timeouts and broken bodies -------------------------------------------------


@pytest.fixture
def unanswered_port():
    """A loopback port whose listen backlog is full: SYNs are dropped, so connecting hangs."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(16):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.settimeout(0.2)
        try:
            filler.connect(("127.0.0.1", port))
        except TimeoutError:
            filler.close()
            break
        fillers.append(filler)
    else:
        pytest.fail("could not fill the listen backlog")
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


async def test_connect_timeout(unanswered_port):
    async with fetcher(ports=(unanswered_port,), connect_timeout=0.5, total_timeout=5) as f:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"connect timeout after 0\.5 s") as caught:
            await f.fetch(f"http://127.0.0.1:{unanswered_port}/feed")
    assert time.monotonic() - started < 2
    assert caught.value.status is None


async def test_read_timeout_when_the_server_never_answers():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up
        writer.close()

    async with raw_server(silent) as port, fetcher(ports=(port,), connect_timeout=0.5, total_timeout=2) as f:
        with pytest.raises(FetchError, match=r"read timed out after 1 s"):
            await f.fetch(f"http://127.0.0.1:{port}/feed")


def test_read_timeout_is_derived_from_the_settings():
    assert Timeouts.from_settings(FetchSettings()) == Timeouts(connect=10, read=30, total=60)
    assert Timeouts.from_settings(FetchSettings(connect_timeout=5, total_timeout=6)).read == 5


async def test_total_timeout_stops_a_dripping_server(server):
    # One byte a second keeps every read alive; only the total budget ends it.
    async with fetcher(server, connect_timeout=2, total_timeout=2) as f:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"timed out after 2 s in all") as caught:
            await f.fetch(url(server, "/drip"))
    assert 1.9 <= time.monotonic() - started < 3.5
    assert url(server, "/drip") in str(caught.value)


async def test_truncated_body():
    async def truncated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + SNAPSHOT[:100])
        await writer.drain()
        writer.close()

    async with raw_server(truncated) as port, fetcher(ports=(port,)) as f:
        with pytest.raises(FetchError, match="body incomplete"):
            await f.fetch(f"http://127.0.0.1:{port}/feed")


async def test_connection_refused_is_clear():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    async with fetcher(ports=(port,)) as f:
        with pytest.raises(FetchError, match="connection refused"):
            await f.fetch(f"http://127.0.0.1:{port}/feed")


async def test_tls_to_a_plain_http_port_is_a_clear_tls_error(server):
    async with fetcher(server) as f:
        with pytest.raises(FetchError, match="TLS error: the server does not speak TLS on this port") as caught:
            await f.fetch(url(server, "/feed").replace("http://", "https://"))
    assert caught.value.status is None


@pytest.fixture
def self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a certificate no one trusts, made by the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_untrusted_certificate_is_a_clear_tls_error(aiohttp_server, self_signed):
    tls = await aiohttp_server(make_app(), ssl=self_signed)
    async with fetcher(tls) as f:
        with pytest.raises(FetchError, match="TLS certificate not accepted: self.signed certificate"):
            await f.fetch(f"https://127.0.0.1:{tls.port}/feed")
    assert tls.app[STATE].requests == []


# -- the body cap ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
async def test_body_over_the_cap(server, path):
    async with fetcher(server, max_body_bytes=MiB) as f:
        with pytest.raises(FetchError, match=r"body larger than 1 MiB \(fetch.max_body_bytes = 1048576\)"):
            await f.fetch(url(server, path))


async def test_gzip_bomb_is_stopped_early_without_buffering(server):
    async with fetcher(server, max_body_bytes=MiB) as f:
        tracemalloc.start()
        started = time.monotonic()
        try:
            with pytest.raises(FetchError, match="body larger than 1 MiB"):
                await f.fetch(url(server, "/bomb"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert time.monotonic() - started < 3
    assert peak < 16 * MiB  # the whole bomb would be 1 GiB
    await asyncio.sleep(0.1)  # let the server notice the hang-up
    assert server.app[STATE].bomb_sent < 4 * MiB  # the server never got to send most of it


async def test_body_at_the_cap_is_fine(server):
    async with fetcher(server, max_body_bytes=len(SNAPSHOT)) as f:
        result = await f.fetch(url(server, "/gzip"))
    assert result.body == SNAPSHOT


# -- redirects ------------------------------------------------------------------


async def test_redirect_is_followed(server):
    async with fetcher(server) as f:
        result = await f.fetch(url(server, "/redirect?to=/feed"))
    assert (result.status, result.body, result.url) == (200, SNAPSHOT, url(server, "/feed"))


async def test_redirect_loop(server):
    async with fetcher(server, max_redirects=10) as f:
        with pytest.raises(FetchError, match="redirect loop") as caught:
            await f.fetch(url(server, "/loop/a"))
    assert "/loop/a -> " in str(caught.value) and "/loop/b -> " in str(caught.value)
    assert len(server.app[STATE].requests) == 2


async def test_too_many_redirects(server):
    async with fetcher(server, max_redirects=3) as f:
        with pytest.raises(FetchError, match=r"more than 3 redirects \(fetch.max_redirects\)"):
            await f.fetch(url(server, "/chain/0"))
    assert [path for path, _ in server.app[STATE].requests] == ["/chain/0", "/chain/1", "/chain/2", "/chain/3"]


async def test_max_redirects_zero_refuses_any_redirect(server):
    async with fetcher(server, max_redirects=0) as f:
        with pytest.raises(FetchError, match="more than 0 redirects"):
            await f.fetch(url(server, "/redirect?to=/feed"))


async def test_redirect_to_another_scheme_is_refused(server):
    async with fetcher(server) as f:
        with pytest.raises(FetchError, match="redirect to a ftp URL refused"):
            await f.fetch(url(server, "/redirect?to=ftp://127.0.0.1/feed"))


# -- the SSRF guard -------------------------------------------------------------


@pytest.fixture
async def bystander() -> AsyncIterator[tuple[int, list[str]]]:
    """A server on 127.0.0.2 that records every connection: the guard must keep it at zero."""
    connections: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append("connected")
        writer.close()

    async with raw_server(handle, host="127.0.0.2") as port:
        yield port, connections


async def test_loopback_is_refused_without_the_setting(server):
    async with Fetcher(settings(), user_agent=UA) as f:
        with pytest.raises(FetchError) as caught:
            await f.fetch(url(server, "/feed"))
    message = str(caught.value)
    assert "127.0.0.1" in message and "loopback" in message and "fetch.allow_private_networks" in message
    assert server.app[STATE].requests == []


async def test_allow_private_networks_lets_loopback_through(server):
    async with Fetcher(settings(allow_private_networks=True), user_agent=UA) as f:
        result = await f.fetch(url(server, "/feed"))
    assert result.status == 200


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.2:{port}/feed", "http://[::ffff:127.0.0.2]:{port}/feed", "http://2130706434:{port}/feed"],
)
async def test_redirect_to_an_internal_ip_literal_is_refused_before_connecting(server, bystander, target):
    port, connections = bystander
    target = target.format(port=port)
    async with fetcher(server) as f:
        with pytest.raises(FetchError) as caught:
            await f.fetch(url(server, "/redirect?to=" + target))
    message = str(caught.value)
    assert "127.0.0.2" in message and "loopback" in message and "fetch.allow_private_networks" in message
    assert "redirected from" in message
    await asyncio.sleep(0.05)
    assert connections == []


async def test_redirect_to_a_name_resolving_to_loopback_is_refused(server, bystander):
    # "localhost" goes through the resolver (not the literal check); no port of it is allowed.
    port, connections = bystander
    async with fetcher(server) as f:
        with pytest.raises(FetchError, match=r"host localhost resolves to .*loopback.*fetch.allow_private_networks"):
            await f.fetch(url(server, f"/redirect?to=http://localhost:{port}/feed"))
    assert connections == []


async def test_redirect_to_an_allowed_address_is_followed(server, aiohttp_server):
    other = await aiohttp_server(make_app())
    async with fetcher(server, other) as f:
        result = await f.fetch(url(server, "/redirect?to=" + url(other, "/feed")))
    assert result.url == url(other, "/feed")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.9.9.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.5.4", "private"),
        ("192.168.178.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "private"),  # documentation range
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "private"),  # NAT64 to 10.0.0.1
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("not-an-ip", "not an IP address"),
    ],
)
def test_internal_addresses_are_refused(address, reason):
    assert reason in (refusal_reason(address) or "")


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_pass(address):
    assert refusal_reason(address) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("example.org", None),
        ("cafe.de", None),
        ("deadbeef", None),
    ],
)
def test_ip_literal_recognises_every_spelling(host, expected):
    found = ip_literal(host)
    assert (str(found) if found else None) == expected


def test_guard_checks_ip_literal_urls_without_network():
    from yarl import URL

    guard = AddressGuard(allowed=[("127.0.0.1", 8080)])
    guard.check_url(URL("http://127.0.0.1:8080/feed"))  # the allowed exact pair
    guard.check_url(URL("https://example.org/feed"))  # names are the resolver's job
    for refused in ["http://127.0.0.1:8081/", "http://10.0.0.1/", "http://[::ffff:10.0.0.1]/", "http://169.254.169.254/latest"]:
        with pytest.raises(FetchError, match="refused by the SSRF guard.*fetch.allow_private_networks"):
            guard.check_url(URL(refused))


class FixedDNS(AbstractResolver):
    """Answers from a table instead of DNS, to test the resolver's filter on addresses we must not contact."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in self.table[host]
        ]

    async def close(self) -> None:
        pass


async def test_resolver_refuses_names_with_any_internal_address():
    dns = FixedDNS(
        {
            "public.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
            "rebind.example": ["93.184.215.14", "10.0.0.1"],
            "metadata.example": ["169.254.169.254"],
            "mapped.example": ["::ffff:127.0.0.1"],
        }
    )
    resolver = GuardedResolver(AddressGuard(), dns)
    assert len(await resolver.resolve("public.example", 443)) == 2
    for host, address in [
        ("rebind.example", "10.0.0.1"),
        ("metadata.example", "169.254.169.254"),
        ("mapped.example", "127.0.0.1"),
    ]:
        with pytest.raises(FetchError, match=f"host {host} resolves to .*{address}.*fetch.allow_private_networks"):
            await resolver.resolve(host, 443)


# -- concurrency ----------------------------------------------------------------


async def test_per_host_concurrency_is_respected(server):
    async with fetcher(server, per_host_concurrency=2, concurrency=16) as f:
        await asyncio.gather(*(f.fetch(url(server, "/slow")) for _ in range(6)))
    assert server.app[STATE].peak == 2


async def test_global_concurrency_is_respected(aiohttp_server):
    shared = State()
    servers = [await aiohttp_server(make_app(shared)) for _ in range(2)]
    async with fetcher(*servers, per_host_concurrency=2, concurrency=3) as f:
        await asyncio.gather(*(f.fetch(url(s, "/slow")) for s in servers for _ in range(4)))
    assert shared.peak == 3


async def test_queued_fetches_do_not_spend_their_timeout_waiting(server):
    # Six fetches of 0.15 s through one slot take 0.9 s, far beyond a 0.5 s budget each.
    async with fetcher(server, per_host_concurrency=1, concurrency=1, connect_timeout=0.5, total_timeout=0.5) as f:
        results = await asyncio.gather(*(f.fetch(url(server, "/slow")) for _ in range(6)))
    assert all(r.status == 200 for r in results)


# -- userinfo never shows -------------------------------------------------------


async def test_userinfo_never_appears_in_errors_results_or_logs(server, caplog):
    caplog.set_level(logging.DEBUG, logger="kisync.fetch")
    secret = "s3cr3t-pa55"

    def with_userinfo(path: str) -> str:
        return url(server, path).replace("http://", f"http://centre:{secret}@", 1)

    async with fetcher(server) as f:
        ok = await f.fetch(with_userinfo("/redirect?to=/feed"))
        errors = []
        for path in ["/status/404", "/loop/a", "/chain/0", f"/redirect?to=http://centre:{secret}@127.0.0.2:1/"]:
            with pytest.raises(FetchError) as caught:
                await f.fetch(with_userinfo(path))
            errors.append(str(caught.value))
    async with fetcher() as f:  # nothing allowed: the guard refuses the test server
        with pytest.raises(FetchError) as caught:
            await f.fetch(with_userinfo("/feed"))
        errors.append(str(caught.value))
        with pytest.raises(FetchError) as caught:
            await f.fetch(f"ftp://centre:{secret}@127.0.0.1/feed")
        errors.append(str(caught.value))
    assert ok.url == url(server, "/feed")
    assert server.app[STATE].requests[0][1]["Authorization"].startswith("Basic ")  # the credentials were used…
    for text in [*errors, ok.url, caplog.text]:
        assert secret not in text  # …but never shown
        assert "centre:" not in text
    assert any("/loop/a" in e for e in errors)


def test_redact_strips_userinfo():
    assert redact("https://user:pw@ki.example/feed?x=1") == "https://ki.example/feed?x=1"
    assert redact("https://token@ki.example/") == "https://ki.example/"
    assert redact("https://ki.example/a@b") == "https://ki.example/a@b"


# -- local files ----------------------------------------------------------------


@pytest.fixture
def file_root(tmp_path: Path) -> Path:
    root = tmp_path / "feeds"
    root.mkdir()
    (root / "snapshot.json").write_bytes(SNAPSHOT)
    (tmp_path / "secret.json").write_text('{"password": "x"}')
    return root


async def test_local_file_below_the_root(file_root):
    async with fetcher(file_root=str(file_root)) as f:
        by_path = await f.fetch(str(file_root / "snapshot.json"))
        by_url = await f.fetch((file_root / "snapshot.json").as_uri())
        relative = await f.fetch("snapshot.json")
    for result in (by_path, by_url, relative):
        assert (result.status, result.body, result.content_type) == (200, SNAPSHOT, "application/json")
        assert result.etag and result.last_modified
    assert by_path.url == str((file_root / "snapshot.json").resolve())


async def test_local_file_304_emulation(file_root):
    path = file_root / "snapshot.json"
    async with fetcher(file_root=str(file_root)) as f:
        first = await f.fetch(str(path))
        second = await f.fetch(str(path), etag=first.etag)
        path.write_bytes(SNAPSHOT + b"\n")
        third = await f.fetch(str(path), etag=first.etag)
    assert (second.status, second.body, second.etag) == (304, None, first.etag)
    assert third.status == 200 and third.etag != first.etag


@pytest.mark.parametrize("name", ["../secret.json", "{tmp}/secret.json", "{tmp}/no-such-file.json", "/etc/passwd"])
async def test_local_file_outside_the_root_is_refused(file_root, name):
    name = name.format(tmp=file_root.parent)
    async with fetcher(file_root=str(file_root)) as f:
        with pytest.raises(FetchError, match=r"outside fetch.file_root") as caught:
            await f.fetch(name)
    assert name in str(caught.value)


async def test_symlink_escaping_the_root_is_refused(file_root):
    (file_root / "escape.json").symlink_to(file_root.parent / "secret.json")
    (file_root / "inside.json").symlink_to(file_root / "snapshot.json")
    async with fetcher(file_root=str(file_root)) as f:
        with pytest.raises(FetchError, match=r"escape.json \(really .*secret.json\): outside fetch.file_root"):
            await f.fetch(str(file_root / "escape.json"))
        assert (await f.fetch(str(file_root / "inside.json"))).body == SNAPSHOT


async def test_files_are_refused_without_a_root(file_root):
    async with fetcher() as f:
        with pytest.raises(FetchError, match=r"snapshot.json: local file sources are off: set fetch.file_root"):
            await f.fetch(str(file_root / "snapshot.json"))


async def test_local_file_over_the_cap(file_root):
    async with fetcher(file_root=str(file_root), max_body_bytes=100) as f:
        with pytest.raises(FetchError, match=r"snapshot.json: body larger than 100 bytes"):
            await f.fetch(str(file_root / "snapshot.json"))


async def test_missing_file_and_directory(file_root):
    async with fetcher(file_root=str(file_root)) as f:
        with pytest.raises(FetchError, match="file not found"):
            await f.fetch("missing.json")
        with pytest.raises(FetchError, match="not a regular file|cannot read"):
            await f.fetch(str(file_root))


def test_file_url_with_a_remote_host_is_refused(file_root):
    with pytest.raises(FetchError, match="must name a local path"):
        local_path("file://fileserver/share/feed.json", str(file_root))


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("https://ki.example/feed", "http"),
        ("HTTP://ki.example/", "http"),
        ("feeds/a.json", "file"),
        ("/srv/a.json", "file"),
        ("file:///srv/a.json", "file"),
        ("snapshot:2024.json", "file"),
    ],
)
def test_source_kind(source, kind):
    assert source_kind(source) == kind


async def test_unsupported_scheme_is_refused():
    async with fetcher() as f:
        with pytest.raises(FetchError, match="scheme 'ftp' not supported"):
            await f.fetch("ftp://ki.example/feed.json")


async def test_concurrency_slots_bound_hosts_and_total_and_forget_idle_hosts():
    from kisync.fetch.limits import ConcurrencyLimits

    limits = ConcurrencyLimits(total=3, per_host=2)
    running: dict[str, int] = {}
    peak = {"a": 0, "b": 0, "c": 0, "all": 0}

    async def fetch(host: str, fail: bool = False) -> None:
        async with limits.slot(host):
            running[host] = running.get(host, 0) + 1
            peak[host] = max(peak[host], running[host])
            peak["all"] = max(peak["all"], sum(running.values()))
            await asyncio.sleep(0.01)
            running[host] -= 1
            if fail:
                raise ValueError("boom")

    results = await asyncio.gather(*(fetch(h, fail=i % 4 == 0) for i, h in enumerate("aaaaabbbbbccc")),
                                   return_exceptions=True)
    assert sum(isinstance(r, ValueError) for r in results) == 4
    assert peak["a"] == 2 and peak["b"] <= 2 and peak["c"] <= 2 and peak["all"] == 3
    assert limits._hosts == {}

    # A fetch cancelled while it waits for its host's slot gives nothing back that it did not take.
    async with limits.slot("a"), limits.slot("a"):
        waiting = asyncio.ensure_future(fetch("a"))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    assert limits._hosts == {}
    await asyncio.gather(*(fetch("a") for _ in range(3)))  # every slot is free again
    assert limits._hosts == {}
