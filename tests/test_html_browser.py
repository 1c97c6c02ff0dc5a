"""The pages in a real browser: Debian's chromium, driven by Playwright for Python.

- axe-core finds no violation of the WCAG 2.0/2.1 A and AA rules on any
  page, wide and narrow, with realistic data (the example snapshots and
  feeds, synced through the real pipeline, plus a failing and a disabled
  source);
- the filter form works with the keyboard alone, every focus stop shows a
  visible focus ring with enough contrast, and there is no keyboard trap;
- every page works at 320 px (WCAG 1.4.10): nothing wider than the window;
- XSS payloads in RSS, Atom, JSON Feed and exchange documents travel the
  whole pipeline (loopback server -> fetch -> parse -> normalize -> store
  -> app on a real port -> chromium) and no script runs: a dialog handler
  and a global flag never fire, with the pages' CSP and once more with the
  CSP bypassed, which leaves the sanitizer as the only line.

axe-core is the copy bundled in the ``axe-playwright-python`` wheel; it is
evaluated through the DevTools protocol, which the page's CSP does not
govern, so the CSP is never weakened for it.

Chromium is found at /usr/bin/chromium (``KISYNC_CHROMIUM`` overrides).
Without it the tests skip and say how to install it; under ``CI=true`` they
fail instead. ``KISYNC_SCREENSHOTS=docs/screenshots`` makes
``test_screenshots`` write the screenshots of the documentation (compressed
with pngquant when it is installed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from aiohttp import ClientSession

from tests.test_html_support import HOSTILE_CENTRES, REPO

pytest_plugins = ["tests.test_web_support", "tests.test_html_support"]

CHROMIUM = Path(os.environ.get("KISYNC_CHROMIUM", "/usr/bin/chromium"))
# Headless chromium as root in a container, on a network that refuses Google's background connections.
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 640}
WESEL_KITA = "https://www.kreis-wesel.de/ki/projekte/rucksack-kita-moers"
INSTALL_HINT = "install it with `apt-get install chromium` (Debian/Ubuntu) or point KISYNC_CHROMIUM at a Chromium binary"


def browser_problem() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -e '.[test]'"
    try:
        resources.files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")
    except (ImportError, FileNotFoundError):
        return "axe-core is missing (the axe-playwright-python package): pip install -e '.[test]'"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no chromium at {CHROMIUM}: {INSTALL_HINT}"
    return None


@pytest.fixture
async def browser():
    problem = browser_problem()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run in CI: {problem}")
        pytest.skip(f"browser tests need a browser: {problem}")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        await launched.close()


def item_href(item_id: str) -> str:
    return "/items/" + quote(item_id, safe="")


async def api_ids(site, query: str) -> list[str]:
    async with ClientSession() as session, session.get(site(f"/api/v1/items?{query}&limit=500")) as response:
        return [item["id"] for item in (await response.json())["data"]]


async def new_page(browser, viewport, **options):
    context = await browser.new_context(viewport=viewport, locale="de-DE", **options)
    page = await context.new_page()
    problems: list[str] = []
    # A CSP violation means the page asked for something its own policy forbids: a bug either way.
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    return context, page, problems


# -- accessibility -----------------------------------------------------------------------

AXE = None


def axe_source() -> str:
    global AXE
    if AXE is None:
        AXE = resources.files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")
    return AXE


async def axe_violations(page) -> list[dict]:
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(axe_source())
    return await page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary),
            }));
        }""",
        WCAG_TAGS,
    )


async def realistic_paths(site) -> list[str]:
    """One of each kind of page, with the data that makes it interesting."""
    arabic = (await api_ids(site, "lang=ar"))[0]
    feed_item = (await api_ids(site, "centre=ki-05119"))[0]
    async with ClientSession() as session, session.get(site("/")) as response:
        next_page = re.search(r'href="(/\?[^"]*cursor=[^"]*)" rel="next"', await response.text()).group(1)
    return [
        "/",
        "/?field=elementarbereich&kind=project&audience=eltern&q=Kita",
        next_page.replace("&amp;", "&"),
        "/?centre=ki-99999",  # nothing found
        "/?field=nix",  # a German error page, with the form
        item_href(WESEL_KITA),
        item_href(arabic),
        item_href(feed_item),
        "/items/urn%3Anichts",  # 404 page
        "/zentren",
        "/statistik",
    ]


async def test_no_wcag_a_or_aa_violation_on_any_page(browser, realistic_site):
    paths = await realistic_paths(realistic_site)
    # Narrow: the same markup in another layout; the pages whose layout changes most are enough there.
    narrow = [p for p in paths if p in ("/", "/?field=nix", item_href(WESEL_KITA), "/zentren", "/statistik")]
    found: dict[str, list] = {}
    for viewport, visited in ((WIDE, paths), (NARROW, narrow)):
        context, page, problems = await new_page(browser, viewport)
        for path in visited:
            response = await page.goto(realistic_site(path))
            assert response.status in (200, 400, 404), path
            # The stylesheet loaded (under the CSP): the header has its colour.
            assert await page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor") == (
                "rgb(11, 59, 111)"
            )
            violations = await axe_violations(page)
            if violations:
                found[f"{path} @ {viewport['width']} px"] = violations
        assert problems == []
        await context.close()
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)
    # The harness can see a violation when there is one (no lang, an image without alt, an unlabelled field).
    context, page, _ = await new_page(browser, WIDE)
    await page.set_content("<title>x</title><main><img src='data:,'><input type='text'></main>")
    assert {"html-has-lang", "image-alt", "label"} <= {v["id"] for v in await axe_violations(page)}
    await context.close()


# -- keyboard and focus --------------------------------------------------------------------

# What has focus, and whether its focus indicator can be seen: an outline of at least 2 px whose colour
# has 3:1 contrast against the background behind the element (WCAG 2.4.7, 1.4.11).
FOCUS_STATE = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
        const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    let back = null;
    for (let node = el.parentElement; node; node = node.parentElement) {
        const c = rgb(getComputedStyle(node).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0)) { back = c.slice(0, 3); break; }
    }
    back = back || [255, 255, 255];
    const ring = rgb(style.outlineColor).slice(0, 3);
    const [hi, lo] = [lum(ring), lum(back)].sort((a, b) => b - a);
    const box = el.getBoundingClientRect();
    return {
        tag: el.tagName.toLowerCase(), id: el.id, text: (el.textContent || '').trim().slice(0, 40),
        inMain: !!el.closest('main'), outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
        contrast: (hi + 0.05) / (lo + 0.05),
        visible: box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < innerHeight
            && box.right > 0 && box.left < innerWidth,
    };
}"""


def assert_focus_visible(state: dict) -> None:
    assert state is not None
    assert state["outline"] != "none" and state["width"] >= 2, state
    assert state["contrast"] >= 3, state
    assert state["visible"], state


async def tab_to(page, element_id: str, limit: int = 30) -> None:
    for _ in range(limit):
        await page.keyboard.press("Tab")
        state = await page.evaluate(FOCUS_STATE)
        assert_focus_visible(state)
        if state["id"] == element_id:
            return
    raise AssertionError(f"#{element_id} not reached by Tab")


async def test_the_filter_form_works_with_the_keyboard_alone(browser, realistic_site):
    context, page, problems = await new_page(browser, WIDE)
    await page.goto(realistic_site("/"))
    # The first stop is the skip link, visible when focused; it leads into main.
    await page.keyboard.press("Tab")
    state = await page.evaluate(FOCUS_STATE)
    assert state["text"] == "Zum Inhalt springen"
    assert_focus_visible(state)
    await page.keyboard.press("Enter")
    assert urlsplit(page.url).fragment == "inhalt"
    await page.keyboard.press("Tab")
    state = await page.evaluate(FOCUS_STATE)
    assert state["inMain"] and state["id"] == "field-querschnitt", state
    # A checkbox with Space, a select by typing, a search field, Enter submits.
    await tab_to(page, "field-elementarbereich")
    await page.keyboard.press("Space")
    await tab_to(page, "filter-centre")
    await page.keyboard.type("KI Kreis W")
    assert await page.evaluate("document.getElementById('filter-centre').value") == "ki-05170"
    await tab_to(page, "filter-q")
    await page.keyboard.type("Rucksack")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    query = parse_qs(urlsplit(page.url).query)
    assert query["field"] == ["elementarbereich"] and query["centre"] == ["ki-05170"] and query["q"] == ["Rucksack"]
    expected = await api_ids(realistic_site, "field=elementarbereich&centre=ki-05170&q=Rucksack")
    assert expected
    shown = await page.eval_on_selector_all("ol.items h3 a", "links => links.map(a => decodeURIComponent(a.pathname.slice(7)))")
    assert shown == expected
    # The form keeps the choice; the submit button works by keyboard too.
    assert await page.is_checked("#field-elementarbereich")
    await page.focus("#filter-q")
    await page.keyboard.press("Tab")
    assert (await page.evaluate(FOCUS_STATE))["tag"] == "button"
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert parse_qs(urlsplit(page.url).query)["q"] == ["Rucksack"]
    # Every stop of the page, all the way round: visible focus, no trap.
    stops = await every_focus_stop(page)
    assert len(stops) > 20
    await page.goto(realistic_site("/zentren"))
    stops = await every_focus_stop(page)
    assert any(s["tag"] == "summary" for s in stops)  # the technical detail opens by keyboard
    assert problems == []
    await context.close()


async def every_focus_stop(page, limit: int = 400) -> list[dict]:
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.evaluate("window.scrollTo(0, 0)")
    stops: list[dict] = []
    for _ in range(limit):
        await page.keyboard.press("Tab")
        state = await page.evaluate(FOCUS_STATE)
        if state is None or (stops and state == stops[0]):
            return stops  # focus left the page, or came round: no trap
        assert_focus_visible(state)
        stops.append(state)
    raise AssertionError(f"more than {limit} focus stops: a keyboard trap? last: {stops[-3:]}")


# -- 320 px ---------------------------------------------------------------------------------

WIDER_THAN_WINDOW = """() => {
    const limit = document.documentElement.clientWidth + 1;
    return [...document.querySelectorAll('body *')]
        .filter(el => { const b = el.getBoundingClientRect(); return b.width > 0 && b.right > limit; })
        .filter(el => !el.closest('.content table'))  // a content table scrolls in its own box
        .slice(0, 5).map(el => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right));
}"""


async def test_every_page_works_at_320_px(browser, realistic_site):
    paths = await realistic_paths(realistic_site)
    context, page, problems = await new_page(browser, NARROW)
    for path in paths:
        await page.goto(realistic_site(path))
        assert await page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"], path
        assert await page.evaluate(WIDER_THAN_WINDOW) == [], path
        assert await page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 16
    # The form is usable there: choose, submit, see the result.
    await page.goto(realistic_site("/"))
    await page.check("#field-schule")
    await page.select_option("#filter-lang", "de")
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    shown = await page.eval_on_selector_all("ol.items h3 a", "links => links.map(a => decodeURIComponent(a.pathname.slice(7)))")
    assert shown == (await api_ids(realistic_site, "field=schule&lang=de"))[:20]
    assert problems == []
    await context.close()


async def test_the_pages_work_without_javascript(browser, realistic_site):
    context, page, problems = await new_page(browser, WIDE, java_script_enabled=False)
    await page.goto(realistic_site("/"))
    await page.check("#field-schule")
    await page.fill("#filter-q", "Schule")
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert parse_qs(urlsplit(page.url).query) == {"field": ["schule"], "q": ["Schule"]}
    expected = await api_ids(realistic_site, "field=schule&q=Schule")
    heading = await page.text_content("#results-heading")
    assert heading.startswith(f"{len(expected)} Eintr"), heading
    # The technical detail of a source opens without script too (details/summary).
    await page.goto(realistic_site("/zentren"))
    await page.click("#quelle-muelheim summary")
    assert await page.is_visible("#quelle-muelheim details p")
    assert await page.get_attribute("#quelle-muelheim details", "open") is not None
    assert problems == []
    await context.close()


# -- XSS through the whole pipeline -----------------------------------------------------------

DOM_PROBLEMS = """() => {
    const problems = [];
    const active = 'script, iframe, frame, object, embed, base, meta[http-equiv], img, video, audio, form:not([action="/"])';
    for (const el of document.querySelectorAll(active))
        problems.push('element ' + el.outerHTML.slice(0, 120));
    for (const el of document.querySelectorAll('*')) {
        for (const attr of el.attributes) {
            if (attr.name.startsWith('on') || attr.name === 'style' || attr.name === 'srcdoc' || attr.name === 'formaction')
                problems.push('attribute ' + attr.name + ' on ' + el.tagName);
        }
    }
    for (const a of document.querySelectorAll('[href]')) {
        const url = new URL(a.getAttribute('href'), location.href);
        if (!['http:', 'https:', 'mailto:'].includes(url.protocol)) problems.push('link ' + a.getAttribute('href').slice(0, 80));
    }
    for (const svg of document.querySelectorAll('svg')) {
        // Only our charts: no links, foreign objects or animations inside.
        if (!svg.matches('svg.bars[role=img]') || svg.querySelector('a, foreignObject, animate, set, use'))
            problems.push('svg ' + svg.outerHTML.slice(0, 120));
    }
    return problems;
}"""
WATCH = """
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation',
        (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


async def hostile_paths(site) -> list[str]:
    ids: list[str] = []
    for centre in HOSTILE_CENTRES:
        found = await api_ids(site, f"centre={centre}")
        assert found, f"nothing from {centre} ({HOSTILE_CENTRES[centre]}) arrived"
        ids += found
    return [
        "/",
        "/?limit=500",
        "/?q=script",
        "/?audience=%22%3E%3Cscript%3Ewindow.__kisyncXss%3D1%3Balert(%27audience%27)%3C%2Fscript%3E",
        "/zentren",
        "/statistik",
        *[item_href(item_id) for item_id in ids],
        "/feed.rss",
        "/feed.atom",
        "/feed.json",
        "/api/v1/items",
        "/api/v1/snapshot",
    ]


async def visit_hostile_pages(browser, site, paths: list[str], *, bypass_csp: bool) -> None:
    context, page, _ = await new_page(browser, WIDE, bypass_csp=bypass_csp)
    dialogs: list[str] = []
    elsewhere: list[str] = []

    async def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(site.url) else None)
    await context.add_init_script(WATCH)
    for path in paths:
        response = await page.goto(site(path))
        assert response.status == 200, path
        await page.wait_for_timeout(30)  # error and load handlers of media fire after the load event
        assert await page.evaluate("typeof window.__kisyncXss") == "undefined", path
        if response.headers["content-type"].startswith("text/html"):
            assert await page.evaluate(DOM_PROBLEMS) == [], path
        if not bypass_csp:
            # Nothing on the page even tried to run or load: the sanitizer had removed it all before the CSP had to.
            assert await page.evaluate("window.__cspViolations") == [], path
    assert dialogs == []
    assert elsewhere == []  # nothing was loaded from anywhere but the node: no tracking pixel either
    await context.close()


async def test_no_script_from_hostile_feeds_runs_in_the_browser(browser, hostile_site):
    reports = {r.source_id: r for r in hostile_site.reports}
    assert all(reports[s].ok for s in ("boese-rss", "boese-atom", "boese-jsonfeed", "boese-exchange")), reports
    assert not reports["boese-umleitung"].ok and "javascript" in reports["boese-umleitung"].error
    paths = await hostile_paths(hostile_site)
    assert len(paths) > 15
    await visit_hostile_pages(browser, hostile_site, paths, bypass_csp=False)
    # And once more without the CSP: the sanitizer and the escaping alone must hold.
    await visit_hostile_pages(browser, hostile_site, paths, bypass_csp=True)
    # The payloads did arrive: markup in titles and texts was removed on the way in, and what the
    # pipeline keeps as plain text (names, codes, titles of attachments) is shown as text, not run.
    context, page, _ = await new_page(browser, WIDE)
    await page.goto(hostile_site("/?limit=500"))
    titles = await page.eval_on_selector_all("ol.items h3 a", "links => links.map(a => a.textContent)")
    assert "Sprachmittlerpool" in titles and "Sprachcafé in der Kita" in titles
    options = await page.eval_on_selector_all("#filter-audience option", "options => options.map(o => o.textContent)")
    assert "\"><script>window.__kisyncXss=1;alert('audience')</script>" in options
    await page.goto(hostile_site(item_href("urn:boese:\"><svg/onload=window.__kisyncXss=1;alert('id')>")))
    text = await page.text_content("main")
    assert "KI Rhein-Erft <script>window.__kisyncXss=1;alert('origin')</script>" in text
    assert "<script>window.__kisyncXss=1;alert('anhang')</script>" in await page.text_content("main ul li a[href$='a.pdf']")
    assert await page.get_attribute("h1", "dir") == "rtl"  # Persian
    await page.goto(hostile_site("/zentren"))
    assert "javascript:" in await page.text_content("#quelle-boese-umleitung details")
    await context.close()


# -- screenshots for the documentation ----------------------------------------------------------

SCREENSHOT_PAGES = {
    "uebersicht": "/",
    "eintrag": item_href(WESEL_KITA),
    "zentren": "/zentren",
    "statistik": "/statistik",
}
# Long pages are cut: the top of a page shows what it is.
MAX_SCREENSHOT_HEIGHT = {"wide": 2400, "narrow": 3200}


@pytest.mark.skipif(not os.environ.get("KISYNC_SCREENSHOTS"), reason="set KISYNC_SCREENSHOTS=docs/screenshots to write them")
async def test_screenshots(browser, realistic_site, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("one set of screenshots is enough")
    target = REPO / os.environ["KISYNC_SCREENSHOTS"]
    target.mkdir(parents=True, exist_ok=True)
    for size, viewport in (("wide", WIDE), ("narrow", NARROW)):
        context, page, _ = await new_page(browser, viewport)
        for name, path in SCREENSHOT_PAGES.items():
            await page.goto(realistic_site(path))
            height = min(await page.evaluate("document.documentElement.scrollHeight"), MAX_SCREENSHOT_HEIGHT[size])
            clip = {"x": 0, "y": 0, "width": viewport["width"], "height": height}
            await page.screenshot(path=str(target / f"{name}-{size}.png"), full_page=True, clip=clip)
        await context.close()
    pngquant = shutil.which("pngquant")
    if pngquant:  # a quarter of the size, no visible difference for pages of flat colours
        shots = [str(target / f"{name}-{size}.png") for name in SCREENSHOT_PAGES for size in ("wide", "narrow")]
        subprocess.run([pngquant, "--force", "--skip-if-larger", "--ext", ".png", "--quality", "70-95", *shots], check=True)
