"""The pure merge: rules one by one, then convergence as properties."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kisync.model import content_hash, version_key
from kisync.store.merge import MergeContext, StoredVersion, merge_items
from tests.factories import T0, live, tombstone

NOW = T0 + timedelta(days=30)
RELAY = MergeContext(node_centre="ki-05315", now=NOW, source_id="relay", relay=True)


def stored_of(item, **extra) -> StoredVersion:
    return StoredVersion(version_key=version_key(item), origin_id=item.origin.id, modified=item.modified, **extra)


def test_new_item_is_an_insert():
    plan = merge_items({}, [live()], RELAY)
    assert [p.id for p in plan.inserts] == ["https://example.org/p/1"]
    assert not plan.updates and not plan.tombstones and not plan.warnings


def test_newer_version_updates_older_is_stale_same_is_unchanged():
    old, new = live(minutes=1), live(minutes=2, title="Rucksack KiTa Moers")
    assert [p.id for p in merge_items({old.id: stored_of(old)}, [new], RELAY).updates] == [new.id]
    plan = merge_items({new.id: stored_of(new)}, [old], RELAY)
    assert plan.stale == 1 and not plan.changes
    plan = merge_items({new.id: stored_of(new)}, [new], RELAY)
    assert len(plan.unchanged) == 1 and not plan.changes


def test_tombstone_wins_at_equal_modified_and_is_stored_for_unknown_ids():
    item, gone = live(minutes=5), tombstone(minutes=5)
    plan = merge_items({item.id: stored_of(item)}, [gone], RELAY)
    assert [p.id for p in plan.tombstones] == [item.id]
    # A tombstone for an id we never saw is kept: it must beat the live copy that may come later.
    assert len(merge_items({}, [gone], RELAY).tombstones) == 1


def test_newer_live_version_after_tombstone_wins():
    gone, back = tombstone(minutes=5), live(minutes=6)
    plan = merge_items({gone.id: stored_of(gone)}, [back], RELAY)
    assert [p.id for p in plan.updates] == [back.id]


def test_equal_modified_is_ordered_by_content_hash():
    a, b = live(minutes=1, title="A"), live(minutes=1, title="B")
    winner = max([a, b], key=version_key)
    plan = merge_items({}, [a, b], RELAY)
    assert [p.item.title for p in plan.inserts] == [winner.title]
    assert plan.stale == 1


def test_own_origin_items_are_dropped():
    plan = merge_items({}, [live(origin="ki-05315")], RELAY)
    assert plan.dropped_own == 1 and not plan.changes and not plan.warnings


def test_future_modified_is_refused_with_a_warning():
    far = live(minutes=int((NOW - T0).total_seconds() // 60) + 24 * 60 + 1)
    near = live("https://example.org/p/2", minutes=int((NOW - T0).total_seconds() // 60) + 60)
    plan = merge_items({}, [far, near], RELAY)
    assert [p.id for p in plan.inserts] == [near.id]
    assert [(w.item_id, w.code) for w in plan.warnings] == [(far.id, "future_modified")]


def test_direct_source_accepts_only_its_centre():
    ctx = MergeContext(node_centre="ki-05315", now=NOW, source_id="wesel", source_centre="ki-05170")
    plan = merge_items({}, [live(), live("https://example.org/p/2", origin="ki-05154")], ctx)
    assert [p.id for p in plan.inserts] == ["https://example.org/p/1"]
    assert [w.code for w in plan.warnings] == ["foreign_origin"]


def test_relay_refuses_unknown_items_older_than_the_tombstone_horizon():
    ctx = MergeContext(node_centre="ki-05315", now=NOW, relay=True, tombstone_horizon=T0 + timedelta(days=1))
    plan = merge_items({}, [live(minutes=10)], ctx)
    assert not plan.changes and [w.code for w in plan.warnings] == ["beyond_tombstone_horizon"]


def test_sloppy_origin_gets_the_fetch_time():
    ctx = MergeContext(node_centre="ki-05315", now=NOW, source_id="wesel", source_centre="ki-05170")
    before, after = live(minutes=1, title="Alt"), live(minutes=1, title="Neu")
    stored = stored_of(before, reported_modified=before.modified, reported_hash=content_hash(before))
    plan = merge_items({before.id: stored}, [after], ctx)
    assert [p.item.modified for p in plan.updates] == [NOW]
    assert plan.updates[0].reported_modified == before.modified
    assert [w.code for w in plan.warnings] == ["modified_not_changed"]
    # A relay never stamps: the equal-modified copy is ordered by its hash only.
    relayed = merge_items({before.id: stored}, [after], RELAY)
    assert all(p.item.modified == before.modified for p in relayed.changes + relayed.unchanged)


# -- properties ------------------------------------------------------------------

IDS = [f"https://example.org/p/{n}" for n in range(4)]

versions = st.lists(
    st.builds(
        lambda item_id, minutes, deleted, title: tombstone(item_id, minutes=minutes)
        if deleted
        else live(item_id, minutes=minutes, title=title),
        st.sampled_from(IDS),
        st.integers(0, 3),
        st.booleans(),
        st.sampled_from(["A", "B", "C"]),
    ),
    max_size=12,
)


def apply_in_batches(items, batch_sizes) -> dict[str, str]:
    """Simulate a store: id -> version key, applying plan after plan."""
    state: dict[str, StoredVersion] = {}
    sizes = iter(batch_sizes)
    start = 0
    while start < len(items):
        size = max(1, next(sizes, 1))
        plan = merge_items(state, items[start : start + size], RELAY)
        for prepared in plan.changes:
            state[prepared.id] = StoredVersion(prepared.version_key, prepared.item.origin.id, prepared.item.modified)
        start += size
    return {item_id: stored.version_key for item_id, stored in state.items()}


def expected_state(items) -> dict[str, str]:
    best: dict[str, str] = {}
    for item in items:
        best[item.id] = max(best.get(item.id, ""), version_key(item))
    return best


@settings(max_examples=300, deadline=None)
@given(versions, st.randoms(use_true_random=False), st.lists(st.integers(1, 5), max_size=12), st.integers(1, 3))
def test_any_order_batching_and_repetition_converges(items, rnd, batch_sizes, repeats):
    shuffled = items * repeats
    rnd.shuffle(shuffled)
    assert apply_in_batches(shuffled, batch_sizes) == expected_state(items)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10), min_size=1, max_size=8), st.integers(10, 12), st.randoms(use_true_random=False))
def test_tombstone_beats_every_older_live_version(live_minutes, tomb_minutes, rnd):
    items = [live(minutes=m, title=f"v{m}") for m in live_minutes] + [tombstone(minutes=tomb_minutes)]
    rnd.shuffle(items)
    state = apply_in_batches(items, [1] * len(items))
    assert state["https://example.org/p/1"].split("|")[1] == "1"  # deleted


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 100), st.integers(1, 100))
def test_older_version_never_overwrites_newer(base, delta):
    newer, older = live(minutes=base + delta, title="neu"), live(minutes=base, title="alt")
    assert apply_in_batches([newer, older], [1, 1]) == {newer.id: version_key(newer)}


def test_stamped_version_delivered_again_is_unchanged():
    ctx = MergeContext(node_centre="ki-05315", now=NOW, source_id="wesel", source_centre="ki-05170")
    before, after = live(minutes=1, title="Alt"), live(minutes=1, title="Neu")
    stored = stored_of(before, reported_modified=before.modified, reported_hash=content_hash(before))
    stamped = merge_items({before.id: stored}, [after], ctx).updates[0]
    now_stored = StoredVersion(stamped.version_key, "ki-05170", stamped.item.modified,
                               reported_modified=stamped.reported_modified, reported_hash=stamped.reported_hash)
    again = merge_items({before.id: now_stored}, [after], ctx)
    assert len(again.unchanged) == 1 and again.stale == 0 and not again.changes and not again.warnings


@settings(max_examples=200, deadline=None)
@given(versions, st.booleans())
def test_digests_computed_beforehand_plan_as_the_merge_would(items, served_field):
    """A sync hands the merge digests made in its parser processes: the plan must be the same as without them."""
    from kisync.store.merge import incoming_digest

    if served_field:  # a served-only field is not content: the digest is the one without it
        items = [i.model_copy(update={"_also_reported_by": ["https://x.example/"]}) if not i.deleted else i for i in items]
    with_digests = merge_items({}, items, RELAY, [incoming_digest(i) for i in items])
    without = merge_items({}, items, RELAY)
    assert [(p.id, p.version_key) for p in with_digests.changes] == [(p.id, p.version_key) for p in without.changes]
    assert with_digests.stale == without.stale
