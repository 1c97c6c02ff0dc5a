"""CPU of parse + normalize over a corpus, serially, and its output for a before/after comparison.

    .venv/bin/python bench/normalize_cpu.py [--corpus DIR] [--kind feed|exchange|both] [--repeat N]
                                            [--dump FILE | --check FILE] [--profile FILE]

The calls ``phase_kisync_serial`` in ``bench/sync.py`` makes, without the
store: ``process_page(syncer.job(source, page))`` for every body of the
corpus, timed with ``time.process_time`` (this process's CPU, so that the
other work on a shared machine counts less than in wall time). The total is
split into parse, normalize and the merge's content hash by wrapping the
three calls ``process_page`` makes. With ``--repeat`` the best of N runs is
reported per stage.

``--dump FILE`` writes every source's output (items as JSON, digests,
warnings, the envelope) as JSON lines; ``--check FILE`` compares this
tree's output with such a file and names the first difference: a change
meant to be faster only must leave it byte for byte as it was. The clock
is fixed (``NOW``) so that dumps of different runs compare.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sync import _settings

DEFAULT_CORPUS = Path(__file__).parent / "out" / "corpus-400x50-s1"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def jobs(corpus: Path, kind: str, db: str) -> list[tuple[str, Any]]:
    """(source id, PageJob) for every source of ``corpus``, built by ``Syncer.job`` as a sync builds them."""
    from kisync.fetch.types import FetchResult
    from kisync.sources import SourceRegistry
    from kisync.store.db import create_engine, upgrade
    from kisync.sync import Syncer

    manifest = json.loads((corpus / "manifest.json").read_text())
    key = "exchange" if kind == "exchange" else "feed"
    specs = [
        {"id": s["id"], "url": f"http://127.0.0.1:9/{s[key]}", "format": "exchange" if kind == "exchange" else "auto",
         "centre": s["centre"]}
        for s in manifest["sources"]
    ]  # fmt: skip
    settings = _settings(f"sqlite:///{db}", specs)
    engine = create_engine(settings.database.url)
    upgrade(engine)
    registry = SourceRegistry(engine)
    registry.sync_config(settings.sources, settings.sync.default_interval)
    syncer = Syncer(settings, engine, now=lambda: NOW)
    bodies = {s["id"]: (corpus / s[key]).read_bytes() for s in manifest["sources"]}
    result = []
    for source in registry.select():
        page = FetchResult(url=source.url, status=200, body=bodies[source.id], etag='"bench"', last_modified=None,
                           content_type=None)  # fmt: skip
        result.append((source.id, syncer.job(source, page)))
    return result


def run(page_jobs: list[tuple[str, Any]], outputs: list | None = None) -> dict[str, float]:
    """CPU seconds per stage of ``process_page`` over ``page_jobs``; the outputs appended to ``outputs``."""
    from kisync import pipeline

    times = {"parse": 0.0, "normalize": 0.0, "digest": 0.0}
    originals = {name: getattr(pipeline, name) for name in ("parse_document", "normalize_document", "incoming_digest")}

    def timed(stage: str, function):
        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                times[stage] += time.process_time() - started

        return wrapper

    pipeline.parse_document = timed("parse", originals["parse_document"])
    pipeline.normalize_document = timed("normalize", originals["normalize_document"])
    pipeline.incoming_digest = timed("digest", originals["incoming_digest"])
    try:
        started = time.process_time()
        for source_id, job in page_jobs:
            processed = pipeline.process_page(job)
            if outputs is not None:
                outputs.append((source_id, processed))
        times["total"] = time.process_time() - started
    finally:
        for name, function in originals.items():
            setattr(pipeline, name, function)
    return times


def dump_line(kind: str, source_id: str, processed: Any) -> str:
    return json.dumps(
        {
            "kind": kind,
            "source": source_id,
            "items": [item.model_dump_json() for item in processed.items],
            "digests": processed.digests,
            "warnings": processed.warnings,
            "envelope": repr(processed.doc),
            # A frozenset's repr is in hash order, which differs from process to process.
            "sweep": processed.sweep and [sorted(map(repr, processed.sweep.present)), processed.sweep.relayed_by_publisher],
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--kind", choices=["feed", "exchange", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--dump", type=Path, help="write the outputs as JSON lines")
    parser.add_argument("--check", type=Path, help="compare the outputs with a --dump file")
    parser.add_argument("--profile", type=Path, help="pyinstrument text profile of one run (1 ms interval)")
    args = parser.parse_args()

    kinds = ["feed", "exchange"] if args.kind == "both" else [args.kind]
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        page_jobs = {kind: jobs(args.corpus, kind, f"{tmp}/{kind}.sqlite") for kind in kinds}
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
    for kind in kinds:
        best: dict[str, float] = {}
        for attempt in range(args.repeat):
            outputs: list | None = [] if attempt == 0 and (args.dump or args.check) else None
            if profiler is not None and attempt == 0:
                profiler.start()
            times = run(page_jobs[kind], outputs)
            if profiler is not None and attempt == 0:
                profiler.stop()
            best = {k: min(v, best.get(k, v)) for k, v in times.items()}
            if outputs is not None:
                lines += [dump_line(kind, source_id, processed) for source_id, processed in outputs]
        split = "  ".join(f"{stage} {best[stage]:6.2f}" for stage in ("parse", "normalize", "digest"))
        runs = f"{len(page_jobs[kind])} bodies, best of {args.repeat}"
        print(f"{kind:9} process_page {best['total']:6.2f} s CPU   {split}   ({runs})")
    if profiler is not None:
        args.profile.write_text(profiler.output_text(unicode=True, color=False))
        print(f"profile: {args.profile}")
    if args.dump:
        args.dump.write_text("\n".join(lines) + "\n")
        print(f"outputs: {args.dump} ({len(lines)} bodies)")
    if args.check:
        # By (kind, source): a check of one kind compares with that kind's part of a dump of both.
        expected = {(line["kind"], line["source"]): line for line in map(json.loads, args.check.read_text().splitlines())}
        for a in map(json.loads, lines):
            b = expected.get((a["kind"], a["source"]))
            if b is None:
                sys.exit(f"DIFFERENT: {a['kind']} {a['source']} is not in the dump")
            for field, value in a.items():
                if value != b.get(field):
                    detail = value
                    if isinstance(value, list):
                        other = b.get(field) or []
                        index = next((i for i, (x, y) in enumerate(zip(value, other, strict=False)) if x != y), None)
                        if index is None:
                            detail = f"{len(value)} entries, was {len(other)}"
                        else:
                            detail = f"[{index}] {value[index]!r}\n   was {other[index]!r}"
                    sys.exit(f"DIFFERENT: {a['kind']} {a['source']} {field}: {detail}")
        print(f"identical: {len(lines)} bodies, byte for byte")


if __name__ == "__main__":
    main()
