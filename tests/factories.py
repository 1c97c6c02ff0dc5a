"""Small builders for items in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kisync.model import Item, Tombstone

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def centre(centre_id: str = "ki-05170") -> dict:
    return {"id": centre_id, "name": f"KI {centre_id}"}


def live(item_id: str = "https://example.org/p/1", *, minutes: int = 0, title: str = "Rucksack KiTa",
         origin: str = "ki-05170", **fields) -> Item:
    return Item.model_validate(
        {
            "id": item_id,
            "kind": "project",
            "origin": centre(origin),
            "created": T0,
            "modified": T0 + timedelta(minutes=minutes),
            "title": title,
            "fields_of_action": ["elementarbereich"],
            **fields,
        }
    )


def tombstone(item_id: str = "https://example.org/p/1", *, minutes: int = 0, origin: str = "ki-05170") -> Tombstone:
    return Tombstone.model_validate(
        {
            "id": item_id,
            "kind": "project",
            "origin": centre(origin),
            "created": T0,
            "modified": T0 + timedelta(minutes=minutes),
            "deleted": True,
        }
    )
