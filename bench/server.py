"""A static server for the corpus on loopback: ETag, Last-Modified, 304 and gzip.

    .venv/bin/python bench/server.py [--root DIR] [--port 8731] [--aiohttp]

nginx when it is installed (one worker, ``gzip_static`` serving the
corpus's precompressed ``.gz`` twins, ``etag on``, access log off),
otherwise an aiohttp server that does the same: the ETag is nginx's
``"<mtime hex>-<size hex>"`` of the file sent, Last-Modified the file's
mtime, 304 for a matching If-None-Match (or, without one, an
If-Modified-Since not older than the file), and the ``.gz`` twin when
the client accepts gzip. Either way the output says which one runs.

Precompressed bodies keep the server's CPU out of the measurement: on a
2-core machine a server compressing on the fly would take a core from the
client being measured.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import OUT, PYTHON, ROOT, free_port, stop_process, wait_for_port, which

MIME_TYPES = {
    ".xml": "application/xml",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
}

NGINX_CONF = """\
worker_processes 1;
daemon off;
{user}
pid {state}/nginx.pid;
error_log {state}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    types {{
        application/xml xml;
        application/rss+xml rss;
        application/atom+xml atom;
        application/json json;
    }}
    charset_types application/rss+xml application/atom+xml;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    open_file_cache off;
    client_body_temp_path {state}/client_body;
    proxy_temp_path {state}/proxy;
    fastcgi_temp_path {state}/fastcgi;
    uwsgi_temp_path {state}/uwsgi;
    scgi_temp_path {state}/scgi;
    gzip_static on;
    gzip_vary on;
    etag on;
    if_modified_since before;
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        root {root};
        location / {{ try_files $uri =404; }}
    }}
}}
"""


@dataclass
class StaticServer:
    kind: str  # "nginx 1.22.1" or "aiohttp 3.x (fallback)"
    port: int
    proc: subprocess.Popen
    root: Path
    state: Path | None = None  # nginx's configuration, pid and error log: removed on stop

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.proc)
        if self.state is not None and self.state.exists():
            import shutil

            shutil.rmtree(self.state, ignore_errors=True)

    def __enter__(self) -> StaticServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def nginx_version(binary: str) -> str:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True)
    return (out.stderr or out.stdout).strip().split("/")[-1]


def start(root: Path, port: int | None = None, *, prefer_nginx: bool = True, cpu: int | None = None,
          state_dir: Path | None = None) -> StaticServer:
    """Start nginx (or the aiohttp fallback) on 127.0.0.1 serving ``root``; ``cpu`` pins it to one core."""
    port = port or free_port()
    root = root.resolve()
    pin = ["taskset", "-c", str(cpu)] if cpu is not None and which("taskset") else []
    nginx = which("nginx") if prefer_nginx else None
    if nginx:
        state = (state_dir or OUT / "nginx" / str(port)).resolve()
        state.mkdir(parents=True, exist_ok=True)
        conf = state / "nginx.conf"
        # As root, nginx's workers would switch to `nobody`, who may not read the repository: keep root
        # (the server listens on loopback only). Otherwise the `user` directive is not allowed.
        user = "user root root;" if os.geteuid() == 0 else ""
        conf.write_text(NGINX_CONF.format(state=state, port=port, root=root, user=user))
        command = [*pin, nginx, "-c", str(conf), "-p", str(state), "-e", str(state / "nginx-error.log")]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kind = f"nginx {nginx_version(nginx)}"
        wait_for_port(port, proc=proc)
        return StaticServer(kind, port, proc, root, state)
    else:
        command = [*pin, PYTHON, "-m", "bench.server", "--root", str(root), "--port", str(port), "--aiohttp", "--quiet"]
        proc = subprocess.Popen(command, cwd=ROOT)
        import aiohttp

        reason = "nginx not installed" if not which("nginx") else "nginx not wanted"
        kind = f"aiohttp {aiohttp.__version__} static server (fallback: {reason})"
    wait_for_port(port, proc=proc)
    return StaticServer(kind, port, proc, root)


# -- the aiohttp fallback ------------------------------------------------------


def make_app(root: Path):
    from datetime import UTC, datetime
    from email.utils import format_datetime, parsedate_to_datetime

    from aiohttp import web

    root = root.resolve()
    cache: dict[tuple[str, int, int], bytes] = {}

    def validators(path: Path) -> tuple[str, str, os.stat_result]:
        st = path.stat()
        etag = f'"{int(st.st_mtime):x}-{st.st_size:x}"'
        last_modified = format_datetime(datetime.fromtimestamp(int(st.st_mtime), UTC), usegmt=True)
        return etag, last_modified, st

    def body(path: Path, st: os.stat_result) -> bytes:
        key = (str(path), st.st_mtime_ns, st.st_size)
        data = cache.get(key)
        if data is None:
            data = cache[key] = path.read_bytes()
        return data

    async def handle(request: web.Request) -> web.StreamResponse:
        relative = request.match_info["path"]
        path = (root / relative).resolve()
        if root not in path.parents or not path.is_file():
            raise web.HTTPNotFound()
        headers = {"Vary": "Accept-Encoding", "Content-Type": MIME_TYPES.get(path.suffix, "application/octet-stream")}
        send = path
        gz = path.with_name(path.name + ".gz")
        if "gzip" in request.headers.get("Accept-Encoding", "") and gz.is_file():
            send = gz
            headers["Content-Encoding"] = "gzip"
        etag, last_modified, st = validators(send)
        headers["ETag"], headers["Last-Modified"] = etag, last_modified
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
            if etag in tags or "*" in tags:
                return web.Response(status=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
        elif (since := request.headers.get("If-Modified-Since")) is not None:
            try:
                if int(st.st_mtime) <= parsedate_to_datetime(since).timestamp():
                    return web.Response(status=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
            except (TypeError, ValueError):
                pass
        return web.Response(body=body(send, st), headers=headers)

    app = web.Application()
    app.router.add_get("/{path:.+}", handle)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="directory to serve (default: the newest corpus in bench/out)")
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--aiohttp", action="store_true", help="use the aiohttp fallback even when nginx is installed")
    parser.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root = args.root
    if root is None:
        corpora = sorted(OUT.glob("corpus-*"), key=lambda p: p.stat().st_mtime)
        if not corpora:
            parser.error("no corpus in bench/out: run bench/corpus.py first, or pass --root")
        root = corpora[-1]
    if args.aiohttp and args.quiet:
        from aiohttp import web

        web.run_app(make_app(root), host="127.0.0.1", port=args.port, print=None, access_log=None)
        return 0
    import signal

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the server on SIGTERM as on Ctrl-C
    server = start(root, args.port, prefer_nginx=not args.aiohttp)
    print(f"serving {root} on {server.base_url}/ with {server.kind}; Ctrl-C stops it")
    try:
        while server.proc.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
