"""Deletions implied by a complete snapshot, and the guard against mass deletion.

A snapshot (``complete: true``) lists every current item of its publisher,
so a stored item of that publisher that it no longer lists was deleted.
Pure functions; the sync applies their result through the normal merge.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from kisync.model import Centre, Tombstone
from kisync.vocab import Kind


@dataclass(frozen=True)
class LiveItem:
    id: str
    kind: str
    created: datetime
    modified: datetime  # as stored (perhaps stamped by us)
    reported: datetime | None = None  # as the origin last reported it

    @property
    def origin_modified(self) -> datetime:
        return self.reported or self.modified


@dataclass(frozen=True)
class SweepPlan:
    tombstones: list[Tombstone]
    stored: int  # live items of the publisher before the sweep
    held: str | None  # why the deletions were not made, if they were not

    @property
    def share(self) -> float:
        return len(self.tombstones) / self.stored if self.stored else 0.0


def plan_sweep(
    live: Iterable[LiveItem],
    present_ids: set[str],
    *,
    origin: Centre,
    generated: datetime | None,
    now: datetime,
    max_share: float,
    approved: bool = False,
) -> SweepPlan:
    live = list(live)
    missing = [
        item
        for item in live
        if item.id not in present_ids
        # An item changed after the snapshot was generated may have reached us
        # by another route (a relay) and simply postdates this file.
        and (generated is None or item.origin_modified <= generated)
    ]
    tombstones = [
        Tombstone(
            id=item.id,
            kind=Kind(item.kind),
            origin=origin,
            created=item.created,
            # The tombstone must beat the version it deletes on every node.
            modified=max(now, item.modified + timedelta(microseconds=1)),
            deleted=True,
        )
        for item in missing
    ]
    plan = SweepPlan(tombstones=tombstones, stored=len(live), held=None)
    if not tombstones or approved:
        return plan
    if plan.share > max_share:
        why = f"{plan.share:.0%}, more than sync.max_deletion_share {max_share:.0%}"
    elif not present_ids:
        # An empty snapshot is a broken export far more often than a centre that stopped
        # all its work: never deleted from without an operator, whatever the share allows.
        why = "the snapshot lists no items at all"
    else:
        return plan
    held = (
        f"the snapshot would delete {len(tombstones)} of {len(live)} items of {origin.id} ({why}); nothing was deleted. "
        "If this is intended, approve it: kisync sources approve-deletion SOURCE_ID"
    )
    return SweepPlan(tombstones=[], stored=len(live), held=held)
