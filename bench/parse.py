"""Parse cost of the RSS/Atom bodies of a corpus: the fast path (kisync.parse.fastxml) against feedparser.

    .venv/bin/python bench/parse.py [--corpus bench/out/corpus-400x50-s1] [--repeat 3]

Without ``--corpus`` the bodies are rendered in memory by ``bench/corpus.py``
(400 sources × 50 items, seed 1: the same bytes as corpus-400x50-s1). Serial
CPU time (``time.process_time``), the best of ``--repeat`` runs, of
``parse_xml_feed`` on the decoded texts and of ``parse_document`` on the
bodies; the feedparser column is the same code with the fast path switched
off. Also says how many bodies take the fast path and whether every result
equals feedparser's.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import OUT, Report, machine_line, table
from bench.corpus import build_sources, render_atom, render_rss
from kisync.parse import parse_document, xmlfeed
from kisync.parse.encoding import decode_xml
from kisync.parse.fastxml import read_feed
from kisync.parse.sniff import sniff

URL = "https://bench.example/feed"


def corpus_bodies(corpus: Path | None) -> list[bytes]:
    if corpus is not None:
        return [path.read_bytes() for path in sorted((corpus / "feeds").glob("*.xml"))]
    renderers = {"rss": render_rss, "atom": render_atom}
    return [renderers[s.format](s) for s in build_sources(400, 50, seed=1) if s.format in renderers]


def cpu_seconds(func: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        func()
        best = min(best, time.process_time() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=None, help="a corpus directory with feeds/*.xml")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    report = Report("parse")
    report.say(f"parse: {machine_line()}")
    bodies = corpus_bodies(args.corpus)
    texts = [decode_xml(body, sniff(body))[0] for body in bodies]
    fast = sum(read_feed(text) is not None for text in texts)
    equal = sum(xmlfeed.parse_xml_feed(t, URL) == xmlfeed.parse_xml_feed(t, URL, fast=False) for t in texts)
    report.say(f"  {len(bodies)} RSS/Atom bodies from {args.corpus or 'bench/corpus.py (400 × 50, seed 1)'}")
    report.say(f"  fast path taken by {fast} of {len(texts)} ({fast / len(texts):.0%}); equal to feedparser's: {equal}")

    def xml_feeds(use_fast: bool) -> Callable[[], object]:
        return lambda: [xmlfeed.parse_xml_feed(text, URL, fast=use_fast) for text in texts]

    def documents() -> object:
        return [parse_document(body, url=URL) for body in bodies]

    def documents_by_feedparser() -> object:
        with mock.patch.object(xmlfeed, "read_feed", return_value=None):
            return documents()

    rows = []
    for name, slow, quick in [
        ("parse_xml_feed", xml_feeds(False), xml_feeds(True)),
        ("parse_document", documents_by_feedparser, documents),
    ]:
        slow_s, quick_s = cpu_seconds(slow, args.repeat), cpu_seconds(quick, args.repeat)
        rows.append([name, f"{slow_s:.2f} s", f"{quick_s:.2f} s", f"{slow_s / quick_s:.1f}x"])
    report.say()
    report.say(table(["serial CPU", "feedparser", "fast path", "speed-up"], rows))
    report.save(OUT / "parse.txt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
