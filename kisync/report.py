"""Terminal output for the one-shot commands: a progress bar and tables."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO

from kisync.sources import Source
from kisync.sync import SyncReport


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Progress:
    """A bar on a terminal; one plain line per source elsewhere (CI, logs, pipes)."""

    def __init__(self, total: int, stream: IO[str] | None = None):
        self.total, self.done = total, 0
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()

    def __call__(self, report: SyncReport) -> None:
        self.done += 1
        if self.tty:
            width = 30
            filled = width * self.done // max(self.total, 1)
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} {report.source_id[:40]:<40}")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            detail = report.error if not report.ok else _counts(report)
            self.stream.write(f"{report.status:<12} {report.source_id}  {detail}  ({report.duration:.2f} s)\n")
        self.stream.flush()


def _counts(report: SyncReport) -> str:
    o = report.outcome
    if o is None or report.not_modified:
        return "unchanged"
    return f"{o.seen} seen, {o.new} new, {o.updated} updated, {o.deleted} deleted, {report.warnings} warnings"


def summary(reports: Sequence[SyncReport]) -> str:
    rows = []
    for r in reports:
        o = r.outcome
        rows.append(
            [
                r.source_id,
                r.status,
                o.http_status if o else "",
                o.seen if o and r.ok else "",
                o.new if o and r.ok else "",
                o.updated if o and r.ok else "",
                o.deleted if o and r.ok else "",
                r.warnings,
                f"{r.duration:.2f}",
                (r.error or r.on_hold or "")[:100],
            ]
        )
    text = table(["source", "status", "http", "seen", "new", "upd", "del", "warn", "s", "error / note"], rows)
    failed = sum(not r.ok for r in reports)
    unchanged = sum(r.not_modified for r in reports)
    changed = sum(r.outcome.new + r.outcome.updated + r.outcome.deleted for r in reports if r.ok and r.outcome)
    line = f"{len(reports)} source(s): {len(reports) - failed} ok, {failed} failed"
    if unchanged:
        line += f", {unchanged} not modified"
    if changed == 0:
        line += "; nothing changed"
    else:
        new = sum(r.outcome.new for r in reports if r.ok and r.outcome)
        upd = sum(r.outcome.updated for r in reports if r.ok and r.outcome)
        dele = sum(r.outcome.deleted for r in reports if r.ok and r.outcome)
        line += f"; {new} new, {upd} updated, {dele} deleted"
    return text + "\n" + line


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = (moment - now).total_seconds()
    word = "in " if seconds > 0 else ""
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{word}{seconds / size:.0f}{unit}" + ("" if word else " ago")
    return f"{word}{seconds:.0f}s" + ("" if word else " ago")


def sources_table(sources: Sequence[Source]) -> str:
    now = datetime.now(UTC)
    rows = [
        [
            s.id,
            "on" if s.enabled else "off:" + "+".join(s.disabled_by),  # who turned it off: config, operator
            s.format,
            s.centre or ("relay" if s.relay else ""),
            _ago(s.last_success, now),
            "due" if s.enabled and s.is_due(now) else _ago(s.next_due, now),
            s.consecutive_failures or "",
            s.seen,
            (s.error or s.on_hold or "")[:80],
        ]
        for s in sources
    ]
    return table(["id", "", "format", "centre", "last success", "next", "fails", "items", "problem"], rows)
