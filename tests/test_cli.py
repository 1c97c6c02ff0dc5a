"""The command line as a user meets it: a real subprocess where it matters."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kisync.cli import build_parser, main
from tests.conftest import REPO


def run(*args: str, cwd=REPO, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kisync", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_help_lists_only_commands_that_exist():
    result = run("--help")
    assert result.returncode == 0
    lines = result.stdout.split("COMMAND\n", 2)[-1].splitlines()
    listed = {line.split()[0] for line in lines if line.startswith("    ") and line[4] != " "}
    subcommands = set(build_parser()._subparsers._group_actions[0].choices)  # noqa: SLF001
    assert listed == subcommands == {"validate", "schema", "db", "config", "sync", "sources", "run", "serve", "worker"}
    for command in subcommands:
        assert run(command, "--help").returncode == 0


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: kisync" in capsys.readouterr().out


def test_db_upgrade_then_current(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("database:\n  url: sqlite:///kisync.db\n", encoding="utf-8")
    before = run("db", "current", "-c", str(config))
    assert before.returncode == 1 and "needs `kisync db upgrade`" in before.stdout
    upgraded = run("db", "upgrade", "-c", str(config))
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "kisync.db").exists()
    assert run("db", "current", "-c", str(config)).returncode == 0


def test_config_error_exits_2_and_names_the_key(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("web:\n  prot: 80\n", encoding="utf-8")
    result = run("config", "check", "-c", str(config))
    assert result.returncode == 2
    assert "web.prot: unknown setting (did you mean 'port'?)" in result.stderr


def test_bad_config_writes_nothing(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("database:\n  url: sqlite:///kisync.db\nsources: 3\n", encoding="utf-8")
    assert run("db", "upgrade", "-c", str(config)).returncode == 2
    assert not (tmp_path / "kisync.db").exists()


def test_bundled_config_checks(tmp_path):
    result = run("config", "check")
    assert result.returncode == 0 and "5 source(s)" in result.stdout


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("*.json")), ids=lambda p: p.name)
def test_validate_examples_in_a_subprocess(path):
    assert run("validate", str(path)).returncode == 0


def test_schema_command_reproduces_checked_in_files(tmp_path):
    assert run("schema", str(tmp_path)).returncode == 0
    for path in tmp_path.iterdir():
        assert path.read_text(encoding="utf-8") == (REPO / "schemas" / path.name).read_text(encoding="utf-8")
