"""Settings: the bundled file, environment overrides, and errors that name the bad key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kisync.config import load_settings, reference_markdown, setting_paths
from kisync.errors import ConfigError
from tests.conftest import REPO


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_config_loads_with_its_sources():
    settings = load_settings(REPO / "config.yaml", environ={})
    assert settings.node.centre == "ki-05315"
    assert settings.database.url == f"sqlite:///{REPO / 'data' / 'kisync.db'}"
    assert [s.id for s in settings.sources] == [
        "ki-05170-kreis-wesel",
        "ki-05154-kreis-kleve",
        "ki-05112-duisburg",
        "stadt-oberhausen-rss",
        "kreis-recklinghausen-atom",
    ]
    for source in settings.sources:
        assert Path(source.url).is_file(), source.url
        assert Path(source.url).is_relative_to(settings.fetch.file_root)


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.web.port == 8080 and settings.sources == [] and settings.source_file is None


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, "web:\n  port: 9000\n")
    settings = load_settings(
        path,
        environ={
            "KISYNC_DATABASE_URL": "postgresql://kisync@db.example/kisync",
            "KISYNC_WEB_PORT": "9100",
            "KISYNC_FETCH_ALLOW_PRIVATE_NETWORKS": "true",
            "KISYNC_SYNC_DEFAULT_INTERVAL": "15m",
            "KISYNC_ADMIN_TOKEN": "not-a-setting",
        },
    )
    assert settings.database.url == "postgresql://kisync@db.example/kisync"
    assert settings.web.port == 9100
    assert settings.fetch.allow_private_networks is True
    assert settings.sync.default_interval == 900


def test_unknown_environment_variable_suggests_the_nearest(tmp_path):
    with pytest.raises(ConfigError, match="KISYNC_DATABASE_URI is not a kisync setting.*KISYNC_DATABASE_URL"):
        load_settings(write(tmp_path, ""), environ={"KISYNC_DATABASE_URI": "sqlite:///x.db"})


def test_bad_environment_value_names_its_origin(tmp_path):
    with pytest.raises(ConfigError, match=r"web\.port: .*\(from the environment\)"):
        load_settings(write(tmp_path, ""), environ={"KISYNC_WEB_PORT": "many"})


def test_errors_name_file_path_and_suggest_keys(tmp_path):
    path = write(
        tmp_path,
        """
databse:
  url: sqlite:///x.db
fetch:
  max_redirect: 3
sources:
  - id: wesel
    url: https://www.kreis-wesel.de/ki/feed.json
    centre: ki-05170
  - id: kleve
    url: ftp://www.kreis-kleve.de/feed
    centre: ki-05154
  - id: duisburg
    url: https://www.duisburg.de/ki/feed.json
    centre: ki-05112
    interval: soon
    centr: ki-05112
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert message.startswith(f"{path}: 5 problems")
    assert "databse: unknown setting (did you mean 'database'?)" in message
    assert "fetch.max_redirect: unknown setting (did you mean 'max_redirects'?)" in message
    assert "sources[1].url: scheme 'ftp' not supported" in message
    assert "sources[2].interval: 'soon' is not a duration" in message
    assert "sources[2].centr: unknown setting (did you mean 'centre'?)" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("web: [1\n", r"config.yaml:2:1: invalid YAML"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("web:\n  port: 70000\n", r"web\.port: Input should be less than or equal to 65535"),
        ("node:\n  centre: KI Wesel\n", r"node\.centre: String should match pattern"),
        ("node:\n  base_url: not-a-url\n", r"node\.base_url: must be an absolute http or https URL"),
        ("database:\n  url: mysql://x\n", r"database\.url: must start with sqlite:/// or postgresql://"),
        ("sources:\n  - id: a\n    url: https://x.example/f\n", r"sources\[0\]: a source needs `centre`"),
        (
            "sources:\n  - {id: a, url: 'https://x.example/f', centre: ki-1}\n"
            "  - {id: a, url: 'https://y.example/f', centre: ki-2}\n",
            "source id 'a' is used twice",
        ),
        ("sync:\n  max_deletion_share: 2\n", r"sync\.max_deletion_share"),
    ],
)
def test_bad_values_are_clear(tmp_path, text, expected):
    with pytest.raises(ConfigError, match=expected):
        load_settings(write(tmp_path, text), environ={})


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(tmp_path / "nope.yaml", environ={})


def test_every_setting_is_in_the_readme_reference():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [path for path in setting_paths() if f"`{path}`" not in readme]
    assert not missing, f"settings missing from README's configuration reference: {missing}"


def test_readme_reference_is_the_generated_one():
    """The table in the README is what `kisync config reference` prints, so it cannot drift."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert reference_markdown() in readme


def test_every_setting_has_a_description():
    for line in reference_markdown().splitlines()[2:]:
        assert not re.search(r"\| None( Environment|\s*\|$)", line), line
