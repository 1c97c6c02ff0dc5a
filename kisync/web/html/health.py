"""A source's state in plain German words, for the staff who read /zentren.

The stored error is the fetcher's or parser's technical English (it names
settings and HTTP phrases for the operator); the page says first what it
means for the reader, then shows the technical text as a detail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kisync.sources import Source

_STATUS_WORDS = {
    401: "Die Quelle verlangt eine Anmeldung, die kisync nicht hat.",
    403: "Der Server der Quelle verweigert den Abruf.",
    404: "Unter der Adresse der Quelle ist nichts (mehr) zu finden.",
    410: "Die Quelle wurde vom Betreiber dauerhaft entfernt.",
    429: "Der Server der Quelle bittet darum, seltener abzurufen.",
}

# Patterns in the fetcher's and parser's messages (kisync.fetch.failures, kisync.parse), most specific first.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"SSRF guard", re.I), "Die Adresse liegt in einem internen Netz; kisync ruft sie zum Schutz nicht ab."),
    (re.compile(r"\(DNS\)", re.I), "Den Server der Quelle gibt es unter diesem Namen nicht."),
    (re.compile(r"timed out|timeout", re.I), "Der Server der Quelle hat nicht rechtzeitig geantwortet."),
    (
        re.compile(r"connection refused|cannot connect|network unreachable|connection reset", re.I),
        "Der Server der Quelle ist nicht erreichbar.",
    ),
    (re.compile(r"TLS|certificate", re.I), "Die verschlüsselte Verbindung zur Quelle kam nicht zustande."),
    (re.compile(r"larger than", re.I), "Die Antwort der Quelle ist größer als erlaubt."),
    (re.compile(r"redirect", re.I), "Die Quelle leitet auf eine Adresse weiter, der kisync nicht folgt."),
    (re.compile(r"file not found|outside fetch\.file_root|local file", re.I), "Die Datei der Quelle ist nicht lesbar."),
]
_READ_PROBLEM = "Der Inhalt der Quelle ließ sich nicht lesen (kein gültiger Feed und kein Austauschformat)."


@dataclass(frozen=True)
class Health:
    """The state of a source as a page shows it."""

    code: str  # ok, failing, on_hold, disabled, never_fetched: the CSS class, too
    label: str  # one or two German words
    explanation: str | None  # what went wrong, in plain German
    detail: str | None  # the technical message (English), for whoever runs the source


def plain_error(source: Source) -> str | None:
    """What the last error means, in plain German; None when there was none."""
    if not source.error:
        return None
    status = source.http_status
    if status in _STATUS_WORDS:
        return _STATUS_WORDS[status]
    if status is not None and 500 <= status < 600:
        return "Der Server der Quelle hatte einen Fehler; kisync versucht es später wieder."
    for pattern, words in _PATTERNS:
        if pattern.search(source.error):
            return words
    if status is not None and 400 <= status < 500:
        return "Der Server der Quelle hat den Abruf abgelehnt."
    return _READ_PROBLEM


def health(source: Source) -> Health:
    if not source.enabled:
        return Health("disabled", "abgeschaltet", "Diese Quelle wird zurzeit nicht abgerufen.", None)
    if source.on_hold:
        return Health(
            "on_hold",
            "angehalten",
            "Die Quelle würde sehr viele Einträge auf einmal löschen. Bis der Betrieb das bestätigt, bleibt alles, wie es war.",
            source.on_hold,
        )
    if source.consecutive_failures:
        failures = source.consecutive_failures
        label = f"gestört seit {failures} Abruf{'en' if failures > 1 else ''}"
        explanation = plain_error(source) or "Der letzte Abruf ist fehlgeschlagen."
        return Health("failing", label, explanation, source.error)
    if source.last_attempt is None:
        return Health("never_fetched", "noch nicht abgerufen", None, None)
    return Health("ok", "in Ordnung", None, None)
