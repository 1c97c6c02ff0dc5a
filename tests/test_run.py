"""`kisync run` as an operator starts it: a real process, real HTTP, SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import feedparser
import pytest

from tests.conftest import REPO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """The bundled config and examples, in a directory of their own."""
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    return tmp_path


def kisync(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kisync", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.slow
def test_run_serves_the_merged_examples_and_stops_on_sigterm(demo: Path):
    port = free_port()
    env = {**os.environ, "KISYNC_WEB_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    unmigrated = kisync("run", cwd=demo, env=env)
    assert unmigrated.returncode != 0 and "kisync db upgrade" in unmigrated.stderr
    assert kisync("db", "upgrade", cwd=demo, env=env).returncode == 0

    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "kisync", "run"], cwd=demo, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        feed = None
        while time.monotonic() - started < 10:
            try:
                status, _ = get(f"{base}/readyz")
                if status == 200:
                    status, body = get(f"{base}/feed.rss")
                    feed = feedparser.parse(body)
                    if len(feed.entries) >= 36:
                        break
            except OSError:
                pass
            time.sleep(0.2)
        assert feed is not None and len(feed.entries) == 36, "the merged examples are served within ten seconds"
        assert feed.bozo == 0
        titles = {entry.title for entry in feed.entries}
        assert "Rucksack KiTa in Moerser Familienzentren" in titles

        status, body = get(f"{base}/api/v1/changes?limit=500")
        changes = json.loads(body)
        assert status == 200 and len(changes["data"]) == 37  # 36 live items and the Duisburg tombstone
        assert sum(1 for item in changes["data"] if item.get("deleted")) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-3000:]
    assert "stopping" in err and "worker stopped" in err
