"""One error hierarchy for kisync (STYLE.md, convention 4).

Every error carries a message meant for the person who has to act on it:
an operator editing ``config.yaml``, a centre's web editor fixing a feed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class KisyncError(Exception):
    """Base of all errors kisync raises on purpose."""

    code = "kisync_error"


class ConfigError(KisyncError):
    """The configuration (file or environment) is unusable."""

    code = "config_error"


class FetchError(KisyncError):
    """A source could not be fetched."""

    code = "fetch_error"

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ParseError(KisyncError):
    """A body could not be read as any supported format."""

    code = "parse_error"


@dataclass(frozen=True)
class Problem:
    """One problem found in a document: where it is and what is wrong."""

    path: str
    message: str
    severity: str = "error"  # "error" or "warning"
    line: int | None = None
    column: int | None = None
    code: str = ""

    def location(self) -> str:
        where = self.path or "$"
        if self.line is not None:
            where = f"{where} (Zeile {self.line}, Spalte {self.column})"
        return where


@dataclass
class ValidationError(KisyncError):
    """A document or value does not match its model; lists every problem."""

    message: str
    problems: list[Problem] = field(default_factory=list)
    code = "validation_error"

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        lines = [self.message]
        lines += [f"  {p.location()}: {p.message}" for p in self.problems]
        return "\n".join(lines)


class StorageError(KisyncError):
    """The store cannot be used (unreachable, unmigrated, inconsistent)."""

    code = "storage_error"
