"""Controlled vocabularies with their German labels.

Fields of action, kinds and statuses are closed enums. Audiences and
programmes are code lists: known codes get a label, other strings are
allowed (DESIGN.md, "controlled codes where a vocabulary exists, free
strings otherwise").
"""

from __future__ import annotations

from enum import StrEnum


class FieldOfAction(StrEnum):
    """The four Handlungsfelder of the Kommunale Integrationszentren."""

    querschnitt = "querschnitt"
    elementarbereich = "elementarbereich"
    schule = "schule"
    uebergang_schule_beruf = "uebergang_schule_beruf"

    @property
    def label(self) -> str:
        return FIELD_OF_ACTION_LABELS[self]


FIELD_OF_ACTION_LABELS: dict[FieldOfAction, str] = {
    FieldOfAction.querschnitt: "Integration als Querschnittsaufgabe",
    FieldOfAction.elementarbereich: "Elementarbereich (frühkindliche Bildung)",
    FieldOfAction.schule: "Interkulturelle Schulentwicklung",
    FieldOfAction.uebergang_schule_beruf: "Übergang Schule – Beruf",
}


class Kind(StrEnum):
    project = "project"
    best_practice = "best_practice"
    event = "event"
    news = "news"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS: dict[Kind, str] = {
    Kind.project: "Projekt",
    Kind.best_practice: "Gute Praxis",
    Kind.event: "Veranstaltung",
    Kind.news: "Meldung",
}


class Status(StrEnum):
    planned = "planned"
    active = "active"
    completed = "completed"
    inactive = "inactive"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: dict[Status, str] = {
    Status.planned: "geplant",
    Status.active: "laufend",
    Status.completed: "abgeschlossen",
    Status.inactive: "ruhend",
}

AUDIENCES: dict[str, str] = {
    "eltern": "Eltern",
    "kinder": "Kinder",
    "jugendliche": "Jugendliche",
    "junge_erwachsene": "Junge Erwachsene",
    "neuzugewanderte": "Neuzugewanderte",
    "gefluechtete": "Geflüchtete",
    "lehrkraefte": "Lehrkräfte",
    "fachkraefte_kita": "Fachkräfte in Kitas",
    "ehrenamtliche": "Ehrenamtliche",
    "migrantenorganisationen": "Migrantenorganisationen",
    "verwaltung": "Verwaltung",
    "frauen": "Frauen",
    "senioren": "Seniorinnen und Senioren",
}

PROGRAMMES: dict[str, str] = {
    "rucksack_kita": "Rucksack KiTa",
    "rucksack_schule": "Rucksack Schule",
    "griffbereit": "Griffbereit",
    "komm_an": "KOMM-AN NRW",
    "sprachmittlerpool": "Sprachmittlerpool",
    "kim": "Kommunales Integrationsmanagement (KIM)",
    "teilhabemanagement": "Teilhabemanagement",
    "kaoa": "Kein Abschluss ohne Anschluss (KAoA)",
    "kaoa_kompakt": "KAoA-kompakt",
    "herkunftssprachlicher_unterricht": "Herkunftssprachlicher Unterricht (HSU)",
    "durchstarten": "Durchstarten in Ausbildung und Arbeit",
}


def audience_label(code: str) -> str:
    return AUDIENCES.get(code, code)


def programme_label(code: str) -> str:
    return PROGRAMMES.get(code, code)
