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


DIMENSIONS = ("fields_of_action", "audience", "programmes")


@dataclass
class _Compiled:
    """One dimension's keywords: an alternation for the scanner, a regex for "*…" keywords, and what tells matches apart.

    Keywords that start at a word start are one alternation, longest first
    (``at_word_start``); ``_scanner`` puts those of every dimension into
    one regex. Which keyword matched is found afterwards, for the few
    matches there are, and remembered per matched word. The rare "*…"
    keywords get their own pattern.
    """

    at_word_start: str | None
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
    # One regex for the word-start keywords of every dimension, and the dimensions of its groups.
    _scanner: re.Pattern[str] | None = PrivateAttr(default=None)
    _scanned: tuple[str, ...] = PrivateAttr(default=())

    def model_post_init(self, context: Any) -> None:
        # Compiled once per rule set.
        self._compiled = {dimension: _compile(getattr(self, dimension)) for dimension in DIMENSIONS}
        self._scanned = tuple(d for d in DIMENSIONS if self._compiled[d].at_word_start)
        self._scanner = _scanner([self._compiled[d].at_word_start for d in self._scanned])

    def matches(self, text: str) -> dict[str, list[tuple[str, str]]]:
        """Per dimension: (value, keyword) for each value whose keywords occur in ``text``, first occurrence first.

        What ``finditer`` of each dimension's alternation finds, from one
        scan (see ``_scanner``): the scanner reports, at each word start,
        what each dimension's alternation matches there; a dimension's match
        that starts inside its previous one is skipped, as ``finditer``
        would not have tried there.
        """
        text = text.lower()  # patterns are lower-case too: cheaper than re.IGNORECASE
        compiled = self._compiled  # a private attribute of a pydantic model is slow to read: once
        hits: dict[str, list[tuple[int, str, str]]] = {dimension: [] for dimension in DIMENSIONS}
        scanner = self._scanner
        if scanner is not None:
            scanned = [(hits[dimension], compiled[dimension].identify) for dimension in self._scanned]
            ends = [0] * len(scanned)
            # "\n" in front: a word start at 0 is one after a non-word character, like every other.
            for match in scanner.finditer("\n" + text):
                start = match.start()  # in ``text``: the match starts one before the word, on the "\n"'s offset
                for index, matched in enumerate(match.groups()):
                    if matched is not None and start >= ends[index]:
                        ends[index] = start + len(matched)
                        found_hits, identify = scanned[index]
                        found_hits.append((start, *identify(matched, False)))
        result: dict[str, list[tuple[str, str]]] = {}
        for dimension, found_hits in hits.items():
            anywhere = compiled[dimension].anywhere
            if anywhere is not None:  # the scanner's hits are in text order already, these are not
                identify = compiled[dimension].identify
                found_hits += [(m.start(), *identify(m.group(), True)) for m in anywhere.finditer(text)]
                found_hits.sort(key=lambda hit: hit[0])
            found: dict[str, str] = {}
            for _, value, keyword in found_hits:
                found.setdefault(value, keyword)
            result[dimension] = list(found.items())
        return result


def _compile(rules: list[FieldRule] | list[CodeRule]) -> _Compiled:
    keywords = [(keyword, str(rule.value)) for rule in rules for keyword in rule.keywords]
    # Longest first: at one position the alternation takes the first that
    # matches, and "Rucksack KiTa" says more than "Rucksack*".
    keywords.sort(key=lambda pair: -len(pair[0]))
    regexes = [(keyword_regex(keyword), value, keyword, keyword.startswith("*")) for keyword, value in keywords]
    at_word_start = [regex for regex, _, _, anywhere in regexes if not anywhere]
    anywhere = "|".join(regex for regex, _, _, anywhere in regexes if anywhere)
    return _Compiled(
        _by_first_character(at_word_start) if at_word_start else None,
        re.compile(anywhere) if anywhere else None,
        [(re.compile(regex), value, keyword, anywhere) for regex, value, keyword, anywhere in regexes],
    )


# One literal character at the start of a keyword's regex: a plain one, or one re.escape escaped.
_FIRST_LITERAL = re.compile(r"\\[^\w]|[^\\\[(.*+?{|^$]")


def _by_first_character(regexes: list[str]) -> str:
    r"""``a|b|c`` with the alternatives that start with one character grouped: ``k(?:ita|indergart\w*)|s(?:chule)``.

    The same matches, the same alternative taken at each position: only
    alternatives with the same first character can match at one position,
    and they keep their order. What it saves is trying sixty alternatives at
    each word start: re tries the groups' first characters and enters one.
    A regex that does not start with a literal character (a keyword that
    starts with "-") leaves the alternation as it is.
    """
    groups: dict[str, list[str]] = {}
    for regex in regexes:
        first = _FIRST_LITERAL.match(regex)
        if first is None:
            return "|".join(regexes)
        groups.setdefault(first.group(), []).append(regex[first.end() :])
    return "|".join(f"{first}(?:{'|'.join(rests)})" for first, rests in groups.items())


def _scanner(alternations: list[str]) -> re.Pattern[str] | None:
    r"""One regex for every dimension's word-start keywords: group i is what dimension i's alternation matches here.

    ``\W(?:(?=(A1))|)(?:(?=(A2))|)…`` followed by "fail unless some group
    matched". It starts with a character class, so re's search skips along
    the text in C to the next non-word character and tries the keywords
    only after it, at word starts, instead of starting a match at every
    character (three times, once per dimension) as ``(?<!\w)(?:A1)`` did:
    some 2.5 times less CPU over the benchmark corpus. The text gets a
    non-word character in front (``matches``), so that a word at its start
    is found too. The lookaheads consume nothing: every dimension sees
    every word start.
    """
    if not alternations:
        return None
    matched_any = "(?!)"
    for group in range(len(alternations), 0, -1):
        matched_any = f"(?({group})|{matched_any})"
    return re.compile(r"\W" + "".join(f"(?:(?=({alternation}))|)" for alternation in alternations) + matched_any)


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
    matches = rules.matches(text)

    found = _dimension(matches["fields_of_action"], codes, _FIELD_CODES)
    if not found:
        if default_fields:
            found = [{"value": str(FieldOfAction(value)), "default": "source"} for value in default_fields]
        else:
            found = [{"value": FieldOfAction.querschnitt.value, "default": "fallback"}]
    found.sort(key=lambda entry: _FIELD_ORDER[FieldOfAction(entry["value"])])
    record["fields_of_action"] = found
    record["audience"] = _ordered(_dimension(matches["audience"], codes, AUDIENCES.keys()), list(AUDIENCES))
    record["programmes"] = _ordered(_dimension(matches["programmes"], codes, PROGRAMMES.keys()), list(PROGRAMMES))
    return Classification(
        fields_of_action=[FieldOfAction(entry["value"]) for entry in record["fields_of_action"]],
        audience=[entry["value"] for entry in record["audience"]],
        programmes=[entry["value"] for entry in record["programmes"]],
        record=record,
    )


def _dimension(matches: list[tuple[str, str]], codes: dict[str, str], vocabulary) -> list[dict[str, str]]:
    # Categories that are our own codes are the author's classification, in
    # our vocabulary (kisync's own Atom/JSON feeds write them): they decide
    # the dimension, and keywords in the text do not add to it.
    explicit = [{"value": code, "category": category} for code, category in codes.items() if code in vocabulary]
    if explicit:
        return explicit
    found: dict[str, dict[str, str]] = {}
    for value, keyword in matches:
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
