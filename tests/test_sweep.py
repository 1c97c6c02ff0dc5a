"""Deletions implied by a complete snapshot, and the mass-deletion guard."""

from __future__ import annotations

from datetime import timedelta

from kisync.model import Centre
from kisync.store.sweep import LiveItem, plan_sweep
from tests.factories import T0

ORIGIN = Centre(id="ki-05170", name="KI Kreis Wesel")
NOW = T0 + timedelta(days=10)


def live_items(n: int, minutes: int = 0) -> list[LiveItem]:
    return [LiveItem(f"https://example.org/p/{i}", "project", T0, T0 + timedelta(minutes=minutes)) for i in range(n)]


def test_missing_items_get_tombstones_that_beat_them():
    items = live_items(4)
    plan = plan_sweep(items, {i.id for i in items[:3]}, origin=ORIGIN, generated=NOW, now=NOW, max_share=0.5)
    assert [t.id for t in plan.tombstones] == [items[3].id]
    assert plan.tombstones[0].modified == NOW and plan.tombstones[0].origin == ORIGIN and plan.held is None


def test_guard_holds_a_mass_deletion():
    items = live_items(10)
    plan = plan_sweep(items, {items[0].id}, origin=ORIGIN, generated=NOW, now=NOW, max_share=0.5)
    assert plan.tombstones == [] and "9 of 10" in plan.held and "approve-deletion" in plan.held


def test_empty_snapshot_never_deletes_without_approval():
    plan = plan_sweep(live_items(3), set(), origin=ORIGIN, generated=NOW, now=NOW, max_share=0.9)
    assert plan.tombstones == [] and plan.held


def test_approval_lets_it_through():
    plan = plan_sweep(live_items(10), set(), origin=ORIGIN, generated=NOW, now=NOW, max_share=0.5, approved=True)
    assert len(plan.tombstones) == 10


def test_items_newer_than_the_snapshot_are_kept():
    items = live_items(2, minutes=60)
    plan = plan_sweep(items, set(), origin=ORIGIN, generated=T0 + timedelta(minutes=30), now=NOW, max_share=1)
    assert plan.tombstones == []
