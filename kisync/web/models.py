"""Response bodies of the JSON API (other than exchange documents): typed, and documented in /openapi.json."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Out):
    code: str = Field(description="Machine-readable code, e.g. `invalid_parameter`, `not_found`, `resync_required`.")
    message: str = Field(description="What went wrong, for people.")
    details: dict[str, Any] = Field(description="More about it: `parameter` for a bad parameter, `errors` for a bad body.")


class ErrorResponse(_Out):
    """The one shape of every 4xx and 5xx answer."""

    error: ErrorDetail


class Health(_Out):
    status: Literal["ok"]


class Ready(_Out):
    status: Literal["ready"]
    change_seq: int


class CentreEntry(_Out):
    id: str
    name: str
    key: str | None = Field(default=None, description="District key (Kreis or kreisfreie Stadt).")
    kind: str | None = Field(default=None, description="Kreis or kreisfreie Stadt.")
    region: str | None = Field(default=None, description="Regierungsbezirk.")
    registered: bool = Field(description="Listed in the registry of the 54 centres of NRW.")
    items: int = Field(description="Live items of this origin in the store.")


class CentreList(_Out):
    data: list[CentreEntry]


class SourceCounts(_Out):
    seen: int
    new: int
    updated: int
    deleted: int


class SourceStatus(_Out):
    id: str
    url: str = Field(description="Without credentials.")
    format: str
    centre: str | None
    relay: bool
    enabled: bool = Field(description="Fetched: neither config.yaml nor an operator turned the source off.")
    disabled_by: list[Literal["config", "operator"]] = Field(
        description="Who turned the source off: `config` (`enabled: false` in config.yaml, which wins over an operator's "
        "enable) and `operator` (`kisync sources disable` or the admin API); empty when it is enabled."
    )
    managed_by: str = Field(description="`config` (config.yaml) or `admin` (added through the API or CLI).")
    interval: float = Field(description="Seconds between fetches.")
    status: Literal["ok", "failing", "on_hold", "disabled", "never_fetched"]
    healthy: bool
    last_attempt: datetime | None
    last_success: datetime | None
    http_status: int | None
    error: str | None
    consecutive_failures: int
    next_due: datetime | None
    counts: SourceCounts = Field(description="Of the last successful sync.")
    warnings: list[dict[str, Any]]
    on_hold: str | None = Field(description="Why the source's deletions wait for an operator (mass-deletion guard).")


class SourceList(_Out):
    data: list[SourceStatus]


class CountEntry(_Out):
    code: str
    label: str
    count: int


class Stats(_Out):
    """Live items counted by field of action, centre, kind, programme and audience."""

    total: int
    deleted: int = Field(description="Tombstones kept.")
    change_seq: int
    by_field: list[CountEntry]
    by_centre: list[CountEntry]
    by_kind: list[CountEntry]
    by_programme: list[CountEntry]
    by_audience: list[CountEntry]


class SyncAccepted(_Out):
    status: Literal["accepted"]
    source: str


RESPONSE_MODELS: list[type[BaseModel]] = [
    ErrorResponse,
    Health,
    Ready,
    CentreList,
    SourceList,
    SourceStatus,
    Stats,
    SyncAccepted,
]
