"""Decide what a batch of incoming items does to the store, without I/O.

``merge_items`` is a pure function of (stored versions, incoming items,
context) -> plan. The store applies the plan in one transaction
(``kisync.store.repository``). Keeping the decision pure is what lets the
property tests check convergence (STYLE.md, convention 2).

The version order (DESIGN.md): two copies of one id are ordered by
``(modified, deleted, content hash)``, the greater wins everywhere. It is a
total order, so applying the same versions in any order, batching or
repetition leaves every node in the same state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kisync.model import Item, Tombstone, content_hash, version_key

# A `modified` further ahead than this is refused: it would win against
# every honest update for as long as it stays in the future.
MAX_FUTURE = timedelta(days=1)
# The smallest step our fixed-width timestamps can tell apart.
_TICK = timedelta(microseconds=1)
# Extensions a node adds when it serves an item: views of its own store
# (kisync.web.api), not the origin's content. A peer that reads them back
# (someone made /api/v1/items a source) must not take them for a new version.
SERVED_ONLY = frozenset({"_also_reported_by"})


@dataclass(frozen=True)
class StoredVersion:
    """What the store knows of one id, as far as the merge needs it."""

    version_key: str
    origin_id: str
    modified: datetime
    # What this source last reported for the id (before any stamping):
    # used to spot origins that change content but not `modified`.
    reported_modified: datetime | None = None
    reported_hash: str | None = None


@dataclass(frozen=True)
class MergeContext:
    node_centre: str
    now: datetime
    source_id: str | None = None
    # The centre a direct source publishes for; None accepts any origin.
    source_centre: str | None = None
    relay: bool = False
    # After tombstones older than this were purged, relay-delivered items
    # older than it could resurrect a deletion we no longer remember.
    tombstone_horizon: datetime | None = None
    # This node's own authoring path: a direct source for the node's own centre
    # (its CMS export, its website feed). Its items are the node's own and
    # are taken; from anywhere else they are dropped (docs/federation.md).
    own: bool = False


@dataclass(frozen=True)
class Prepared:
    """An incoming version with its version key, ready to store."""

    item: Item | Tombstone
    digest: str
    version_key: str
    reported_modified: datetime
    reported_hash: str

    @property
    def id(self) -> str:
        return self.item.id


@dataclass(frozen=True)
class MergeWarning:
    item_id: str
    code: str
    message: str


@dataclass
class MergePlan:
    inserts: list[Prepared] = field(default_factory=list)  # new live items
    updates: list[Prepared] = field(default_factory=list)  # newer live versions of stored ids
    tombstones: list[Prepared] = field(default_factory=list)  # newer deletions, stored id or not
    unchanged: list[Prepared] = field(default_factory=list)  # the stored version again
    stale: int = 0  # older than what is stored (or than a copy in the same batch)
    dropped_own: int = 0
    warnings: list[MergeWarning] = field(default_factory=list)

    @property
    def changes(self) -> list[Prepared]:
        return self.inserts + self.updates + self.tombstones

    @property
    def seen(self) -> list[Prepared]:
        """Every accepted version that reached the store, changed or not."""
        return self.changes + self.unchanged


def merge_items(
    stored: Mapping[str, StoredVersion],
    incoming: Iterable[Item | Tombstone],
    ctx: MergeContext,
    digests: Sequence[str | None] | None = None,
) -> MergePlan:
    """What to do with ``incoming`` given the ``stored`` versions.

    ``digests``, when given, are ``incoming_digest`` of each incoming item
    (None where not known), computed beforehand where the CPU is cheaper
    (the parser processes of a sync).
    """
    plan = MergePlan()
    best: dict[str, Prepared] = {}
    hints = digests if digests is not None else ()
    for index, item in enumerate(incoming):
        hint = hints[index] if index < len(hints) else None
        prepared = _accept(item, stored.get(item.id), ctx, plan, hint)
        if prepared is None:
            continue
        other = best.get(item.id)
        if other is None or prepared.version_key > other.version_key:
            best[item.id] = prepared
        if other is not None:
            plan.stale += 1  # one of the two copies loses

    for prepared in best.values():
        current = stored.get(prepared.id)
        if current is not None and prepared.version_key < current.version_key:
            plan.stale += 1
        elif current is not None and prepared.version_key == current.version_key:
            plan.unchanged.append(prepared)
        elif prepared.item.deleted:
            plan.tombstones.append(prepared)
        elif current is None:
            plan.inserts.append(prepared)
        else:
            plan.updates.append(prepared)
    return plan


def _accept(
    item: Item | Tombstone,
    current: StoredVersion | None,
    ctx: MergeContext,
    plan: MergePlan,
    digest: str | None = None,
) -> Prepared | None:
    """Apply the per-item rules; None when the item is not taken."""
    origin = item.origin.id
    if origin == ctx.node_centre and not ctx.own:
        # Our own items coming back through other nodes: we are their only author.
        plan.dropped_own += 1
        return None
    # The authoring path carries the node's own items and nothing else.
    expected = ctx.node_centre if ctx.own else ctx.source_centre
    if expected is not None and not ctx.relay and origin != expected:
        plan.warnings.append(
            MergeWarning(
                item.id,
                "foreign_origin",
                f"origin {origin!r} is not this source's centre {expected!r}; "
                "only a relay source may deliver other centres' items",
            )
        )
        return None
    if item.modified > ctx.now + MAX_FUTURE:
        plan.warnings.append(
            MergeWarning(
                item.id,
                "future_modified",
                f"modified {item.modified.isoformat()} is more than a day in the future; item refused",
            )
        )
        return None
    if ctx.relay and current is None and ctx.tombstone_horizon and item.modified < ctx.tombstone_horizon:
        plan.warnings.append(
            MergeWarning(
                item.id,
                "beyond_tombstone_horizon",
                f"modified {item.modified.isoformat()} is older than the tombstone horizon "
                f"{ctx.tombstone_horizon.isoformat()}; the origin must publish it directly",
            )
        )
        return None

    item = _without_served_fields(item)
    digest = digest or content_hash(item)
    reported_modified = item.modified
    if (
        not ctx.relay
        and current is not None
        and current.reported_modified == item.modified
        and current.reported_hash == digest
        and current.modified != item.modified
    ):
        # The very version we stamped last time, delivered again unchanged:
        # it is the stored version, not an older one.
        item = item.model_copy(update={"modified": current.modified})
    elif (
        not ctx.relay
        and current is not None
        and current.reported_hash is not None
        and current.reported_modified == item.modified
        and current.reported_hash != digest
    ):
        # Sloppy origin: the content changed but `modified` did not (some CMS
        # exports never touch it). Stamp the fetch time so that the change
        # wins everywhere; relays never do this (DESIGN.md, "Sloppy origins").
        stamped = max(ctx.now, current.modified + _TICK)
        item = item.model_copy(update={"modified": stamped})
        plan.warnings.append(
            MergeWarning(
                item.id,
                "modified_not_changed",
                "content changed but modified did not; stamped with the fetch time",
            )
        )
    return Prepared(
        item=item,
        digest=digest,
        version_key=version_key(item, digest),
        reported_modified=reported_modified,
        reported_hash=digest,
    )


def incoming_digest(item: Item | Tombstone) -> str:
    """The content hash the merge gives ``item`` (served-only fields left out): a ``digests`` entry."""
    return content_hash(_without_served_fields(item))


def _without_served_fields(item: Item | Tombstone) -> Item | Tombstone:
    extra = item.model_extra or {}
    if not SERVED_ONLY.intersection(extra):
        return item
    return type(item).model_validate(item.model_dump(exclude=set(SERVED_ONLY)))
