"""Sources: `kisync sources …` as an operator uses it, the registry behind it, and OPML.

The commands run in-process through ``kisync.cli.main`` against a config
file in a temporary directory and a real store on both backends. No
source is fetched here: the URLs are never contacted.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from kisync.cli import main
from kisync.config import SourceSettings
from kisync.opml import NS, parse_opml
from kisync.sources import Outcome, SourceRegistry, _state_values
from kisync.store import db
from kisync.store.leases import claim_due
from kisync.store.merge import MergeContext
from kisync.store.repository import Store
from kisync.store.tables import SourceRow, SourceStateRow
from tests.factories import live

WESEL = {"id": "ki_05170.wesel", "url": "https://www.kreis-wesel.de/ki/export.json", "format": "exchange", "centre": "ki-05170"}
KLEVE = {"id": "kleve", "url": "https://www.kreis-kleve.de/ki/aktuelles.rss", "format": "feed", "centre": "ki-05154"}


@pytest.fixture(autouse=True)
def _keep_logging():
    """main() configures the `kisync` logger for a terminal; give the other tests theirs back."""
    logger = logging.getLogger("kisync")
    saved = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


@pytest.fixture(autouse=True)
def _no_kisync_environment(monkeypatch):
    for name in ("KISYNC_CONFIG", "KISYNC_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _engines_closed(monkeypatch):
    """A one-shot command leaves its engine to the process exit; in-process, each call must close it."""
    opened, original = [], db.open_engine

    def open_engine(url):
        opened.append(original(url))
        return opened[-1]

    monkeypatch.setattr("kisync.store.db.open_engine", open_engine)
    yield
    for engine in opened:
        engine.dispose()


class Operator:
    """Edits config.yaml and runs `kisync …` the way a person at a terminal does."""

    def __init__(self, directory: Path, database_url: str, capsys):
        self.config = directory / "config.yaml"
        self.database_url = database_url
        self.capsys = capsys
        self.write_config([WESEL])

    def write_config(self, sources: list[dict]) -> None:
        data = {
            "node": {"centre": "ki-05315", "name": "Kommunales Integrationszentrum Stadt Köln"},
            "database": {"url": self.database_url},
            "sources": sources,
        }
        self.config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([*args, "-c", str(self.config)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def listing(self) -> dict[str, str]:
        """`kisync sources list`, one row per source id."""
        code, out, err = self("sources", "list")
        assert code == 0, err
        header, rule, *rows = out.splitlines()
        assert header.split() == ["id", "format", "centre", "last", "success", "next", "fails", "items", "problem"]
        return {row.split()[0]: row for row in rows}


@pytest.fixture
def operator(tmp_path, database_url, capsys) -> Operator:
    return Operator(tmp_path, database_url, capsys)


NOW = datetime.now(UTC)


# -- list, add, remove, enable, disable ------------------------------------------------


def test_list_shows_every_source_with_its_state(operator, engine):
    registry, now = SourceRegistry(engine), datetime.now(UTC)
    operator.write_config([WESEL, KLEVE])
    assert set(operator.listing()) == {"ki_05170.wesel", "kleve"}
    failed = Outcome(
        attempted=now, ok=False, http_status=404, error="not found (HTTP 404 Not Found)", next_due=now + timedelta(minutes=10)
    )
    registry.record("ki_05170.wesel", failed)
    held = Outcome(attempted=now, ok=True, http_status=200, seen=7, on_hold="the snapshot would delete 9 of 10")
    registry.record("kleve", held)

    rows = operator.listing()

    assert rows["ki_05170.wesel"].split()[:9] == ["ki_05170.wesel", "on", "exchange", "ki-05170", "never", "in", "10m", "1", "0"]
    assert rows["ki_05170.wesel"].endswith("not found (HTTP 404 Not Found)")
    # Seconds since `now`: 0 on a fast machine, more when listing took its time (PostgreSQL on a busy one).
    assert rows["kleve"].split()[:4] == ["kleve", "on", "feed", "ki-05154"] and rows["kleve"].split()[5] == "ago"
    assert re.fullmatch(r"\d+s", rows["kleve"].split()[4])
    assert rows["kleve"].split()[6:9] == ["due", "7", "the"] and rows["kleve"].endswith("the snapshot would delete 9 of 10")


def test_add_disable_enable_and_remove_an_admin_source(operator, engine):
    registry, store = SourceRegistry(engine), Store(engine)
    args = ["sources", "add", "kleve", KLEVE["url"], "--centre", "ki-05154", "--format", "feed", "--interval", "30m"]

    assert operator(*args) == (0, "added kleve\n", "")
    kleve = registry.get("kleve")
    assert (kleve.managed_by, kleve.url, kleve.format, kleve.centre, kleve.interval, kleve.enabled) == (
        "admin", KLEVE["url"], "feed", "ki-05154", 1800, True
    )
    assert operator(*args) == (1, "", "kisync: source 'kleve' exists already\n")
    code, _, err = operator("sources", "add", "orphan", "https://ki.example/feed.xml")
    assert code == 2 and "a source needs `centre` (or `relay: true`" in err
    code, _, err = operator("sources", "add", "ftp", "ftp://ki.example/feed.xml", "--centre", "ki-05154")
    assert code == 2 and "scheme 'ftp' not supported" in err

    assert operator("sources", "disable", "kleve") == (0, "disabled kleve\n", "")
    assert operator.listing()["kleve"].split()[1] == "off:operator"
    assert [s.id for s in registry.select()] == ["ki_05170.wesel"]
    assert operator("sync", "kleve") == (1, "", "kisync: source(s) disabled: kleve (kisync sources enable ID)\n")

    registry.record("kleve", Outcome(attempted=NOW, ok=False, error="x", next_due=NOW + timedelta(days=1)))
    assert operator("sources", "enable", "kleve") == (0, "enabled kleve\n", "")
    kleve = registry.get("kleve")
    assert kleve.enabled and kleve.next_due is None  # fetched at the next tick, not after the old back-off

    store.merge([live("https://www.kreis-kleve.de/ki/p/1", origin="ki-05154")], _context("kleve", "ki-05154"))
    assert operator("sources", "remove", "kleve") == (0, "removed kleve (its items stay in the store)\n", "")
    assert "kleve" not in operator.listing()
    assert store.get("https://www.kreis-kleve.de/ki/p/1") is not None
    assert operator("sources", "remove", "kleve") == (1, "", "kisync: no source 'kleve'\n")


def test_a_config_source_cannot_be_removed_or_changed_from_the_command_line(operator, engine):
    code, out, err = operator("sources", "remove", "ki_05170.wesel")
    assert (code, out) == (1, "")
    assert err == "kisync: source 'ki_05170.wesel' is defined in config.yaml: remove it there\n"
    registry = SourceRegistry(engine)
    assert registry.get("ki_05170.wesel").managed_by == "config"
    with pytest.raises(Exception, match="is defined in config.yaml: change it there"):
        registry.update("ki_05170.wesel", SourceSettings.model_validate(KLEVE | {"id": "ki_05170.wesel"}), 3600)


def test_approve_deletion_lets_the_next_sync_read_the_snapshot_again(operator, engine):
    registry = SourceRegistry(engine)
    operator.listing()
    registry.record(
        "ki_05170.wesel",
        Outcome(attempted=NOW, ok=True, http_status=200, etag='"v7"', last_modified="Sun, 01 Mar 2026 06:00:00 GMT",
                on_hold="the snapshot would delete 9 of 10 items", next_due=NOW + timedelta(hours=1)),
    )

    code, out, _ = operator("sources", "approve-deletion", "ki_05170.wesel")

    assert (code, out) == (0, "ki_05170.wesel: the next sync may delete what its snapshot no longer lists\n")
    source = registry.get("ki_05170.wesel")
    assert source.deletion_approved and source.next_due is None
    assert (source.etag, source.last_modified) == (None, None)  # no 304 for the held snapshot
    assert operator("sources", "approve-deletion", "nope")[0] == 1


def test_outcomes_recorded_together_leave_the_state_the_old_update_per_outcome_left(operator, engine):
    """record_many runs outcomes of one shape as one statement: the rows an UPDATE per outcome left, in order."""
    state = SourceStateRow.__table__
    sources = [{**KLEVE, "id": f"s{n}"} for n in range(6)]
    operator.write_config(sources)
    operator.listing()
    later = NOW + timedelta(minutes=7)
    fresh = Outcome(attempted=NOW, ok=True, http_status=200, etag='"a"', last_modified="x", seen=5, new=4, updated=3,
                    deleted=2, warnings=[{"where": "item", "code": "w", "message": "m"}], cursor="c9",
                    next_due=NOW + timedelta(hours=1))
    not_modified = Outcome(attempted=later, ok=True, http_status=304, etag='"b"', not_modified=True, seen=6,
                           on_hold="held", next_due=NOW + timedelta(hours=2))
    failed = Outcome(attempted=later, ok=False, http_status=503, error="down", next_due=NOW + timedelta(hours=3))
    approved = Outcome(attempted=NOW, ok=True, http_status=200, seen=1, deletion_used=True, next_due=NOW + timedelta(hours=4))
    # Shapes alternate, and s2 fails twice in one batch: both failures count.
    batch = [("s0", fresh), ("s1", not_modified), ("s2", failed), ("s3", not_modified), ("s2", failed),
             ("s4", approved), ("s5", failed), ("s5", not_modified)]

    def reset() -> None:
        with engine.begin() as conn:
            conn.execute(state.update().values(deletion_approved=True, consecutive_failures=1, error="before"))

    def rows() -> list[tuple]:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.select(state).order_by(state.c.source_id))]

    reset()
    SourceRegistry(engine).record_many(batch)
    together = rows()
    reset()
    with engine.begin() as conn:  # what record_many ran before: one UPDATE per outcome, values inline
        for source_id, outcome in batch:
            values = _state_values(outcome)
            if not outcome.ok:
                values["consecutive_failures"] = state.c.consecutive_failures + 1
            conn.execute(state.update().where(state.c.source_id == source_id).values(**values))

    assert together == rows()
    by_id = {source.id: source for source in SourceRegistry(engine).list()}
    assert (by_id["s2"].consecutive_failures, by_id["s2"].error) == (3, "down")
    assert (by_id["s5"].consecutive_failures, by_id["s5"].http_status, by_id["s5"].on_hold) == (0, 304, "held")
    assert (by_id["s0"].cursor, by_id["s0"].etag, by_id["s0"].new, by_id["s0"].updated) == ("c9", '"a"', 4, 3)
    assert not by_id["s4"].deletion_approved and by_id["s1"].deletion_approved


# -- sources from config.yaml -----------------------------------------------------------


def test_a_source_removed_from_the_config_leaves_the_registry_on_next_start_but_its_items_stay(operator, engine):
    registry, store = SourceRegistry(engine), Store(engine)
    operator.write_config([WESEL, KLEVE])
    assert set(operator.listing()) == {"ki_05170.wesel", "kleve"}
    assert operator("sources", "add", "relay", "https://kisync.duisburg.de/api/v1/changes", "--relay")[0] == 0
    store.merge([live("https://www.kreis-kleve.de/ki/p/1", origin="ki-05154")], _context("kleve", "ki-05154"))

    operator.write_config([WESEL])  # the operator deletes kleve from config.yaml and restarts

    assert set(operator.listing()) == {"ki_05170.wesel", "relay"}  # an admin source is not the file's to remove
    assert [s.id for s in registry.list()] == ["ki_05170.wesel", "relay"]
    assert store.get("https://www.kreis-kleve.de/ki/p/1") is not None
    assert [p["source_id"] for p in store.provenance("https://www.kreis-kleve.de/ki/p/1")] == ["kleve"]

    operator.write_config([WESEL, KLEVE | {"interval": "15m"}])  # back again, with a new interval
    assert "kleve" in operator.listing()
    assert registry.get("kleve").interval == 900 and registry.get("kleve").managed_by == "config"


def test_enabled_false_in_the_config_wins(operator, engine):
    registry = SourceRegistry(engine)
    operator.write_config([WESEL, KLEVE | {"enabled": False}])
    assert operator.listing()["kleve"].split()[1] == "off:config"

    stays_off = "enabled kleve, but it stays off: config.yaml says `enabled: false`\n"
    assert operator("sources", "enable", "kleve") == (0, stays_off, "")
    kleve = registry.get("kleve")
    assert (kleve.enabled, kleve.disabled_by) == (False, ["config"])
    assert operator.listing()["kleve"].split()[1] == "off:config"
    assert [s.id for s in registry.select()] == ["ki_05170.wesel"]
    assert operator("sync", "kleve") == (1, "", "kisync: source(s) disabled: kleve (enabled: false in config.yaml)\n")


def test_the_file_set_back_to_true_enables_the_source_again_and_it_is_due(operator, engine):
    registry = SourceRegistry(engine)
    operator.write_config([WESEL, KLEVE])
    assert operator.listing()["kleve"].split()[1] == "on"
    operator.write_config([WESEL, KLEVE | {"enabled": False}])
    assert operator.listing()["kleve"].split()[1] == "off:config"
    registry.record("kleve", Outcome(attempted=NOW, ok=False, error="x", next_due=NOW + timedelta(days=1)))
    registry.record("ki_05170.wesel", Outcome(attempted=NOW, ok=True, next_due=NOW + timedelta(days=1)))

    operator.write_config([WESEL, KLEVE])  # the operator edits config.yaml and restarts

    rows = operator.listing()
    assert rows["kleve"].split()[:6] == ["kleve", "on", "feed", "ki-05154", "never", "due"]
    kleve = registry.get("kleve")
    assert (kleve.enabled, kleve.disabled_by, kleve.next_due) == (True, [], None)  # not after the old back-off
    assert registry.get("ki_05170.wesel").next_due is not None  # a start alone makes nothing due
    assert [s.id for s in registry.select(due_at=NOW)] == ["kleve"]


def test_an_operators_disable_outlasts_restarts_and_edits_of_the_file(operator, engine):
    registry = SourceRegistry(engine)
    operator.write_config([WESEL, KLEVE])
    assert operator("sources", "disable", "kleve") == (0, "disabled kleve\n", "")

    for enabled in (True, False, True):  # restarts with the file saying true, then false, then true again
        operator.write_config([WESEL, KLEVE | {"enabled": enabled}])
        assert operator.listing()["kleve"].split()[1] == ("off:operator" if enabled else "off:config+operator")
    assert registry.get("kleve").disabled_by == ["operator"]
    assert [s.id for s in registry.select()] == ["ki_05170.wesel"]

    operator.write_config([WESEL, KLEVE | {"enabled": False}])
    assert registry.get("kleve").disabled_by == ["operator"]  # read before the restart
    assert operator.listing()["kleve"].split()[1] == "off:config+operator"
    assert registry.get("kleve").disabled_by == ["config", "operator"]
    assert operator("sync", "kleve") == (
        1, "", "kisync: source(s) disabled: kleve (enabled: false in config.yaml; kisync sources enable ID)\n"
    )
    operator.write_config([WESEL, KLEVE])
    assert operator("sources", "enable", "kleve") == (0, "enabled kleve\n", "")
    assert operator.listing()["kleve"].split()[1] == "on"


def test_an_admin_source_the_file_takes_over_keeps_the_operators_switch(operator, engine):
    registry = SourceRegistry(engine)
    assert operator("sources", "add", "kleve", KLEVE["url"], "--centre", "ki-05154")[0] == 0
    assert operator("sources", "disable", "kleve")[0] == 0

    operator.write_config([WESEL, KLEVE])

    assert operator.listing()["kleve"].split()[1] == "off:operator"
    kleve = registry.get("kleve")
    assert (kleve.managed_by, kleve.disabled_by) == ("config", ["operator"])


def test_what_is_fetched_is_what_is_shown(operator, engine):
    """The worker's claim (SQL) and Source.enabled (Python) agree on every pair of switches, NULL included."""
    source = SourceRow.__table__
    switches = {"on": (True, True), "file-off": (True, False), "operator-off": (False, True), "both-off": (False, False),
                "undecided": (False, None)}
    operator.write_config([KLEVE | {"id": name} for name in switches])
    operator.listing()
    with engine.begin() as conn:
        for name, (operator_enabled, config_enabled) in switches.items():
            values = {"operator_enabled": operator_enabled, "config_enabled": config_enabled}
            conn.execute(source.update().where(source.c.id == name).values(values))

    shown = {s.id for s in SourceRegistry(engine).list() if s.enabled}
    claimed = set(claim_due(engine, "test", NOW, timedelta(minutes=5), limit=10))

    assert shown == claimed == {"on"}
    assert {s.id for s in SourceRegistry(engine).select(due_at=NOW)} == {"on"}


# -- OPML --------------------------------------------------------------------------------


def test_opml_export_and_import_round_trip(operator, engine, tmp_path):
    registry = SourceRegistry(engine)
    operator.listing()
    assert operator("sources", "add", "kleve_news.rss", KLEVE["url"], "--centre", "ki-05154", "--format", "feed",
                    "--interval", "2h")[0] == 0
    assert operator("sources", "add", "relay", "https://kisync.duisburg.de/api/v1/changes", "--relay",
                    "--format", "exchange")[0] == 0
    assert operator("sources", "disable", "relay")[0] == 0
    before = [_definition(s) for s in registry.list()]

    code, exported, _ = operator("sources", "export-opml")

    assert code == 0
    root = ET.fromstring(exported.encode())
    assert (root.tag, root.get("version"), root.findtext("head/title")) == (
        "opml", "2.0", "kisync sources of Kommunales Integrationszentrum Stadt Köln"
    )
    outlines = {o.get(f"{{{NS}}}id"): o for o in root.iter("outline")}
    assert set(outlines) == {"ki_05170.wesel", "kleve_news.rss", "relay"}
    assert outlines["kleve_news.rss"].get("xmlUrl") == KLEVE["url"]
    assert outlines["relay"].get(f"{{{NS}}}relay") == "true" and outlines["relay"].get(f"{{{NS}}}enabled") == "false"

    for source_id in ("kleve_news.rss", "relay"):
        assert operator("sources", "remove", source_id)[0] == 0
    opml = tmp_path / "sources.opml"
    opml.write_text(exported, encoding="utf-8")
    code, out, err = operator("sources", "import-opml", str(opml))

    assert (code, err) == (0, "")
    assert out.splitlines() == ["skipped ki_05170.wesel: exists already", "added kleve_news.rss", "added relay"]
    assert [_definition(s) for s in registry.list()] == before


def test_opml_from_a_feed_reader_needs_a_centre(operator, engine, tmp_path):
    opml = tmp_path / "reader.opml"
    opml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="1.0"><head><title>Feeds</title></head><body>'
        '<outline text="Integration"><outline text="KI Kreis Kleve – Aktuelles" type="rss" xmlUrl="https://www.kreis-kleve.de/ki/rss"/>'
        "</outline></body></opml>",
        encoding="utf-8",
    )
    code, _, err = operator("sources", "import-opml", str(opml))
    assert code == 1
    assert "OPML outline 2 (https://www.kreis-kleve.de/ki/rss)" in err and "a source needs `centre`" in err

    assert operator("sources", "import-opml", str(opml), "--centre", "ki-05154") == (0, "added ki-kreis-kleve-aktuelles\n", "")
    source = SourceRegistry(engine).get("ki-kreis-kleve-aktuelles")
    assert (source.centre, source.format, source.managed_by) == ("ki-05154", "auto", "admin")


LAUGHS = (
    '<!DOCTYPE opml [<!ENTITY a "https://ki.example/feed"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
)
EXTERNAL = '<!DOCTYPE opml [<!ENTITY passwd SYSTEM "file:///etc/passwd">]>'
BODY = (
    f'<opml version="2.0" xmlns:kisync="{NS}"><head><title>&c;</title></head><body>'
    '<outline text="x" type="rss" xmlUrl="https://ki.example/feed" kisync:centre="ki-05170"/></body></opml>'
)


@pytest.mark.parametrize(
    "document",
    [
        ('<?xml version="1.0"?>' + LAUGHS + BODY).encode(),
        ('<?xml version="1.0"?>' + EXTERNAL + BODY.replace("&c;", "&passwd;")).encode(),
        # Past the first few kilobytes, and in UTF-16: a look at the start of the text misses both.
        ('<?xml version="1.0"?><!--' + "x" * 8000 + "-->" + LAUGHS + BODY).encode(),
        ('<?xml version="1.0" encoding="UTF-16"?>' + LAUGHS + BODY).encode("utf-16"),
    ],
    ids=["billion-laughs", "external-entity", "after-a-long-comment", "utf-16"],
)
def test_a_hostile_opml_is_refused(operator, engine, tmp_path, document):
    opml = tmp_path / "hostile.opml"
    opml.write_bytes(document)
    operator.listing()

    assert operator("sources", "import-opml", str(opml)) == (
        1, "", "kisync: OPML: DOCTYPE and entity declarations are not allowed\n"
    )
    assert [s.id for s in SourceRegistry(engine).list()] == ["ki_05170.wesel"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<opml><body><outline", "OPML: invalid XML: unclosed token"),
        (b"<rss version='2.0'/>", "OPML: the root element is <rss>, not <opml>"),
    ],
)
def test_an_opml_that_is_no_opml_is_refused(document, message):
    with pytest.raises(Exception, match=message):
        parse_opml(document)


# -- helpers ---------------------------------------------------------------------------------


def _context(source_id: str, centre: str) -> MergeContext:
    return MergeContext(node_centre="ki-05315", now=NOW, source_id=source_id, source_centre=centre)


def _definition(source) -> tuple:
    return (source.id, source.url, source.format, source.centre, source.relay, source.interval, source.enabled, source.managed_by)
