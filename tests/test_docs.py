"""The README documents what exists: commands, endpoints, settings (datasette's test_docs idea)."""

from __future__ import annotations

import re

from kisync.cli import build_parser
from kisync.config import Settings
from kisync.store.db import create_engine
from kisync.web.app import create_app
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_command_is_documented():
    commands = build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001
    for name in commands:
        assert f"`kisync {name}" in README or f"/ `kisync {name}" in README, name


def test_every_public_endpoint_is_documented(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'k.db'}")
    app = create_app(Settings(), engine, admin_token="x")
    paths = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
    documented = set(re.findall(r"`(/[^`?\[ ]*)", README))
    missing = []
    for path in paths:
        if path.startswith("/api/v1/admin/"):
            path = "/api/v1/admin/sources…"  # documented as a group
            if "`/api/v1/admin/sources…`" in README:
                continue
        if path.startswith("/static/") or path in ("/", "/items/{id}", "/zentren", "/statistik"):
            continue  # the HTML pages have their own section
        if path not in documented and not any(d.startswith(path) for d in documented):
            missing.append(path)
    assert not missing, f"endpoints missing from the README: {sorted(missing)}"
