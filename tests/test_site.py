"""The documentation site, built once and read in a real browser.

A session fixture runs ``mkdocs build --strict`` in this process (so the notebooks are
executed through a Jupyter kernel exactly as ``mkdocs build`` does, and the
reproductions page shares litnet's experiment caches with the other tests), then serves
the result on 127.0.0.1 and visits every page in Debian's Chromium through Playwright.

Without Chromium or Playwright the browser tests skip with the reason; with ``CI=true``
they fail instead, so CI can never pass by skipping them.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import logging
import os
import re
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition, reason):
    """Skip when ``condition`` is false, or fail under CI=true."""
    if not condition:
        if IN_CI:
            pytest.fail(f"{reason} (required when CI=true)")
        pytest.skip(reason)


# ---------------------------------------------------------------------------------------
# Build once, serve once
# ---------------------------------------------------------------------------------------
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@dataclass
class Site:
    dir: Path
    url: str
    warnings: list = field(default_factory=list)
    seconds: float = 0.0

    def pages(self):
        """Every HTML page of the built site, as URLs."""
        out = []
        for path in sorted(self.dir.rglob("*.html")):
            rel = path.relative_to(self.dir).as_posix()
            if rel.endswith("index.html"):
                rel = rel[: -len("index.html")]
            out.append(self.url + rel)
        return out

    def file_for(self, url):
        """The file a same-origin URL serves, or None."""
        path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
        target = self.dir / path.lstrip("/")
        if path.endswith("/"):
            target = target / "index.html"
        return target if target.is_file() else None


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.levelname} {record.name}: {record.getMessage()}")


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    site_dir = tmp_path_factory.mktemp("site")
    handler = functools.partial(_Quiet, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}/"

    collect = _Collect()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(collect)
    saved = {k: os.environ.get(k) for k in ("SITE_URL", "NO_MKDOCS_2_WARNING")}
    os.environ["SITE_URL"] = url     # instant navigation needs site_url == where it is served
    os.environ["NO_MKDOCS_2_WARNING"] = "1"
    start = time.perf_counter()
    try:
        config = load_config(str(ROOT / "mkdocs.yml"), site_dir=str(site_dir), strict=True)
        config.plugins.on_startup(command="build", dirty=False)
        try:
            build(config)
        finally:
            config.plugins.on_shutdown()
    finally:
        logger.removeHandler(collect)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    built = Site(site_dir, url, collect.records, time.perf_counter() - start)

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield built
    server.shutdown()
    server.server_close()


# ---------------------------------------------------------------------------------------
# The build itself
# ---------------------------------------------------------------------------------------
def test_build_is_strict_and_clean(site):
    print(f"mkdocs build --strict: {site.seconds:.1f} s")
    assert site.warnings == []
    assert (site.dir / "index.html").is_file()
    assert (site.dir / "sitemap.xml").is_file()


def test_sitemap_lists_every_page(site):
    names = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [e.text for e in ET.parse(site.dir / "sitemap.xml").findall(".//s:loc", names)]
    assert locs, "empty sitemap"
    assert all(loc.startswith(site.url) for loc in locs), locs[:3]
    missing = [loc for loc in locs if site.file_for(loc) is None]
    assert missing == []


LABS = sorted(p.stem for p in (ROOT / "docs" / "labs").glob("*.py"))


@pytest.mark.parametrize("lab", LABS)
def test_lab_page_is_executed_with_downloads(site, lab):
    folder = site.dir / "labs" / lab
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "jp-OutputArea-output" in page, f"{lab}: no cell output on the page"
    assert "Load mathjax" not in page and "MathJax.Hub" not in page
    assert 'class="md-content__button' in page
    assert (folder / f"{lab}.py").is_file()
    import nbformat

    nb = nbformat.read(folder / f"{lab}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_lab_figures_are_drawn_at_build_time(site):
    with_figures = [
        lab for lab in LABS
        if "data:image/png;base64" in (site.dir / "labs" / lab / "index.html").read_text("utf-8")
    ]
    assert with_figures, "no lab page carries a figure"
    committed = [p for p in (ROOT / "docs").rglob("*") if p.suffix in {".png", ".jpg", ".svg"}]
    assert committed == [], "figures must come from the build, not from the repository"


def test_reproductions_page_is_generated(site):
    from litnet.experiments import REGISTRY

    page = (site.dir / "reproductions" / "index.html").read_text(encoding="utf-8")
    assert "<!-- claims:" not in page
    for key in REGISTRY:
        assert f'<code class="claim-id">{key}.' in page, f"{key}: no claim rows on the page"
    assert "claims hold" in page


def test_snippets_embed_the_real_source(site):
    page = (site.dir / "chapters" / "ch1-vanishing-gradients" / "index.html").read_text("utf-8")
    assert "--8&lt;--" not in page and "--8<--" not in page
    assert "Sigmoid" in page


CHAPTERS = sorted(p.stem for p in (ROOT / "docs" / "chapters").glob("*.md"))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_numbers_are_live_or_quoted(site, chapter):
    """No decimal, percentage or power of ten in a chapter's prose is typed by hand: each
    is computed at build (data-litnet) or marked as a quotation (data-source)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_hooks_live", ROOT / "docs/hooks/live.py")
    live = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = live            # dataclasses look their module up
    spec.loader.exec_module(live)
    page = (site.dir / "chapters" / chapter / "index.html").read_text("utf-8")
    assert live.unmarked_numbers(page) == []
    assert "{{ " not in page, "an unrendered {{ … }} (TeX's }} in math is fine)"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_figures_are_drawn_with_alt_text(site, chapter):
    page = (site.dir / "chapters" / chapter / "index.html").read_text("utf-8")
    figures = re.findall(r'<figure class="litnet-figure".*?</figure>', page, re.S)
    minimum = 2 if chapter.startswith("ch4") else 3
    assert len(figures) >= minimum
    for fig in figures:
        assert 'src="data:image/svg+xml;base64,' in fig
        assert re.search(r'alt="[^"]{20,}"', fig) and "<figcaption>" in fig


# ---------------------------------------------------------------------------------------
# Static checks of the docs tree (no build needed)
# ---------------------------------------------------------------------------------------
def _documented_modules():
    found = set()
    for md in (ROOT / "docs" / "api").glob("*.md"):
        found |= set(re.findall(r"^::: (litnet[\w.]*)\s*$", md.read_text("utf-8"), re.M))
    return found


def test_api_reference_covers_every_module():
    """Every public module of litnet has a ``::: litnet.x`` block in docs/api/."""
    import pkgutil

    import litnet

    documented = _documented_modules()
    modules = ["litnet"] + [
        m.name for m in pkgutil.walk_packages(litnet.__path__, "litnet.")
        if not any(part.startswith("_") for part in m.name.split("."))
        and not m.name.startswith("litnet.experiments.")   # listed by docs/hooks/api.py
    ]
    missing = [m for m in modules if m not in documented and m != "litnet"]
    assert missing == [], f"add these modules to a page of docs/api/: {missing}"
    for name in litnet.__all__:
        obj = getattr(litnet, name)
        where = getattr(obj, "__module__", None) or obj.__name__
        assert where in documented, f"litnet.{name} (from {where}) is not in the API reference"


def test_nav_lists_every_page():
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text("utf-8"), Loader=_Loader)

    def walk(items):
        for item in items:
            if isinstance(item, str):
                yield item
            elif isinstance(item, dict):
                for value in item.values():
                    yield from walk(value if isinstance(value, list) else [value])

    in_nav = set(walk(config["nav"]))
    docs = ROOT / "docs"
    pages = {p.relative_to(docs).as_posix() for p in docs.rglob("*.md")}
    pages |= {p.relative_to(docs).as_posix() for p in (docs / "labs").glob("*.py")}
    assert pages - in_nav == set(), "pages missing from the nav"
    assert in_nav - pages == set(), "nav entries without a page"


# ---------------------------------------------------------------------------------------
# In the browser
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    require(Path(CHROMIUM).exists(), f"Debian chromium not found at {CHROMIUM} "
                                     "(apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        require(False, f"playwright is not installed ({exc})")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


class Watch:
    """A browser context that records errors and every request leaving 127.0.0.1."""

    def __init__(self, browser, site):
        self.site = site
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.problems = []
        self.where = ""
        origin = site.url.rstrip("/")

        def refuse(r):
            self.problems.append(("off-host request", self.where, r.request.url))
            r.abort()

        # Only what leaves the site is intercepted (the browser matches the pattern), so
        # the site's own requests never make a round trip through Python.
        self.context.route(re.compile("^(?!" + re.escape(origin) + "(/|$))"), refuse)

        def failed(r):
            # ERR_ABORTED is the browser cancelling a request because the test moved on to
            # the next page (e.g. the favicon); a missing file shows up as an HTTP status.
            if r.url.startswith(origin) and "ERR_ABORTED" not in (r.failure or ""):
                self.problems.append(("failed request", self.where, f"{r.url} {r.failure}"))

        self.context.on("requestfailed", failed)
        self.context.on("response", lambda r: r.status >= 400 and (
            self.problems.append((f"HTTP {r.status}", self.where, r.url))))
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and (
            self.problems.append(("console error", self.where, m.text))))
        self.page.on("pageerror", lambda e: self.problems.append(
            ("page error", self.where, str(e))))

    def goto(self, url):
        self.where = url.removeprefix(self.site.url) or "/"
        self.page.goto(url, wait_until="load")
        self.settle()

    def settle(self):
        """Wait until MathJax has typeset the current page."""
        self.page.wait_for_function("() => window.litnetMath !== undefined")
        self.page.evaluate("async () => { await window.litnetMath.done; }")

    def close(self):
        self.context.close()


MATH_REPORT = r"""() => {
  const visible = e => e.checkVisibility();
  const arith = [...document.querySelectorAll('.arithmatex')];
  const mjx = [...document.querySelectorAll('mjx-container')];
  const leftover = [];
  for (const root of document.querySelectorAll('.jp-MarkdownOutput')) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n.parentElement.closest('code, pre, mjx-container')) continue;
      if (/\$|\\\(|\\\[/.test(n.textContent)) leftover.push(n.textContent.trim().slice(0, 60));
    }
  }
  return {
    arithmatex: arith.length,
    unrendered: arith.filter(e => !e.querySelector('mjx-container'))
                     .map(e => e.textContent.trim().slice(0, 60)),
    containers: mjx.length,
    zeroWidth: mjx.filter(e => visible(e) && e.getBoundingClientRect().width === 0).length,
    texErrors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 60)),
    leftover,
  };
}"""

IMAGES_REPORT = """async () => {
  const imgs = [...document.images];
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  return imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80));
}"""


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


@functools.cache
def _ids_in(path):
    parser = _Ids()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    return frozenset(parser.ids)


@pytest.fixture(scope="session")
def tour(browser, site):
    """Visit every page once; collect what each check needs."""
    watch = Watch(browser, site)
    report = {"math": {}, "images": {}, "links": {}}
    try:
        for url in site.pages():
            watch.goto(url)
            report["math"][watch.where] = watch.page.evaluate(MATH_REPORT)
            report["images"][watch.where] = watch.page.evaluate(IMAGES_REPORT)
            report["links"][watch.where] = watch.page.evaluate(
                "() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    finally:
        watch.close()
    report["problems"] = watch.problems
    report["pages"] = len(site.pages())
    return report


def test_every_page_loads_without_errors_or_outside_requests(tour):
    assert tour["pages"] >= 10
    assert tour["problems"] == []


def test_math_is_rendered_and_visible(tour):
    bad = {}
    for page, m in tour["math"].items():
        issues = {k: m[k] for k in ("unrendered", "texErrors", "leftover") if m[k]}
        if m["zeroWidth"]:
            issues["zero-width"] = m["zeroWidth"]
        if m["containers"] < m["arithmatex"]:
            issues["containers"] = (m["containers"], m["arithmatex"])
        if issues:
            bad[page] = issues
    assert bad == {}
    pages_with_math = [p for p, m in tour["math"].items() if m["containers"]]
    for expected in ("/", "api/layers/", "labs/ch1_lab/"):
        assert expected in pages_with_math, f"no rendered math on {expected}"


def test_images_decode(tour):
    assert {p: i for p, i in tour["images"].items() if i} == {}
    assert any(tour["images"].keys())


def test_internal_links_and_anchors_resolve(tour, site):
    broken = []
    for page, hrefs in tour["links"].items():
        for href in hrefs:
            if not href.startswith(site.url):
                continue
            target = site.file_for(href)
            if target is None:
                broken.append((page, href, "no such file"))
                continue
            fragment = urllib.parse.unquote(urllib.parse.urlsplit(href).fragment)
            if fragment and target.suffix == ".html" and fragment not in _ids_in(str(target)):
                broken.append((page, href, "no such anchor"))
    assert broken == []


def test_dark_mode_toggle(browser, site):
    watch = Watch(browser, site)
    try:
        page = watch.page
        watch.goto(site.url)
        scheme = "document.body.getAttribute('data-md-color-scheme')"
        background = "getComputedStyle(document.body).backgroundColor"
        assert page.evaluate(scheme) == "default"
        light = page.evaluate(background)
        page.get_by_title("Switch to dark mode").click()
        page.wait_for_function(f"() => {scheme} === 'slate'")
        assert page.evaluate(background) != light
        page.reload()                                  # the choice persists
        watch.settle()
        assert page.evaluate(scheme) == "slate"
        page.get_by_title("Switch to light mode").click()
        page.wait_for_function(f"() => {scheme} === 'default'")
        assert page.evaluate(background) == light
    finally:
        watch.close()
    assert watch.problems == []


def test_search_finds_batchnorm(browser, site):
    # Material sends a query to its search worker when the worker becomes ready, on focus
    # and on *keyup*, never on a bare `input` event. `fill` fires only `input`, so it found
    # something only if the index finished loading after the text was in (a slow machine)
    # and timed out when the index was ready first. Wait for the ready worker's answer to
    # the empty query (the placeholder text), then type with key events.
    watch = Watch(browser, site)
    try:
        page = watch.page
        watch.goto(site.url)
        box = page.locator("input.md-search__input")
        box.click()
        ready = page.locator(".md-search-result__meta", has_text="Type to start searching")
        ready.wait_for(timeout=120_000)          # the worker has built the index
        box.press_sequentially("BatchNorm")
        results = page.locator(".md-search-result__item")
        results.first.wait_for(timeout=15_000)
        texts = results.all_inner_texts()
        assert any("batchnorm" in t.lower() for t in texts), texts[:5]
    finally:
        watch.close()
    assert watch.problems == []


def test_code_copy_button_copies(browser, site):
    watch = Watch(browser, site)
    try:
        page = watch.page
        watch.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                        origin=site.url.rstrip("/"))
        watch.goto(site.url)
        buttons = page.locator("button.md-code__button[data-md-type=copy]")
        assert buttons.count() >= 1
        # The README's test command block: its copy button puts exactly the command there.
        block = page.locator("pre", has_text="python -m pytest").first
        block.hover()
        block.locator("xpath=..").locator("button[data-md-type=copy]").click()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.strip().endswith(".venv/bin/python -m pytest")
    finally:
        watch.close()
    assert watch.problems == []


def test_instant_navigation_keeps_math_and_notebooks_working(browser, site):
    watch = Watch(browser, site)
    try:
        page = watch.page
        watch.goto(site.url)
        page.evaluate("window.__sameDocument = true")
        for path, math_root in (
            ("labs/ch1_lab/", ".jp-MarkdownOutput"),
            ("api/layers/", ".arithmatex"),
            ("chapters/ch1-vanishing-gradients/", ".arithmatex"),
            ("labs/ch3_lab/", ".jp-MarkdownOutput"),
        ):
            watch.where = f"instant -> {path}"
            # A plain link in the content, clicked as a reader would: Material intercepts it.
            page.evaluate(
                """href => {
                    const a = document.createElement('a');
                    a.href = href; a.id = 'instant-test-link'; a.textContent = 'go';
                    document.querySelector('article.md-content__inner').prepend(a);
                }""",
                site.url + path,
            )
            page.locator("#instant-test-link").click()
            page.wait_for_url(site.url + path)
            page.wait_for_function(
                f"() => document.querySelector('{math_root} mjx-container') !== null")
            watch.settle()
            assert page.evaluate("window.__sameDocument") is True, "not an instant navigation"
            math = page.evaluate(MATH_REPORT)
            assert math["zeroWidth"] == 0 and not math["unrendered"], (path, math)
    finally:
        watch.close()
    assert watch.problems == []
