"""The access log: one JSON line per request with the same fields whichever way it is written."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re

import pytest

from kisync.logs import JsonFormatter, configure_logging
from kisync.web import accesslog
from kisync.web.accesslog import RUNNER_OPTIONS, direct_json_handlers

pytest_plugins = ["tests.test_web_support"]

FIELDS = ["time", "level", "logger", "message", "method", "path", "status", "bytes", "duration_ms", "remote"]


@pytest.fixture
def json_log():
    """``kisync serve``'s logging (INFO, JSON lines) into a buffer; the kisync logger restored afterwards.

    Configured when the test calls it: pytest attaches its capturing handlers to the logger once the test starts.
    """
    root = logging.getLogger("kisync")
    saved = (root.handlers[:], root.level, root.propagate)

    def start() -> io.StringIO:
        stream = io.StringIO()
        configure_logging("INFO", "json", stream)
        return stream

    yield start
    root.handlers[:], root.level, root.propagate = saved


async def access_lines(stream: io.StringIO, count: int) -> list[dict]:
    # The line is written after the answer has left: give the server a moment.
    for _ in range(100):
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        lines = [line for line in lines if line["logger"] == "kisync.web.access"]
        if len(lines) >= count:
            return lines
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {count} access lines, got {stream.getvalue()!r}")


async def test_one_json_line_per_request_with_its_fields(make_client, populated_store, json_log):
    stream = json_log()
    assert direct_json_handlers(logging.getLogger("kisync.web.access")) == logging.getLogger("kisync").handlers
    client = await make_client(server_kwargs=RUNNER_OPTIONS)
    body = await (await client.get("/feed.rss?field=schule", auto_decompress=False)).read()
    await client.get("/api/v1/nothing-here")
    ok, missing = await access_lines(stream, 2)
    assert list(ok) == FIELDS
    assert ok["level"] == "info" and ok["message"] == "GET /feed.rss 200"
    assert (ok["method"], ok["path"], ok["status"]) == ("GET", "/feed.rss", 200)
    assert ok["bytes"] > len(body)  # what aiohttp wrote: the head and the body
    assert isinstance(ok["duration_ms"], float) and ok["remote"] == "127.0.0.1"
    assert (missing["path"], missing["status"]) == ("/api/v1/nothing-here", 404)


async def test_concurrent_requests_get_a_whole_line_each(make_client, populated_store, json_log):
    stream = json_log()
    client = await make_client(server_kwargs=RUNNER_OPTIONS)
    paths = [f"/feed.json?limit={n}" for n in range(1, 31)]
    await asyncio.gather(*(client.get(path) for path in paths))
    lines = await access_lines(stream, len(paths))
    assert len(lines) == len(paths) and all(list(line) == FIELDS for line in lines)
    assert {line["status"] for line in lines} == {200}


async def test_the_direct_line_is_the_log_records_line(make_client, populated_store, json_log):
    """A filter on the handler sends the line through ``logging``: the same keys, in the same order, the same values."""
    stream = json_log()
    client = await make_client(server_kwargs=RUNNER_OPTIONS)
    paths = ["/api/v1/items?limit=3", "/api/v1/items/%22%C3%BCber%5C%22"]  # quotes, a backslash, not ASCII: escaped alike
    for path in paths:
        await client.get(path)
    await access_lines(stream, 2)  # the direct lines are written: the next lines start a new batch
    handler = logging.getLogger("kisync").handlers[0]
    filtered = []
    handler.addFilter(lambda record: filtered.append(record.name) or True)
    assert direct_json_handlers(logging.getLogger("kisync.web.access")) is None
    for path in paths:
        await client.get(path)
    lines = await access_lines(stream, 4)
    assert filtered == ["kisync.web.access"] * 2  # the last two went through logging
    assert [line["path"] for line in lines] == ["/api/v1/items", '/api/v1/items/"über\\"'] * 2
    for line in lines:
        assert list(line) == FIELDS
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line.pop("time"))
        assert isinstance(line.pop("duration_ms"), float)
    assert lines[:2] == lines[2:]
    # Byte for byte, but for the time and the duration.
    raw = [re.sub(r'"time": "[^"]*"|"duration_ms": [0-9.]+', "", line) for line in stream.getvalue().splitlines()]
    assert raw[:2] == raw[2:]


async def test_no_line_below_info(make_client, populated_store, json_log):
    stream = json_log()
    logging.getLogger("kisync").setLevel(logging.WARNING)
    client = await make_client(server_kwargs=RUNNER_OPTIONS)
    assert (await client.get("/healthz")).status == 200
    await asyncio.sleep(0.05)
    assert stream.getvalue() == ""


async def test_a_full_batch_is_written_at_once(make_client, populated_store, json_log, monkeypatch):
    """FLUSH_LINES lines are written without waiting for the timer (an hour here)."""
    monkeypatch.setattr(accesslog._Batch, "FLUSH_SECONDS", 3600.0)
    monkeypatch.setattr(accesslog._Batch, "FLUSH_LINES", 3)
    stream = json_log()
    client = await make_client(server_kwargs=RUNNER_OPTIONS)
    for _ in range(2):
        await client.get("/healthz")
    await asyncio.sleep(0.05)
    assert stream.getvalue() == ""  # two lines wait for the third, or for the timer
    await client.get("/healthz")
    assert [line["path"] for line in await access_lines(stream, 3)] == ["/healthz"] * 3


async def test_the_lines_kept_are_written_when_the_app_shuts_down(make_client, populated_store, json_log, monkeypatch):
    monkeypatch.setattr(accesslog._Batch, "FLUSH_SECONDS", 3600.0)
    stream = json_log()
    client = await make_client(server_kwargs=RUNNER_OPTIONS)
    await client.get("/healthz")
    await asyncio.sleep(0.05)
    assert stream.getvalue() == ""
    await client.close()  # the app's cleanup
    assert [json.loads(line)["path"] for line in stream.getvalue().splitlines()] == ["/healthz"]


def _row(path: str) -> accesslog.Row:
    middle = f'"message": "GET {path} 200", "method": "GET", "path": "{path}", "status": 200'
    return (1_700_000_000_123_000_000, '"level": "info", "logger": "x"', middle, 10, 0.00125, "null")


def _json_handler(stream) -> logging.StreamHandler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    return handler


def test_a_batch_left_by_an_ended_loop_is_written_when_the_next_one_starts(monkeypatch):
    """Each test (and each `asyncio.run`) has its own loop: a batch whose timer died with its loop is not lost."""
    monkeypatch.setattr(accesslog._Batch, "FLUSH_SECONDS", 3600.0)
    monkeypatch.setattr(accesslog, "_batches", {})
    first, second = io.StringIO(), io.StringIO()
    logger = logging.getLogger("kisync.test.accesslog")

    async def add(path: str, stream: io.StringIO) -> None:
        accesslog._batch_for(logger).add(_row(path), [_json_handler(stream)])

    asyncio.run(add("/a", first))
    assert first.getvalue() == ""
    asyncio.run(add("/b", second))
    assert json.loads(first.getvalue()) == {
        "time": "2023-11-14T22:13:20.123+00:00", "level": "info", "logger": "x", "message": "GET /a 200",
        "method": "GET", "path": "/a", "status": 200, "bytes": 10, "duration_ms": 1.2, "remote": None,
    }
    assert second.getvalue() == ""
    accesslog.flush()
    assert json.loads(second.getvalue())["path"] == "/b"
    assert len(accesslog._batches) == 1  # the closed loop's batch is gone


def test_a_failing_stream_neither_fails_the_request_nor_keeps_the_lines_from_the_others(monkeypatch, capsys):
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("broken pipe")

    monkeypatch.setattr(accesslog, "_batches", {})
    good = io.StringIO()
    logger = logging.getLogger("kisync.test.accesslog")

    async def add() -> None:
        batch = accesslog._batch_for(logger)
        batch.add(_row("/a"), [_json_handler(Broken()), _json_handler(good)])
        batch.write()

    asyncio.run(add())
    assert json.loads(good.getvalue())["path"] == "/a"
    assert "OSError: broken pipe" in capsys.readouterr().err  # reported as logging reports a handler's failure


async def test_one_connection_changing_its_request_gets_each_line_right(make_client, populated_store, json_log):
    """A connection's logger remembers its last request's line: a new status or method on it is not the old line."""
    stream = json_log()
    client = await make_client(server_kwargs=RUNNER_OPTIONS)
    first = await client.get("/feed.rss")
    await client.get("/feed.rss", headers={"If-None-Match": first.headers["ETag"]})
    await client.head("/feed.rss")
    await client.get("/feed.rss")
    lines = await access_lines(stream, 4)
    assert [(line["method"], line["status"]) for line in lines] == [("GET", 200), ("GET", 304), ("HEAD", 200), ("GET", 200)]
    assert [line["message"] for line in lines] == ["GET /feed.rss 200", "GET /feed.rss 304", "HEAD /feed.rss 200",
                                                   "GET /feed.rss 200"]


def test_configuring_logging_writes_the_kept_lines_where_they_were_logged_to(monkeypatch):
    monkeypatch.setattr(accesslog._Batch, "FLUSH_SECONDS", 3600.0)
    monkeypatch.setattr(accesslog, "_batches", {})
    root = logging.getLogger("kisync")
    saved = (root.handlers[:], root.level, root.propagate)
    old, new = io.StringIO(), io.StringIO()

    async def log_then_reconfigure() -> None:
        accesslog._batch_for(logging.getLogger("kisync.test.accesslog")).add(_row("/a"), [_json_handler(old)])
        configure_logging("INFO", "json", new)

    try:
        asyncio.run(log_then_reconfigure())
    finally:
        root.handlers[:], root.level, root.propagate = saved
    assert json.loads(old.getvalue())["path"] == "/a" and new.getvalue() == ""
