"""Deterministic canonical items for filling a store (bench/serve.py, bench/scale.py).

Item ``n`` is the same at every store size, so a store of 10k items is the
first 10k of the store of 1M. ``modified`` is spread over five years at
random (not in insertion order), so "newest first" has to be found, not
just read off the end. Content is sanitized HTML as the normalizer leaves
it (the store takes normalized items).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from bench.corpus import (
    AUDIENCES,
    CATEGORIES,
    CLAUSES,
    DETAILS,
    FIELDS,
    KINDS,
    OBJECTS,
    PLACES,
    PROGRAMMES,
    STATUSES,
    SUBJECTS,
    TITLES,
    VERBS,
)

EPOCH = datetime(2025, 6, 1, tzinfo=UTC)
SPAN_MINUTES = 5 * 365 * 24 * 60
NODE_CENTRE = "ki-bench-node"  # never an origin of the generated items


@cache
def centres() -> list[dict]:
    registry = Path(__file__).resolve().parent.parent / "kisync" / "data" / "ki-nrw.csv"
    rows = list(csv.DictReader(registry.read_text(encoding="utf-8").splitlines()))
    return [{"id": r["id"], "name": f"KI {r['name']}", "ars": r["key"]} for r in rows]


def _sentence(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}, {rng.choice(CLAUSES)}. {rng.choice(DETAILS)}"


def item_dict(n: int, seed: int = 1) -> dict:
    rng = random.Random(f"{seed}:item:{n}")
    centre = centres()[rng.randrange(len(centres()))]
    modified = EPOCH - timedelta(minutes=rng.randrange(SPAN_MINUTES))
    place = rng.choice(PLACES)
    host = f"www.{centre['id']}.de"
    paragraphs = [_sentence(rng) for _ in range(rng.randint(2, 4))]
    content = "".join(f"<p>{p}</p>" for p in paragraphs[:-1])
    content += f'<ul><li>{rng.choice(DETAILS)}</li><li>{rng.choice(DETAILS)}</li></ul><p>{paragraphs[-1]} ' \
               f'<a href="https://{host}/projekte/{n}" rel="noopener noreferrer">Mehr</a></p>'
    return {
        "id": f"https://{host}/projekte/{n}",
        "kind": rng.choice(KINDS),
        "origin": centre,
        "created": modified - timedelta(days=rng.randint(0, 60)),
        "modified": modified,
        "title": rng.choice(TITLES).format(place=place, year=modified.year),
        "summary": paragraphs[0],
        "content_html": content,
        "url": f"https://{host}/projekte/{n}",
        "language": "de",
        "fields_of_action": sorted(rng.sample(FIELDS, rng.randint(1, 2)), key=FIELDS.index),
        "audience": rng.sample(AUDIENCES, rng.randint(1, 3)),
        "programmes": rng.sample(PROGRAMMES, rng.randint(0, 2)),
        "tags": rng.sample(CATEGORIES, rng.randint(1, 3)),
        "status": rng.choice(STATUSES),
        "area_served": [centre["ars"]],
        "contact": {"organisation": centre["name"], "email": f"integration@{host.removeprefix('www.')}"},
    }


def generate_items(start: int, count: int, seed: int = 1) -> Iterator:
    """Items ``start`` … ``start + count - 1`` as validated ``kisync.model.Item`` objects."""
    from kisync.model import Item

    for n in range(start, start + count):
        yield Item.model_validate(item_dict(n, seed))


def fill_store(engine, start: int, count: int, *, batch: int = 5_000, seed: int = 1, progress=None) -> float:
    """Merge items ``start`` … into the store in batches of ``batch`` with ``Store.merge``; returns the seconds spent."""
    import time

    from kisync.store.merge import MergeContext
    from kisync.store.repository import Store

    store = Store(engine)
    spent = 0.0
    done = 0
    while done < count:
        size = min(batch, count - done)
        items = list(generate_items(start + done, size, seed))
        started = time.perf_counter()
        store.merge(items, MergeContext(node_centre=NODE_CENTRE, now=datetime.now(UTC), source_id="bench-load"))
        spent += time.perf_counter() - started
        done += size
        if progress is not None:
            progress(start + done)
    return spent

