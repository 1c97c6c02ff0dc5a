"""The built-in registry of the 54 Kommunale Integrationszentren of NRW.

From ``kisync/data/ki-nrw.csv`` (official district keys). It names the
origin of items read from RSS/Atom/JSON Feed sources, whose feeds do not
say which centre they belong to.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from kisync.model import Centre


@dataclass(frozen=True)
class RegistryEntry:
    id: str
    key: str
    name: str
    kind: str
    region: str

    def as_centre(self) -> Centre:
        return Centre(id=self.id, name=f"KI {self.name}", ars=self.key)


@cache
def registry() -> dict[str, RegistryEntry]:
    text = resources.files("kisync").joinpath("data/ki-nrw.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return {
        row["id"]: RegistryEntry(row["id"], row["key"], row["name"], row["kind"], row["regierungsbezirk"])
        for row in rows
    }


def centre_for(centre_id: str, fallback_name: str | None = None) -> Centre:
    """The registry's entry, or a centre named by the feed (or by its id) when it is not a KI of NRW."""
    entry = registry().get(centre_id)
    if entry is not None:
        return entry.as_centre()
    return Centre(id=centre_id, name=(fallback_name or centre_id)[:500])
