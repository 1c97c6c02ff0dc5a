"""What every public output does to a stored item before it leaves the node.

One function for every path (feeds, API, CSV, snapshot, changes), so that
no output can forget a rule:

- privacy: unless ``privacy.publish_contacts`` is set, ``contact`` keeps
  only the organisation and its URL; the personal parts (name, e-mail,
  phone) go, and so does any extension (``_mobil``), which may be personal
  too: an allowlist, so that no new field can leak (DESIGN.md, "Canonical item");
- federation: this node's centre is appended to ``via`` unless the item is
  our own or ``via`` already ends with us (DESIGN.md, "Federation rules").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kisync.config import Settings

# What a contact keeps when personal data is not published: the organisation's own contact.
ORGANISATION_CONTACT_FIELDS = ("organisation", "url")
MAX_VIA = 100


@dataclass(frozen=True)
class Publication:
    """The settings that shape public outputs."""

    node_centre: str
    publish_contacts: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> Publication:
        return cls(settings.node.centre, settings.privacy.publish_contacts)


def publish_item(data: dict[str, Any], publication: Publication) -> dict[str, Any]:
    """The item (exchange-format dict, as stored) as this node publishes it. Changes ``data`` in place."""
    contact = data.get("contact")
    if isinstance(contact, dict) and not publication.publish_contacts:
        for key in [k for k in contact if k not in ORGANISATION_CONTACT_FIELDS]:
            del contact[key]
    origin = data.get("origin") or {}
    via = list(data.get("via") or [])
    ours = origin.get("id") == publication.node_centre
    # The model allows 100 hops; a longer path is informational anyway.
    if not ours and (not via or via[-1] != publication.node_centre) and len(via) < MAX_VIA:
        via.append(publication.node_centre)
    data["via"] = via
    return data


def publish_json(stored: str, publication: Publication) -> dict[str, Any]:
    """The stored JSON of an item, parsed and published."""
    return publish_item(json.loads(stored), publication)
