"""Fields of action, audiences and programmes of feed entries, by keyword.

Exchange items carry their own classification; RSS, Atom and JSON Feed
entries do not, so we read it from their words. Rules are data (a pydantic
model, configurable), German defaults ship as ``DEFAULT_RULES``.

Keyword syntax, matched case-insensitively over title, summary, content
text and categories:

- ``Kita`` matches the whole word only: "Kita", not "Kitab" or "Rikita".
- ``Kita*`` matches words starting with it: "Kitas", "Kita-Jahr".
- ``*schule`` may start inside a word: "Grundschule".
- A space matches spaces and hyphens (``Rucksack KiTa`` finds
  "Rucksack-KiTa"), a hyphen matches a hyphen, a space or nothing
  (``KOMM-AN`` finds "KOMM AN").

Whole words by default, because German compounds make prefixes risky:
"Übergang" is the transition to work, "Übergangswohnheim" is housing for
refugees; "Schulung" is training, not school.

A category that is exactly a code of our vocabularies (Atom
``<category term="rucksack_kita"/>``, as kisync's own feeds write them)
is the author's own classification: when an entry has such codes for a
dimension, they decide it and keywords are not applied to that dimension.

Each item records why it got each value in ``_classification``:
``{"value": ..., "keyword": ...}`` for a keyword, ``{"value": ..., "category": ...}``
for a category code, ``{"value": ..., "default": "source" | "fallback"}``
for a field of action nothing matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from kisync.model import Code
from kisync.vocab import AUDIENCES, PROGRAMMES, FieldOfAction

# Classification reads the start of long texts only: a 200 KB page says
# what it is about long before its end, and the regex stays cheap.
MAX_CLASSIFIED_CHARS = 20_000

Keyword = str


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    keywords: list[Keyword] = Field(min_length=1)

    @field_validator("keywords")
    @classmethod
    def _check_keywords(cls, keywords: list[str]) -> list[str]:
        for keyword in keywords:
            if not re.search(r"\w", keyword) or len(keyword) > 100:
                raise ValueError(f"keyword {keyword!r} must contain a letter or digit and be at most 100 characters")
        return [keyword.strip() for keyword in keywords]


class FieldRule(_Rule):
    value: FieldOfAction


class CodeRule(_Rule):
    value: Code


@dataclass
class _Compiled:
    """One dimension's keywords as two regexes, plus what tells their matches apart.

    Keywords that start at a word start share one pattern, with the word
    boundary outside a plain alternation: Python's re then tries the
    alternatives only where a word starts and skips ahead by their first
    letters, some 15 times faster than a named group per keyword. Which
    keyword matched is found afterwards, for the few matches there are, and
    remembered per matched word. The rare "*…" keywords get their own pattern.
    """

    at_word_start: re.Pattern[str] | None
    anywhere: re.Pattern[str] | None
    # In alternation order: (pattern of the keyword alone, value, keyword, starts anywhere)
    keywords: list[tuple[re.Pattern[str], str, str, bool]]
    known: dict[tuple[bool, str], tuple[str, str]] = field(default_factory=dict)

    def identify(self, matched: str, anywhere: bool) -> tuple[str, str]:
        """(value, keyword) of the alternative that matched ``matched``.

        The first keyword, in alternation order, that matches the matched
        text on its own is the one the alternation took: had an earlier one
        matched here, the alternation would have taken that.
        """
        key = (anywhere, matched)
        hit = self.known.get(key)
        if hit is None:
            hit = next((v, k) for p, v, k, a in self.keywords if a == anywhere and p.fullmatch(matched))
            if len(self.known) < 10_000:
                self.known[key] = hit
        return hit


class ClassificationRules(BaseModel):
    """Keyword rules per dimension; each rule maps keywords to one value.

    Frozen: the regexes are compiled once, when the rules are made.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields_of_action: list[FieldRule] = Field(default_factory=list)
    audience: list[CodeRule] = Field(default_factory=list)
    programmes: list[CodeRule] = Field(default_factory=list)

    _compiled: dict[str, _Compiled] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any) -> None:
        # One regex per dimension, compiled once per rule set.
        self._compiled = {
            "fields_of_action": _compile(self.fields_of_action),
            "audience": _compile(self.audience),
            "programmes": _compile(self.programmes),
        }

    def matches(self, dimension: str, text: str) -> list[tuple[str, str]]:
        """(value, keyword) for each value whose keywords occur in ``text``, first occurrence first."""
        compiled = self._compiled[dimension]
        text = text.lower()  # patterns are lower-case too: cheaper than re.IGNORECASE
        hits: list[tuple[int, str, str]] = []
        for pattern, anywhere in ((compiled.at_word_start, False), (compiled.anywhere, True)):
            if pattern is not None:
                hits += [(match.start(), *compiled.identify(match.group(), anywhere)) for match in pattern.finditer(text)]
        found: dict[str, str] = {}
        for _, value, keyword in sorted(hits, key=lambda hit: hit[0]):
            found.setdefault(value, keyword)
        return list(found.items())


def _compile(rules: list[FieldRule] | list[CodeRule]) -> _Compiled:
    keywords = [(keyword, str(rule.value)) for rule in rules for keyword in rule.keywords]
    # Longest first: at one position the alternation takes the first that
    # matches, and "Rucksack KiTa" says more than "Rucksack*".
    keywords.sort(key=lambda pair: -len(pair[0]))
    regexes = [(keyword_regex(keyword), value, keyword, keyword.startswith("*")) for keyword, value in keywords]
    at_word_start = "|".join(regex for regex, _, _, anywhere in regexes if not anywhere)
    anywhere = "|".join(regex for regex, _, _, anywhere in regexes if anywhere)
    return _Compiled(
        re.compile(rf"(?<!\w)(?:{at_word_start})") if at_word_start else None,
        re.compile(anywhere) if anywhere else None,
        [(re.compile(regex), value, keyword, anywhere) for regex, value, keyword, anywhere in regexes],
    )


def keyword_regex(keyword: str) -> str:
    """The regex for one keyword, lower-case, without the word-start condition (syntax in the module docstring)."""
    parts: list[str] = []
    for token in re.split(r"(\*|\s+|-)", keyword.lower().strip("*")):
        if token == "*":
            parts.append(r"\w*")
        elif token == "-":
            parts.append(r"[\s\-]?")
        elif token and token.isspace():
            parts.append(r"[\s\-]+")
        elif token:
            parts.append(re.escape(token))
    start = r"\w*" if keyword.startswith("*") else ""
    end = r"\w*" if keyword.endswith("*") else r"(?!\w)"
    return start + "".join(parts) + end


# -- applying rules --------------------------------------------------------------

_FIELD_ORDER = {value: index for index, value in enumerate(FieldOfAction)}
_FIELD_CODES = {value.value for value in FieldOfAction}


@dataclass
class Classification:
    fields_of_action: list[FieldOfAction]
    audience: list[str]
    programmes: list[str]
    record: dict[str, list[dict[str, str]]] = field(default_factory=dict)


def classify(
    rules: ClassificationRules,
    *,
    texts: list[str],
    categories: list[str],
    default_fields: list[FieldOfAction],
) -> Classification:
    """Apply ``rules`` to an entry's texts and categories.

    Fields of action: what the rules and category codes find; when they find
    nothing, the source's ``default_fields``; when it has none, ``querschnitt``.
    """
    text = "\n".join([*texts, *categories])[:MAX_CLASSIFIED_CHARS]
    codes = {category.strip().lower(): category for category in categories}
    record: dict[str, list[dict[str, str]]] = {}

    found = _dimension(rules, "fields_of_action", text, codes, _FIELD_CODES)
    if not found:
        if default_fields:
            found = [{"value": str(FieldOfAction(value)), "default": "source"} for value in default_fields]
        else:
            found = [{"value": FieldOfAction.querschnitt.value, "default": "fallback"}]
    found.sort(key=lambda entry: _FIELD_ORDER[FieldOfAction(entry["value"])])
    record["fields_of_action"] = found
    record["audience"] = _ordered(_dimension(rules, "audience", text, codes, AUDIENCES.keys()), list(AUDIENCES))
    record["programmes"] = _ordered(_dimension(rules, "programmes", text, codes, PROGRAMMES.keys()), list(PROGRAMMES))
    return Classification(
        fields_of_action=[FieldOfAction(entry["value"]) for entry in record["fields_of_action"]],
        audience=[entry["value"] for entry in record["audience"]],
        programmes=[entry["value"] for entry in record["programmes"]],
        record=record,
    )


def _dimension(rules: ClassificationRules, dimension: str, text: str, codes: dict[str, str], vocabulary) -> list[dict[str, str]]:
    # Categories that are our own codes are the author's classification, in
    # our vocabulary (kisync's own Atom/JSON feeds write them): they decide
    # the dimension, and keywords in the text do not add to it.
    explicit = [{"value": code, "category": category} for code, category in codes.items() if code in vocabulary]
    if explicit:
        return explicit
    found: dict[str, dict[str, str]] = {}
    for value, keyword in rules.matches(dimension, text):
        found.setdefault(value, {"value": value, "keyword": keyword})
    return list(found.values())


def _ordered(entries: list[dict[str, str]], order: list[str]) -> list[dict[str, str]]:
    """Vocabulary order, other codes after them alphabetically: the same item classifies the same way."""
    position = {code: index for index, code in enumerate(order)}
    return sorted(entries, key=lambda entry: (position.get(entry["value"], len(order)), entry["value"]))


# -- German defaults ---------------------------------------------------------------


def _rules(pairs: list[tuple[str, list[str]]]) -> list[dict[str, Any]]:
    return [{"value": value, "keywords": keywords} for value, keywords in pairs]


# fmt: off
DEFAULT_RULES = ClassificationRules.model_validate(
    {
        "fields_of_action": _rules(
            [
                ("elementarbereich", [
                    "Kita", "Kitas", "Kindertagesstätte*", "Kindertageseinrichtung*",
                    "Kindertagespflege", "Kindergart*", "Elementarbereich*", "frühkindlich*", "Familienzentr*",
                    "Griffbereit*", "Rucksack KiTa", "Rucksack Kita*", "U3-Betreuung", "Vorschulkind*",
                ]),
                ("schule", [
                    "Schule", "Schulen", "Grundschule*", "Gesamtschule*", "Hauptschule*", "Realschule*",
                    "Sekundarschule*", "Förderschule*", "Gymnasi*", "Berufskolleg*", "Schulanmeldung*", "Schulpflicht*",
                    "Schuljahr*", "Schulamt*", "Schulentwicklung", "Schüler*", "Seiteneinsteiger*", "Seiteneinstieg*",
                    "Lehrkräfte", "Lehrkraft", "Lehrer*", "Unterricht*", "HSU", "herkunftssprachlich*",
                    "Rucksack Schule", "internationale* Klasse*", "internationale* Förderklasse*",
                ]),
                ("uebergang_schule_beruf", [
                    "Ausbildung*", "Beruf", "Berufe", "Berufs*", "beruflich*", "KAoA*", "Kein Abschluss ohne Anschluss",
                    "Praktikum*", "Praktika",
                    "Praxistag*", "Übergang", "Übergänge", "Übergang Schule*", "Arbeitsmarkt*", "Teilhabemanagement*",
                    "Durchstarten in Ausbildung*", "Jugendberufsagentur*",
                ]),
                ("querschnitt", [
                    "Ehrenamt*", "Sprachmittler*", "Sprach- und Kulturmittler*", "KIM", "Kommunale* Integrationsmanagement*",
                    "Verwaltung*", "interkulturelle* Öffnung", "Migrantenorganisation*", "Migrantinnenorganisation*",
                    "Antidiskriminierung*", "Rassismus*", "Integrationsrat*", "Integrationskonzept*", "KOMM-AN",
                ]),
            ]
        ),
        "audience": _rules(
            [
                ("eltern", ["Eltern*", "Mütter*", "Väter*", "Elternteil*", "Elternbegleiter*"]),
                ("kinder", ["Kind", "Kinder", "Kindern", "Kindes", "Kleinkind*", "Schulkind*", "Vorschulkind*"]),
                ("jugendliche", ["Jugendlich*", "Jugend", "junge Menschen"]),
                ("junge_erwachsene", ["junge* Erwachsene*"]),
                ("neuzugewanderte", ["Neuzugewandert*", "neu zugewandert*", "Zugewandert*", "neu zugezogen*",
                                     "Neuzuwanderung", "Seiteneinsteiger*"]),
                ("gefluechtete", ["Geflüchtet*", "Flüchtling*", "Schutzsuchend*", "Asylsuchend*", "Asylbewerber*"]),
                ("lehrkraefte", ["Lehrkräfte", "Lehrkraft", "Lehrer*"]),
                ("fachkraefte_kita", ["Erzieher*", "Kita-Fachkr*", "Kita-Team*", "Kitateam*", "Fachkräfte in Kitas",
                                      "pädagogische* Fachkräfte"]),
                ("ehrenamtliche", ["Ehrenamt*", "Freiwillig*", "Patenschaft*"]),
                ("migrantenorganisationen", ["Migrantenorganisation*", "Migrantinnenorganisation*",
                                             "Migrantenselbstorganisation*"]),
                ("verwaltung", ["Verwaltung*", "Ausländerbehörde*", "Behörde*"]),
                ("frauen", ["Frauen*", "Mädchen"]),  # not "Frau": "Ansprechpartnerin: Frau Yilmaz"
                ("senioren", ["Senior*", "ältere* Menschen"]),
            ]
        ),
        "programmes": _rules(
            [
                ("rucksack_kita", ["Rucksack KiTa", "Rucksack Kita*", "Rucksack-Eltern*", "Rucksack-Gruppe*"]),
                ("rucksack_schule", ["Rucksack Schule"]),
                ("griffbereit", ["Griffbereit*"]),
                ("komm_an", ["KOMM-AN", "KOMM-AN NRW"]),
                ("sprachmittlerpool", ["Sprachmittlerpool*", "Sprachmittler-Pool*", "Sprachmittlerinnenpool*"]),
                ("kim", ["KIM", "Kommunale* Integrationsmanagement*"]),
                ("teilhabemanagement", ["Teilhabemanagement*"]),
                ("kaoa", ["KAoA", "Kein Abschluss ohne Anschluss"]),
                ("kaoa_kompakt", ["KAoA-kompakt", "KAoA kompakt"]),
                ("herkunftssprachlicher_unterricht", ["herkunftssprachliche* Unterricht*", "HSU"]),
                ("durchstarten", ["Durchstarten in Ausbildung*"]),
            ]
        ),
    }
)
# fmt: on
"""German keyword rules for the four fields of action, the AUDIENCES and the PROGRAMMES of kisync.vocab."""
