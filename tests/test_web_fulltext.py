"""Full-text search on SQLite (kisync.web.fulltext): the folding FTS5 does, prefixes spelled out, the choice to walk.

What a search finds, read either way, is tests/test_web_query.py's (the differential test and the plans).
"""

from __future__ import annotations

from kisync.web import fulltext as ft
from tests.factories import live
from tests.test_web_query import RELAY, sqlite_store


def test_foldable_characters_fold_as_fts5_folds_them(tmp_path):
    """Every character ``_FOLDABLE`` admits is a token character that FTS5 folds as ``_fold`` does
    (U+00B5 µ, for one, becomes Greek μ in FTS5, and U+01E2 Ǣ keeps its macron: they are left out)."""
    engine, _ = sqlite_store(tmp_path)
    foldable = [chr(c) for c in range(0x250) if ft._FOLDABLE.fullmatch(chr(c))]
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM item_fts")
        conn.exec_driver_sql("INSERT INTO item_fts (rowid, text) VALUES (?, ?)",
                             [(n, f"x{c}x") for n, c in enumerate(foldable)])
        indexed = dict(conn.exec_driver_sql("SELECT doc, group_concat(term, ' ') FROM item_fts_terms GROUP BY doc").all())
        conn.exec_driver_sql("DELETE FROM item_fts")
    engine.dispose()
    assert len(foldable) > 200
    assert {n: indexed.get(n) for n in range(len(foldable))} == {n: ft._fold(f"x{c}x") for n, c in enumerate(foldable)}


def test_a_prefix_is_spelled_out_as_its_terms(tmp_path, monkeypatch):
    engine, store = sqlite_store(tmp_path)
    words = ["Sprachcafd", "Sprachcafé", "Sprachcafés", "Sprachcaféteria", "Sprachcafg", "Sprachcafe"]
    store.merge([live(f"https://example.org/p/{n}", title=word) for n, word in enumerate(words)], RELAY)
    with engine.connect() as conn:
        assert ft.prefix_terms(conn, "sprachcafe", 10) == ["sprachcafe", "sprachcafes", "sprachcafeteria"]
        assert ft.prefix_terms(conn, "sprachcafe", 2) == ["sprachcafe", "sprachcafes"]
        assert ft.prefix_terms(conn, "sprachcafex", 10) == []
        assert ft.spelled_out(conn, "Sprachcafés Sprachcafg!") == [["sprachcafes"], ["sprachcafg"]]
        assert ft.spelled_out(conn, "Sprachcafé") == [["sprachcafe", "sprachcafes", "sprachcafeteria"]]
        assert ft.spelled_out(conn, "nie") == [["nie"]]  # no term has the prefix: matches nothing, as "nie"* does
        assert ft.spelled_out(conn, "Ωmega") is None and ft.spelled_out(conn, "!") is None
        assert ft.terms_query([["sprachcafe", "sprachcafes"], ["nie"]]) == '("sprachcafe" OR "sprachcafes") AND ("nie")'
        monkeypatch.setattr(ft, "_MAX_TERMS", 3)
        assert ft.spelled_out(conn, "Sprachcafé") is not None
        assert ft.spelled_out(conn, "Sprachcafé Sprachcafg") is None
        # Read in the vocabulary's order, one row per step: no sort of every term after the start.
        plan = [step for *_, step in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT term FROM item_fts_terms WHERE term >= 'a' ORDER BY term LIMIT 1")]
    engine.dispose()
    assert not any("TEMP B-TREE" in step for step in plan), plan


def test_a_search_walks_when_its_matches_are_many_and_lists_them_when_few(tmp_path):
    engine, store = sqlite_store(tmp_path)
    titles = ["Sprachcafé Zauberwürfel" if n == 7 else "Sprachcafé" for n in range(300)]
    store.merge([live(f"https://example.org/p/{n}", minutes=n, title=t) for n, t in enumerate(titles)], RELAY)
    with engine.connect() as conn:
        assert ft.plan_search(conn, "Sprachcafé", 10) == ft.Search('("sprachcafe")', walk=True)
        assert ft.plan_search(conn, "Zauberwürfel", 10) == ft.Search('("zauberwurfel")', walk=False)
        assert ft.plan_search(conn, "Ωmega", 10) is None  # read as select_items does
    engine.dispose()
