"""What the pages read besides items: the filter form's choices, counts. In sets, as the API reads.

The filters themselves are kisync.web.query's (``select_items``): a page
and the API with the same parameters show the same items.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kisync.store.tables import ItemRow
from kisync.vocab import AUDIENCES, PROGRAMMES, FieldOfAction, Kind
from kisync.web import query as q
from kisync.web.html.views import centre_name, language_name, primary_language
from kisync.web.params import ItemFilter

_ITEM = ItemRow.__table__


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class FilterChoices:
    """The options of the filter form: only values some live item has (and whatever is selected now)."""

    fields: list[Choice]
    kinds: list[Choice]
    centres: list[Choice]
    audiences: list[Choice]
    programmes: list[Choice]
    languages: list[Choice]


def count_items(conn: Connection, flt: ItemFilter) -> int:
    """How many live items the filter finds: the API's query, counted."""
    listed = q.select_items(flt, conn.dialect.name).order_by(None).subquery()
    return int(conn.execute(sa.select(sa.func.count()).select_from(listed)).scalar_one())


def language_counts(conn: Connection) -> Counter[str]:
    """Live items per primary language subtag (``de-AT`` counts as ``de``, as the ``lang`` filter finds it)."""
    query = sa.select(_ITEM.c.language, sa.func.count()).where(_ITEM.c.deleted.is_(False)).group_by(_ITEM.c.language)
    counts: Counter[str] = Counter()
    for language, n in conn.execute(query):
        counts[primary_language(language)] += int(n)
    return counts


def _choices(values: set[str], label) -> list[Choice]:
    return sorted((Choice(v, label(v)) for v in values), key=lambda c: c.label.casefold())


def filter_choices(conn: Connection, selected: ItemFilter) -> FilterChoices:
    centres = set(q.live_counts_by_origin(conn)) | set(selected.centres)
    audiences = set(q.facet_counts(conn, "audience")) | set(selected.audiences)
    programmes = set(q.facet_counts(conn, "programme")) | set(selected.programmes)
    languages = set(language_counts(conn)) | set(selected.langs)
    return FilterChoices(
        fields=[Choice(f.value, f.label) for f in FieldOfAction],
        kinds=[Choice(k.value, k.label) for k in Kind],
        centres=_choices(centres, centre_name),
        audiences=_choices(audiences, lambda code: AUDIENCES.get(code, code)),
        programmes=_choices(programmes, lambda code: PROGRAMMES.get(code, code)),
        # German first: most items are German, and it is the page's language.
        languages=[Choice("de", "Deutsch")] * ("de" in languages)
        + _choices(languages - {"de"}, lambda code: f"{language_name(code)} ({code})"),
    )
