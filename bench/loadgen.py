"""Load generators: wrk when installed, otherwise a small asyncio HTTP/1.1 client in its own process.

    .venv/bin/python bench/loadgen.py URL [--connections 64] [--duration 5] [-H 'Name: value' ...]

Both keep ``connections`` keep-alive connections busy for ``duration``
seconds and report requests per second and the p50/p99 latency. The
Python fallback is far slower than wrk: against fast servers it measures
itself, and its output says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import PYTHON, ROOT, which


@dataclass
class Load:
    rps: float
    p50: float  # seconds
    p99: float
    requests: int
    errors: int  # socket errors, timeouts and non-2xx/3xx answers
    tool: str


def describe_tool() -> str:
    wrk = which("wrk")
    if wrk:
        out = subprocess.run([wrk, "-v"], capture_output=True, text=True)
        first = (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "wrk"
        return first.split(" [")[0]
    return "python asyncio load generator (fallback: wrk not installed; it saturates long before nginx does)"


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unreadable wrk time {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(url: str, headers: dict[str, str], *, connections: int, duration: float, cpu: int | None) -> Load:
    pin = ["taskset", "-c", str(cpu)] if cpu is not None and which("taskset") else []
    command = [*pin, which("wrk"), "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _seconds(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _seconds(re.search(r"\s99%\s+(\S+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        errors += int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in match.groups())
    return Load(rps, p50, p99, requests, errors, "wrk")


def run(url: str, headers: dict[str, str], *, connections: int = 64, duration: float = 5.0, cpu: int | None = None) -> Load:
    """Load ``url`` from another process (pinned to ``cpu`` when given) and measure."""
    if which("wrk"):
        return run_wrk(url, headers, connections=connections, duration=duration, cpu=cpu)
    pin = ["taskset", "-c", str(cpu)] if cpu is not None and which("taskset") else []
    command = [*pin, PYTHON, "-m", "bench.loadgen", url, "--connections", str(connections), "--duration", str(duration), "--json"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return Load(**json.loads(out.strip().splitlines()[-1]))


# -- the Python fallback -------------------------------------------------------


async def _worker(host: str, port: int, request: bytes, stop_at: float, latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not 200 <= status < 400:
                errors[0] += 1
    except (OSError, asyncio.IncompleteReadError):
        errors[0] += 1
    finally:
        writer.close()


async def _python_load(url: str, headers: dict[str, str], connections: int, duration: float) -> Load:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    errors = [0]
    started = time.perf_counter()
    stop_at = started + duration
    host, port = parts.hostname, parts.port or 80
    await asyncio.gather(*(_worker(host, port, request, stop_at, latencies, errors) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0.0  # noqa: E731
    return Load(len(latencies) / elapsed, pick(0.5), pick(0.99), len(latencies), errors[0], "python")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("-H", "--header", action="append", default=[])
    parser.add_argument("--json", action="store_true", help="print one JSON line (used by bench/serve.py)")
    parser.add_argument("--python", action="store_true", help="use the Python load generator even if wrk is installed")
    args = parser.parse_args(argv)
    headers = dict(h.split(": ", 1) for h in args.header)
    if args.python or args.json:
        load = asyncio.run(_python_load(args.url, headers, args.connections, args.duration))
    else:
        load = run(args.url, headers, connections=args.connections, duration=args.duration)
    if args.json:
        print(json.dumps(asdict(load)))
    else:
        print(f"{load.tool}: {load.rps:.0f} req/s, p50 {load.p50 * 1000:.2f} ms, p99 {load.p99 * 1000:.2f} ms, "
              f"{load.requests} requests, {load.errors} errors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
