"""Deterministic benchmark corpus: N sources × M items as RSS 2.0, Atom, JSON Feed and exchange v1.

    .venv/bin/python bench/corpus.py --sources 400 --items 50 [--seed 1] [--out bench/out/corpus]

Every source is written twice with the same items:

- ``feeds/src-NNNN.{xml,json}``: the source as an RSS 2.0, Atom 1.0 or
  JSON Feed 1.1 (a fixed mix, 45 / 35 / 20 %), the corpus the feed
  libraries are compared on;
- ``exchange/src-NNNN.json``: the same items as one complete exchange v1
  snapshot of the source's centre.

Each file has a ``.gz`` twin (for nginx ``gzip_static`` and the fallback
server), and a fixed mtime, so ETag and Last-Modified are the same from run
to run. ``manifest.json`` lists the sources. The text is German, in the
style of KI project pages, with the HTML a CMS produces: wrappers, inline
styles, relative and tracking links, images, scripts, iframes, entities;
everything a sanitizer has to deal with.

``mutate(corpus, share)`` changes a share of the sources (new titles and
modified dates of a few items, a new item) and moves their mtime, so a
static server gives them a new ETag: the "5 % changed" sync.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import OUT

# Nothing in the corpus depends on the clock: dates count back from here.
EPOCH = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
# File times: Last-Modified and nginx's ETag (mtime-size) come from them.
FILE_MTIME = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())
FORMAT_MIX = (("rss", 45), ("atom", 35), ("jsonfeed", 20))

# -- vocabulary ----------------------------------------------------------------

PLACES = [
    "Wesel", "Kleve", "Köln", "Düsseldorf", "Duisburg", "Essen", "Bochum", "Dortmund", "Münster", "Bielefeld",
    "Paderborn", "Siegen", "Aachen", "Bonn", "Gelsenkirchen", "Hamm", "Herne", "Krefeld", "Mönchengladbach",
    "Oberhausen", "Solingen", "Wuppertal", "Recklinghausen", "Unna", "Soest", "Borken", "Coesfeld", "Steinfurt",
    "Warendorf", "Gütersloh", "Höxter", "Lippe", "Minden-Lübbecke", "Olpe", "Euskirchen", "Düren", "Heinsberg",
]
SUBJECTS = [
    "Das Kommunale Integrationszentrum", "Unser Team", "Die Koordinierungsstelle", "Das Projektteam",
    "Gemeinsam mit den Kitas", "Die Elternbegleiterinnen", "Der Sprachmittlerpool", "Das KIM-Case-Management",
    "Die Schulen im Kreisgebiet", "Die Ehrenamtskoordination", "Das Bildungsbüro", "Die Migrantenorganisationen",
]
VERBS = [
    "lädt herzlich ein zu", "startet im Herbst", "organisiert", "begleitet", "unterstützt", "stärkt",
    "bietet erneut an:", "setzt fort:", "erweitert", "stellt vor:", "fördert", "koordiniert",
]
OBJECTS = [
    "die Elternbildung im Programm Rucksack KiTa", "Griffbereit-Gruppen für Familien mit Kleinkindern",
    "den Herkunftssprachlichen Unterricht", "die Sprachförderung in Kitas und Grundschulen",
    "Patenschaften für neu zugewanderte Jugendliche", "die Berufsorientierung nach KAoA",
    "Workshops für Lehrkräfte zur interkulturellen Schulentwicklung", "das Ehrenamt in der Flüchtlingshilfe (KOMM-AN NRW)",
    "Sprachcafés für Geflüchtete", "den Übergang von der Schule in Ausbildung und Beruf",
    "Fortbildungen für Fachkräfte in Kitas", "Beratung für Seniorinnen und Senioren mit Einwanderungsgeschichte",
    "das Teilhabemanagement für Menschen mit Duldung", "Elterncafés an Grundschulen",
    "die Zusammenarbeit mit Migrantenorganisationen", "Qualifizierungen für Sprach- und Kulturmittler",
]
CLAUSES = [
    "damit Kinder mehrsprachig gut aufwachsen", "um Familien früh zu erreichen", "in enger Abstimmung mit dem Jugendamt",
    "mit Unterstützung des Landes Nordrhein-Westfalen", "für eine gelingende Integration vor Ort",
    "in Kooperation mit den Volkshochschulen",
    "gefördert durch das Ministerium für Kinder, Jugend, Familie, Gleichstellung, Flucht und Integration",
    "auf Deutsch, Arabisch, Türkisch, Ukrainisch und Farsi", "für Mütter und Väter aller Herkunftssprachen",
    "in den Räumen der Familienzentren", "über das gesamte Schuljahr", "mit Kinderbetreuung während der Treffen",
]
DETAILS = [
    "Die Teilnahme ist kostenfrei.", "Eine Anmeldung ist bis zum Monatsende möglich.",
    "Die Treffen finden wöchentlich statt.", "Dolmetscherinnen und Dolmetscher sind vor Ort.",
    "Weitere Informationen erhalten Sie im Bildungsbüro.", "Bitte bringen Sie Ihre Fragen mit.",
    "Die Materialien stehen in zwölf Sprachen zur Verfügung.", "Für Getränke und Snacks ist gesorgt.",
    "Die Veranstaltung ist barrierefrei zugänglich.", "Über 120 Familien haben bereits teilgenommen.",
    "Ansprechpartnerin ist Frau Yılmaz-Schäfer.", "Die Evaluation zeigt eine hohe Zufriedenheit der Eltern.",
]
TITLES = [
    "Rucksack KiTa startet in {place}", "Neue Griffbereit-Gruppe in {place}", "Sprachcafé für Geflüchtete in {place}",
    "Fachtag „Mehrsprachigkeit in der Kita“ in {place}", "KAoA: Berufsorientierung für Neuzugewanderte in {place}",
    "Ehrenamtspreis für KOMM-AN-Projekt aus {place}", "Elterncafé an der Grundschule {place}-Mitte",
    "Sprachmittlerpool {place} sucht Verstärkung", "Herkunftssprachlicher Unterricht: Anmeldung in {place}",
    "Interkulturelle Woche {year} in {place}", "KIM: Case-Management in {place} zieht Bilanz",
    "Übergang Schule–Beruf: Mentoring in {place}", "Fortbildung für Lehrkräfte in {place}",
    "Teilhabemanagement in {place} erweitert", "Familienzentrum {place} & Integrationszentrum kooperieren",
]
CATEGORIES = [
    "Kita", "Schule", "Elternarbeit", "Sprachförderung", "Ehrenamt", "Geflüchtete", "Neuzugewanderte",
    "Ausbildung", "Rucksack KiTa", "Griffbereit", "KOMM-AN NRW", "Sprachmittlerpool", "KIM", "Lehrkräfte",
    "Jugendliche", "Integration", "Mehrsprachigkeit", "Veranstaltung", "Fortbildung", "Übergang Schule-Beruf",
]
FIELDS = ["querschnitt", "elementarbereich", "schule", "uebergang_schule_beruf"]
AUDIENCES = ["eltern", "kinder", "jugendliche", "neuzugewanderte", "gefluechtete", "lehrkraefte", "ehrenamtliche"]
PROGRAMMES = ["rucksack_kita", "griffbereit", "komm_an", "sprachmittlerpool", "kim", "kaoa"]
KINDS = ["project", "project", "best_practice", "event", "news", "news"]
STATUSES = ["planned", "active", "active", "completed"]
AUTHORS = ["Ayşe Demir", "Jonas Becker", "Olena Kovalenko", "Mariam Haddad", "Petra Schulte", "Tomasz Nowak"]


# -- sources and items ---------------------------------------------------------


@dataclass
class Centre:
    id: str
    name: str
    key: str  # district key, 5 digits
    host: str


@dataclass
class Entry:
    number: int
    guid: str
    url: str
    title: str
    teaser_html: str
    teaser_text: str
    content_html: str
    published: datetime
    modified: datetime
    categories: list[str]
    author: str
    kind: str
    fields: list[str]
    audience: list[str]
    programmes: list[str]
    status: str
    enclosure: tuple[str, str, int] | None = None


@dataclass
class Source:
    index: int
    id: str
    format: str  # rss | atom | jsonfeed
    centre: Centre
    revision: int = 0
    entries: list[Entry] = field(default_factory=list)

    @property
    def feed_path(self) -> str:
        return f"feeds/{self.id}.{'json' if self.format == 'jsonfeed' else 'xml'}"

    @property
    def exchange_path(self) -> str:
        return f"exchange/{self.id}.json"


def _centres(count: int) -> list[Centre]:
    """The 54 KI of NRW first (from kisync's registry), then invented centres beyond NRW."""
    import csv

    registry = Path(__file__).resolve().parent.parent / "kisync" / "data" / "ki-nrw.csv"
    rows = list(csv.DictReader(registry.read_text(encoding="utf-8").splitlines()))
    centres = []
    for index in range(count):
        if index < len(rows):
            row = rows[index]
            slug = row["name"].split()[-1].lower().replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
            centres.append(Centre(row["id"], f"KI {row['name']}", row["key"], f"www.ki-{slug}.de"))
        else:
            key = f"{9 + index // 1000:02d}{index % 1000:03d}"
            centres.append(Centre(f"ki-x{index:05d}", f"Integrationszentrum Musterkreis {index}", key,
                                  f"www.integration-musterkreis-{index}.de"))
    return centres


def _sentence(rng: random.Random) -> str:
    text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}, {rng.choice(CLAUSES)}."
    if rng.random() < 0.5:
        text += " " + rng.choice(DETAILS)
    return text


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def _html_content(rng: random.Random, centre: Centre, number: int) -> str:
    """HTML as a municipal CMS exports it: a mix a sanitizer has to work through."""
    parts = [f'<div class="ce-bodytext" style="margin:0 0 1em 0"><h1>{escape(rng.choice(OBJECTS).capitalize())}</h1>']
    for paragraph in range(rng.randint(2, 3)):
        text = escape(_paragraph(rng, rng.randint(1, 3)))
        words = text.split(" ")
        if len(words) > 8:
            at = rng.randrange(2, len(words) - 4)
            words[at] = f"<strong>{words[at]}</strong>"
            words[at + 2] = f'<a href="/projekte/{number}-{paragraph}.html?utm_source=newsletter&amp;utm_medium=email" ' \
                            f'target="_blank" onclick="track(this)">{words[at + 2]}</a>'
        parts.append(f'<p class="bodytext">{" ".join(words)}</p>')
        if paragraph == 1:
            parts.append(
                '<ul class="list-normal">'
                + "".join(f"<li>{escape(rng.choice(DETAILS))}</li>" for _ in range(rng.randint(2, 4)))
                + "</ul>"
            )
        if paragraph == 2 and rng.random() < 0.5:
            parts.append(
                f'<figure class="image"><img src="fileadmin/bilder/{number}.jpg" alt="Foto: {escape(rng.choice(PLACES))}" '
                f'width="640" height="427" style="border:0" loading="lazy"><figcaption>Foto: KI</figcaption></figure>'
            )
    if rng.random() < 0.3:
        parts.append(
            "<table><tr><th>Termin</th><th>Ort</th></tr>"
            + "".join(f"<tr><td>{day}. März</td><td>{escape(rng.choice(PLACES))}</td></tr>"
                      for day in range(2, 2 + rng.randint(2, 4)))
            + "</table>"
        )
    if rng.random() < 0.25:
        parts.append('<script type="text/javascript">window._paq = window._paq || []; _paq.push(["trackPageView"]);</script>')
    if rng.random() < 0.15:
        parts.append('<iframe src="https://www.youtube-nocookie.com/embed/xyz" width="560" height="315"></iframe>')
    mail = f"integration@{centre.host.removeprefix('www.')}"
    phone = f"0{rng.randint(200, 999)}&nbsp;{rng.randint(10000, 99999)}"
    parts.append(f'<p>Kontakt: <a href="mailto:{mail}">{mail}</a>&nbsp;&middot;&nbsp;'
                 f'<font color="#333">Tel. {phone}</font></p></div>')
    return "".join(parts)


def _entry(rng: random.Random, source: Source, number: int) -> Entry:
    centre = source.centre
    place = rng.choice(PLACES)
    modified = EPOCH - timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
    published = modified - timedelta(days=rng.randint(0, 30))
    title = rng.choice(TITLES).format(place=place, year=modified.year)
    teaser = _paragraph(rng, 1)
    return Entry(
        number=number,
        guid=f"https://{centre.host}/aktuelles/{source.index:04d}-{number:05d}",
        url=f"https://{centre.host}/aktuelles/{number:05d}-{place.lower().replace(' ', '-')}.html",
        title=title,
        teaser_html=f"<p>{escape(teaser)} <a href=\"/aktuelles/{number:05d}.html\">Weiterlesen&nbsp;&raquo;</a></p>",
        teaser_text=teaser,
        content_html=_html_content(rng, centre, number),
        published=published,
        modified=modified,
        categories=rng.sample(CATEGORIES, rng.randint(1, 4)),
        author=rng.choice(AUTHORS),
        kind=rng.choice(KINDS),
        fields=sorted(rng.sample(FIELDS, rng.randint(1, 2)), key=FIELDS.index),
        audience=rng.sample(AUDIENCES, rng.randint(1, 3)),
        programmes=rng.sample(PROGRAMMES, rng.randint(0, 2)),
        status=rng.choice(STATUSES),
        enclosure=(f"https://{centre.host}/fileadmin/flyer-{number}.pdf", "application/pdf", rng.randint(50_000, 900_000))
        if rng.random() < 0.2 else None,
    )


def build_sources(sources: int, items: int, seed: int) -> list[Source]:
    centres = _centres(sources)
    formats = [name for name, share in FORMAT_MIX for _ in range(share)]
    result = []
    for index in range(sources):
        rng = random.Random(f"{seed}:{index}")
        source = Source(index, f"src-{index + 1:04d}", formats[(index * 37) % len(formats)], centres[index])
        source.entries = [_entry(rng, source, number) for number in range(items)]
        source.entries.sort(key=lambda e: e.modified, reverse=True)
        result.append(source)
    return result


# -- rendering -----------------------------------------------------------------


def _rfc822(moment: datetime) -> str:
    from email.utils import format_datetime

    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render_rss(source: Source) -> bytes:
    centre = source.centre
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n',
        f"<title>{escape(centre.name)}: Aktuelles</title>\n<link>https://{centre.host}/</link>\n",
        f"<description>Projekte und Meldungen des {escape(centre.name)}</description>\n<language>de-de</language>\n",
        f"<lastBuildDate>{_rfc822(source.entries[0].modified)}</lastBuildDate>\n",
        f'<atom:link href="https://{centre.host}/feed.rss" rel="self" type="application/rss+xml"/>\n',
    ]
    for e in source.entries:
        out.append("<item>\n")
        out.append(f"<title>{escape(e.title)}</title>\n<link>{escape(e.url)}</link>\n")
        out.append(f'<guid isPermaLink="false">{escape(e.guid)}</guid>\n<pubDate>{_rfc822(e.modified)}</pubDate>\n')
        out.append(f"<dc:creator>{escape(e.author)}</dc:creator>\n")
        out.extend(f"<category>{escape(c)}</category>\n" for c in e.categories)
        out.append(f"<description>{escape(e.teaser_html)}</description>\n")
        out.append(f"<content:encoded><![CDATA[{e.content_html}]]></content:encoded>\n")
        if e.enclosure:
            out.append(f'<enclosure url={quoteattr(e.enclosure[0])} type="{e.enclosure[1]}" length="{e.enclosure[2]}"/>\n')
        out.append("</item>\n")
    out.append("</channel>\n</rss>\n")
    return "".join(out).encode()


def render_atom(source: Source) -> bytes:
    centre = source.centre
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de">\n',
        f"<title>{escape(centre.name)}: Aktuelles</title>\n<id>https://{centre.host}/feed.atom</id>\n",
        f'<link href="https://{centre.host}/"/>\n<link rel="self" href="https://{centre.host}/feed.atom"/>\n',
        f"<updated>{_rfc3339(source.entries[0].modified)}</updated>\n",
        f"<author><name>{escape(centre.name)}</name></author>\n",
    ]
    for e in source.entries:
        out.append("<entry>\n")
        out.append(f"<title type=\"html\">{escape(escape(e.title))}</title>\n<id>{escape(e.guid)}</id>\n")
        out.append(f'<link rel="alternate" type="text/html" href={quoteattr(e.url)}/>\n')
        out.append(f"<published>{_rfc3339(e.published)}</published>\n<updated>{_rfc3339(e.modified)}</updated>\n")
        out.append(f"<author><name>{escape(e.author)}</name></author>\n")
        out.extend(f"<category term={quoteattr(c)}/>\n" for c in e.categories)
        out.append(f'<summary type="html">{escape(e.teaser_html)}</summary>\n')
        out.append(f'<content type="html">{escape(e.content_html)}</content>\n')
        if e.enclosure:
            url, media_type, length = e.enclosure
            out.append(f'<link rel="enclosure" href={quoteattr(url)} type="{media_type}" length="{length}"/>\n')
        out.append("</entry>\n")
    out.append("</feed>\n")
    return "".join(out).encode()


def render_jsonfeed(source: Source) -> bytes:
    centre = source.centre
    items = []
    for e in source.entries:
        item = {
            "id": e.guid,
            "url": e.url,
            "title": e.title,
            "summary": e.teaser_text,
            "content_html": e.content_html,
            "date_published": _rfc3339(e.published),
            "date_modified": _rfc3339(e.modified),
            "authors": [{"name": e.author}],
            "tags": e.categories,
            "language": "de",
        }
        if e.enclosure:
            item["attachments"] = [{"url": e.enclosure[0], "mime_type": e.enclosure[1], "size_in_bytes": e.enclosure[2]}]
        items.append(item)
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": f"{centre.name}: Aktuelles",
        "home_page_url": f"https://{centre.host}/",
        "feed_url": f"https://{centre.host}/feed.json",
        "language": "de-DE",
        "items": items,
    }
    return json.dumps(feed, ensure_ascii=False, indent=1).encode()


def exchange_item(e: Entry, centre: Centre) -> dict:
    item = {
        "id": e.guid,
        "kind": e.kind,
        "origin": {"id": centre.id, "name": centre.name, "ars": centre.key},
        "created": _rfc3339(e.published),
        "modified": _rfc3339(e.modified),
        "title": e.title,
        "summary": e.teaser_text,
        "content_html": e.content_html,
        "url": e.url,
        "language": "de",
        "fields_of_action": e.fields,
        "audience": e.audience,
        "programmes": e.programmes,
        "tags": e.categories,
        "status": e.status,
        "area_served": [centre.key],
        "contact": {"organisation": centre.name, "name": e.author,
                    "email": f"integration@{centre.host.removeprefix('www.')}"},
    }
    if e.enclosure:
        item["attachments"] = [{"url": e.enclosure[0], "media_type": e.enclosure[1], "size": e.enclosure[2]}]
    return item


def render_exchange(source: Source) -> bytes:
    centre = source.centre
    document = {
        "exchange_version": "1.0",
        "publisher": {"id": centre.id, "name": centre.name, "ars": centre.key},
        "generated": _rfc3339(EPOCH + timedelta(minutes=source.revision)),
        "complete": True,
        "data": [exchange_item(e, centre) for e in source.entries],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


RENDERERS = {"rss": render_rss, "atom": render_atom, "jsonfeed": render_jsonfeed}


# -- files ---------------------------------------------------------------------


def _write(path: Path, body: bytes, mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    gz = path.with_name(path.name + ".gz")
    gz.write_bytes(gzip.compress(body, compresslevel=6, mtime=0))
    for p in (path, gz):
        os.utime(p, (mtime, mtime))


def write_source(root: Path, source: Source) -> None:
    mtime = FILE_MTIME + source.index + 3600 * source.revision
    _write(root / source.feed_path, RENDERERS[source.format](source), mtime)
    _write(root / source.exchange_path, render_exchange(source), mtime)


@dataclass
class Corpus:
    root: Path
    sources: int
    items: int
    seed: int
    manifest: dict

    def feed_urls(self, base: str) -> list[str]:
        return [f"{base}/{s['feed']}" for s in self.manifest["sources"]]

    def exchange_urls(self, base: str) -> list[str]:
        return [f"{base}/{s['exchange']}" for s in self.manifest["sources"]]

    def bodies(self, kind: str = "feed") -> list[tuple[str, bytes]]:
        """(format, body) of every source, uncompressed."""
        key = "feed" if kind == "feed" else "exchange"
        return [(s["format"] if key == "feed" else "exchange", (self.root / s[key]).read_bytes())
                for s in self.manifest["sources"]]


def generate(sources: int, items: int, seed: int = 1, out: Path | None = None) -> Corpus:
    root = out or OUT / f"corpus-{sources}x{items}-s{seed}"
    if root.exists():
        import shutil

        shutil.rmtree(root)
    built = build_sources(sources, items, seed)
    for source in built:
        write_source(root, source)
    manifest = {
        "sources": [
            {"id": s.id, "format": s.format, "centre": s.centre.id, "centre_name": s.centre.name,
             "feed": s.feed_path, "exchange": s.exchange_path}
            for s in built
        ],
        "items": items,
        "seed": seed,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return Corpus(root, sources, items, seed, manifest)


def mutate(corpus: Corpus, share: float, *, changed_items: int = 3, revision: int = 1) -> list[str]:
    """Change ``share`` of the sources: a few items get a new title and modified date, one item is new.

    Returns the ids of the changed sources. Their files get a later mtime,
    so their ETag and Last-Modified change.
    """
    built = build_sources(corpus.sources, corpus.items, corpus.seed)
    count = max(1, round(share * len(built)))
    rng = random.Random(f"{corpus.seed}:mutate:{revision}")
    chosen = sorted(rng.sample(range(len(built)), count))
    for index in chosen:
        source = built[index]
        source.revision = revision
        entry_rng = random.Random(f"{corpus.seed}:{index}:rev{revision}")
        moment = EPOCH + timedelta(hours=revision)
        for entry in entry_rng.sample(source.entries, min(changed_items, len(source.entries))):
            entry.title = f"{entry.title} (aktualisiert)"
            entry.modified = moment
        source.entries.insert(0, _entry(entry_rng, source, corpus.items + revision))
        source.entries[0].modified = moment
        write_source(corpus.root, source)
    return [built[i].id for i in chosen]


def stats(corpus: Corpus) -> dict:
    feeds = [s["feed"] for s in corpus.manifest["sources"]]
    exchange = [s["exchange"] for s in corpus.manifest["sources"]]
    size = lambda paths: sum((corpus.root / p).stat().st_size for p in paths)  # noqa: E731
    gz = lambda paths: sum((corpus.root / (p + ".gz")).stat().st_size for p in paths)  # noqa: E731
    formats: dict[str, int] = {}
    for s in corpus.manifest["sources"]:
        formats[s["format"]] = formats.get(s["format"], 0) + 1
    return {"feed_bytes": size(feeds), "feed_gz_bytes": gz(feeds), "exchange_bytes": size(exchange),
            "exchange_gz_bytes": gz(exchange), "formats": formats}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=400)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="directory (default bench/out/corpus-NxM-sSEED)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    corpus = generate(args.sources, args.items, args.seed, args.out)
    info = stats(corpus)
    print(f"corpus: {corpus.root}")
    print(f"  {args.sources} sources × {args.items} items, seed {args.seed}, in {time.perf_counter() - started:.1f} s")
    print(f"  formats: {', '.join(f'{k} {v}' for k, v in sorted(info['formats'].items()))}")
    print(f"  feeds:    {info['feed_bytes'] / 1e6:.1f} MB ({info['feed_gz_bytes'] / 1e6:.1f} MB gzip)")
    print(f"  exchange: {info['exchange_bytes'] / 1e6:.1f} MB ({info['exchange_gz_bytes'] / 1e6:.1f} MB gzip)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
