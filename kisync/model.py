"""The canonical item and exchange format v1 (DESIGN.md, "Canonical item").

These pydantic models are the single source of truth: ``schemas/`` is
generated from them (``kisync schema``), the parsers produce them and the
store keeps them. JSON field names are the exchange format's.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from kisync.vocab import FieldOfAction, Kind, Status

EXCHANGE_VERSION = "1.0"
# Minor versions of exchange v1 only ever add optional fields.
SUPPORTED_EXCHANGE_VERSION = re.compile(r"^1\.\d+$")

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
# Regionalschlüssel prefixes: Land (2), Regierungsbezirk (3), Kreis (5),
# Gemeindeverband (9), Gemeinde (AGS 8, ARS 12).
_REGIONAL_KEY = re.compile(r"^\d{2}$|^\d{3}$|^\d{5}$|^\d{8}$|^\d{9}$|^\d{12}$")
_CENTRE_ID = re.compile(r"^[a-z0-9][a-z0-9._\-]{0,99}$")


# What urlsplit reads as scheme http(s) and a host, without raising: a lower-case scheme, a
# host of letters, digits, dots and hyphens, no control characters (urlsplit drops some).
_PLAIN_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(?:[/?#][^\x00-\x1f\x7f]*)?")


def _check_http_url(value: str) -> str:
    if _PLAIN_HTTP_URL.fullmatch(value):
        return value  # nearly every URL: urlsplit's answer without urlsplit (a property test compares them)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PydanticCustomError("http_url", "must be an absolute http or https URL")
    return value


def _check_uri(value: str) -> str:
    if not _URI.match(value):
        raise PydanticCustomError("uri", "must be an absolute URI (scheme:...)")
    return value


HttpUrl = Annotated[str, Field(max_length=2048, json_schema_extra={"format": "uri"}), AfterValidator(_check_http_url)]
Uri = Annotated[str, Field(min_length=3, max_length=2048, json_schema_extra={"format": "uri"}), AfterValidator(_check_uri)]
ShortText = Annotated[str, Field(min_length=1, max_length=500)]
Code = Annotated[str, Field(min_length=1, max_length=100)]
RegionalKey = Annotated[str, Field(pattern=_REGIONAL_KEY.pattern)]
CentreId = Annotated[str, Field(pattern=_CENTRE_ID.pattern)]

MAX_SUMMARY = 5_000
MAX_CONTENT = 200_000


_EXTENSION_SCHEMA: dict[str, Any] = {"additionalProperties": False, "patternProperties": {"^_": {}}}


class _Strict(BaseModel):
    """An object of the exchange format.

    Unknown fields whose name starts with ``_`` are extensions, on any
    object: kept and passed on (DESIGN.md). Any other unknown field is an
    error, so that a typo (``titel``) does not pass silently.
    """

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, json_schema_extra=_EXTENSION_SCHEMA)

    @model_validator(mode="after")
    def _only_extensions(self) -> Any:
        extra = self.__pydantic_extra__
        if not extra:
            return self  # most objects: validating an item runs this for it and each object in it
        unknown = sorted(k for k in extra if not k.startswith("_"))
        if unknown:
            raise PydanticCustomError(
                "unknown_field",
                "unknown field(s) {fields}; extensions must start with '_'",
                {"fields": unknown},
            )
        return self


class Centre(_Strict):
    """A centre (usually a KI) as origin of items or publisher of a document."""

    id: CentreId = Field(description="Centre id, `ki-<district key>` for the KI of NRW, e.g. `ki-05170`.")
    name: ShortText
    ars: RegionalKey | None = Field(default=None, description="Regionalschlüssel or AGS of the area the centre serves.")
    url: HttpUrl | None = None


class Contact(_Strict):
    organisation: ShortText
    name: ShortText | None = Field(default=None, description="Personal data: withheld from public outputs unless configured.")
    email: Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    phone: Annotated[str, Field(max_length=50, pattern=r"^[+0-9 ()/\-]{3,50}$")] | None = None
    url: HttpUrl | None = None


class Partner(_Strict):
    name: ShortText
    url: HttpUrl | None = None
    role: ShortText | None = None


class Funding(_Strict):
    funder: ShortText
    programme: Code | None = Field(default=None, description="Programme code, e.g. `komm_an`.")
    url: HttpUrl | None = None


class Attachment(_Strict):
    url: HttpUrl
    title: ShortText | None = None
    media_type: Annotated[str, Field(max_length=200, pattern=r"^[\w.+\-]+/[\w.+\-]+$")] | None = None
    size: Annotated[int, Field(ge=0)] | None = None


class Identifier(_Strict):
    scheme: Code
    value: ShortText


class _ItemBase(_Strict):
    """Fields every item has, live or deleted."""

    id: Uri = Field(description="Globally unique, stable URI minted by the origin centre; never reused.")
    kind: Kind
    origin: Centre = Field(description="The centre that authored the item; only the origin changes or deletes it.")
    created: AwareDatetime
    modified: AwareDatetime = Field(description="Changes on every change, deletion included.")

    @field_validator("created", "modified")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)


class Item(_ItemBase):
    """A live item: a project, best practice, event or news."""

    deleted: Literal[False] = False
    title: ShortText
    summary: Annotated[str, Field(max_length=MAX_SUMMARY)] | None = Field(default=None, description="Plain text.")
    content_html: Annotated[str, Field(max_length=MAX_CONTENT)] | None = Field(default=None, description="Sanitized HTML.")
    url: HttpUrl | None = None
    language: Annotated[str, Field(pattern=_LANGUAGE.pattern)] = Field(default="de", description="BCP 47 language tag.")
    fields_of_action: list[FieldOfAction] = Field(default_factory=list, max_length=4)
    audience: list[Code] = Field(default_factory=list, max_length=50)
    programmes: list[Code] = Field(default_factory=list, max_length=50)
    tags: list[Code] = Field(default_factory=list, max_length=100)
    status: Status | None = None
    start_date: date | None = None
    end_date: date | None = None
    area_served: list[RegionalKey] = Field(default_factory=list, max_length=500)
    contact: Contact | None = None
    partners: list[Partner] = Field(default_factory=list, max_length=100)
    funding: list[Funding] = Field(default_factory=list, max_length=50)
    attachments: list[Attachment] = Field(default_factory=list, max_length=100)
    identifiers: list[Identifier] = Field(default_factory=list, max_length=50)
    via: list[CentreId] = Field(default_factory=list, max_length=100, description="Centres the item passed through, one per hop.")


class Tombstone(_ItemBase):
    """A deleted item: keeps ``id``, ``kind``, ``origin``, ``created``, ``modified``."""

    deleted: Literal[True]
    via: list[CentreId] = Field(default_factory=list, max_length=100)


def _item_tag(value: Any) -> str:
    deleted = value.get("deleted") if isinstance(value, dict) else getattr(value, "deleted", False)
    return "tombstone" if deleted is True else "item"


AnyItem = Annotated[
    Annotated[Item, Tag("item")] | Annotated[Tombstone, Tag("tombstone")],
    Discriminator(_item_tag),
]


class Links(_Strict):
    self: HttpUrl | None = Field(default=None, description="Where this document was published.")
    next: HttpUrl | None = Field(default=None, description="The next page of a changes feed.")


class Document(_Strict):
    """An exchange v1 document: a snapshot (``complete: true``) or a page of changes."""

    model_config = ConfigDict(
        extra="allow",
        str_strip_whitespace=True,
        json_schema_extra={**_EXTENSION_SCHEMA, "$comment": "kisync exchange format v1"},
    )

    exchange_version: Annotated[str, Field(pattern=SUPPORTED_EXCHANGE_VERSION.pattern)] = Field(
        description="`1.0`; later 1.x versions only add optional fields."
    )
    publisher: Centre
    generated: AwareDatetime
    complete: bool = Field(default=False, description="True when `data` lists every current item of the publisher.")
    data: list[AnyItem]
    links: Links = Field(default_factory=Links)
    cursor: Annotated[str, Field(max_length=200)] | None = Field(
        default=None, description="Checkpoint of a changes feed: pass it as `since` to continue."
    )


# -- version order -------------------------------------------------------------

# Fields that are not content: the hash never covers them, so the same
# version reached by two routes hashes the same (DESIGN.md, version order).
_NOT_CONTENT = {"modified", "via"}


def content_hash(item: Item | Tombstone) -> str:
    """SHA-256 over the item's content in canonical JSON.

    Defaults are left out so that an explicit default (``language: de``)
    and an absent one hash alike, and a field added to a later model
    version does not change the hash of items that do not use it.
    """
    data = item.model_dump(mode="json", exclude=_NOT_CONTENT, exclude_defaults=True)
    data["deleted"] = item.deleted  # always part of the content, even at its default
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def format_utc(moment: datetime) -> str:
    """Fixed-width UTC timestamp: its string order is its time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version_key(item: Item | Tombstone, digest: str | None = None) -> str:
    """``(modified, deleted, content hash)`` as one string whose order is the version order."""
    return f"{format_utc(item.modified)}|{int(item.deleted)}|{digest or content_hash(item)}"
