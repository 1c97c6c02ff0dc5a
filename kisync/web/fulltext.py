"""Full-text search on SQLite: how a page reads its ``q`` (kisync.web.query builds the statement).

Every search is a prefix query, and FTS5 answers a prefix by merging the
doclists of all its terms in memory first, whatever else constrains the
query: a cost that grows with the store, paid again for every row id
probed. Spelled out as its terms (``"sprachcafe" OR "sprachcafes"``), the
same query seeks only what it needs. Then one of two reads costs the same
at any store size: a rare term lists its matches, reads each one's item
by seq and sorts them (a cost per match); a common one walks the items in
index order, as a page without a search does, and probes FTS5 for each
row read until the page is full (about limit x live / matches rows, at a
cost per row and term). ``plan_search`` asks FTS5 for just enough matches
to choose the cheaper.

PostgreSQL needs none of this: its planner picks between the GIN index of
``item.search`` and a walk of ``ix_item_modified_id`` by its estimate of the
term, when it plans for all of the page (not a cursor's first rows) and no
facet drives the read (kisync.web.query).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kisync.store.counts import KIND, read_counts

_WORD = re.compile(r"\w+")
# More words than this make a slow query and no better answer.
_MAX_WORDS = 16
# Characters that FTS5's tokenizer (unicode61, remove_diacritics 2) keeps in a
# word and folds as _fold does: tests/test_web_fulltext.py checks each against
# FTS5. A word with any other character keeps its prefix query (same matches).
_FOLDABLE = re.compile(r"[0-9A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u017e]+")
# Each term is a doclist seek per row probed; a search with more terms
# (a short prefix: "s" has hundreds) keeps its prefix query.
_MAX_TERMS = 64
# A probe of FTS5 per row walked costs about as much as this many listed matches per term:
# 3 to 7 at 1M items after the hourly tidy (bench/fulltext.py), more on a small store, where a
# list is cheaper, and between tidies, when the probe seeks in several FTS5 segments.
_PROBE_COST = 6
_TERM_AT = sa.text("SELECT term FROM item_fts_terms WHERE term >= :start ORDER BY term LIMIT 1")
_MATCHES_UP_TO = sa.text("SELECT count(*) FROM (SELECT 1 FROM item_fts WHERE item_fts MATCH :q LIMIT :n)")


def fts5_query(text: str) -> str:
    """User text as an FTS5 query that cannot be a syntax error.

    Every word becomes a quoted string (FTS5 syntax inside quotes is just
    text) with a prefix star, so ``Schul`` finds ``Schule``; the words are
    ANDed. ``\\w`` never matches a double quote, so no escaping is needed.
    """
    words = _WORD.findall(text)[:_MAX_WORDS]
    return " ".join(f'"{word}"*' for word in words)


@dataclass(frozen=True)
class Search:
    """How a page reads its ``q`` on SQLite: the FTS5 query, and whether it walks the items or lists the matches."""

    match: str
    walk: bool = False


def _fold(word: str) -> str:
    """A _FOLDABLE word as FTS5 indexes it: lower case, without diacritics (``Café`` -> ``cafe``)."""
    return "".join(c for c in unicodedata.normalize("NFD", word.lower()) if not unicodedata.combining(c))


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def prefix_terms(conn: Connection, prefix: str, up_to: int) -> list[str]:
    """The first ``up_to`` indexed terms that start with ``prefix``, in order.

    A skip scan: each step seeks the first term after the one before (its
    immediate successor is itself plus "\\x01": no term holds a control
    character), so it reads one row per term, not each term's every instance.
    """
    terms: list[str] = []
    start = prefix
    while len(terms) < up_to:
        term = conn.execute(_TERM_AT, {"start": start}).scalar()
        if term is None or not term.startswith(prefix):
            break
        terms.append(term)
        start = term + "\x01"
    return terms


def spelled_out(conn: Connection, text: str) -> list[list[str]] | None:
    """The terms of each word of ``fts5_query(text)``, or None when a word's cannot be found.

    The terms are read in statements of their own: a term that a concurrent
    write adds between them and the page's query is not searched by that one
    page (the next finds it).
    """
    words: list[list[str]] = []
    budget = _MAX_TERMS
    for word in _WORD.findall(text)[:_MAX_WORDS]:
        if not _FOLDABLE.fullmatch(word):
            return None
        prefix = _fold(word)
        terms = prefix_terms(conn, prefix, budget + 1)
        if len(terms) > budget:
            return None
        budget -= len(terms)
        # No term has the prefix: the prefix as a term matches nothing, as the prefix query does.
        words.append(terms or [prefix])
    return words or None


def terms_query(words: list[list[str]]) -> str:
    """The FTS5 query that finds each word by one of its terms: ``("sprachcafe" OR "sprachcafes") AND …``."""
    return " AND ".join("(" + " OR ".join(map(_quoted, terms)) + ")" for terms in words)


def walk_from(limit: int, live: int, terms: int) -> int:
    """The number of matches from which walking the items costs less than listing the matches.

    Walking reads about ``limit * live / matches`` rows, at _PROBE_COST per
    term each; listing reads ``matches``. The two are equal at the square
    root of ``_PROBE_COST * terms * limit * live``. Either read costs at most
    that much, and a term that is rare (a few matches) or common (a share of
    the store) costs the same at any store size.
    """
    return max(1, math.isqrt(_PROBE_COST * terms * limit * live))


def plan_search(conn: Connection, q: str | None, limit: int) -> Search | None:
    """How to read the newest ``limit`` matches of ``q``.

    None when they read as ``select_items`` does: off SQLite, or when a word cannot be spelled out.
    """
    if not q or conn.dialect.name != "sqlite":
        return None
    words = spelled_out(conn, q)
    if words is None:
        return None
    match = terms_query(words)
    live = sum(read_counts(conn, KIND).values())  # kept by every write (kisync.store.counts)
    enough = walk_from(limit, live, sum(map(len, words)))
    found = conn.execute(_MATCHES_UP_TO, {"q": match, "n": enough}).scalar_one()
    return Search(match, walk=found >= enough)
