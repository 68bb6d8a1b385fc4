"""The report of a real run, opened in a real browser (Debian's Chromium driven by playwright): every
figure image decodes, every notebook link and every other local link opens, and nothing is requested
from the network. Runs in CI (``make test`` installs Chromium; see ``chromium_path``)."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

from workbench.runner import discover

LOCAL_SCHEMES = ("file", "data", "about", "blob")
IMAGES = "Array.from(document.images, i => ({src: i.src.slice(0, 60), complete: i.complete, width: i.naturalWidth}))"
LINKS = "Array.from(document.querySelectorAll('a[href]'), a => a.href)"
#: the figures notebook 07 must show on the landing page, each decoded: the error analysis's slices and overlap
KEY_FIGURES = ("07_slices", "07_overlap")
SHOWN = "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).map(i => i.alt)"


def _not_loaded(page) -> list[dict]:
    return [i for i in page.evaluate(IMAGES) if not (i["complete"] and i["width"] > 0)]


@pytest.fixture
def browser_page(chromium_path):
    """A fresh page of headless Chromium that records, and refuses, every non-local request."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # a dev dependency: `make test` installs it
        pytest.fail("playwright is not installed: pip install -e '.[dev]'")
    remote: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context()

            def guard(route):
                if urlparse(route.request.url).scheme in LOCAL_SCHEMES:
                    route.continue_()
                else:
                    remote.append(route.request.url)
                    route.abort()

            context.route("**/*", guard)
            page = context.new_page()
            page.on("request", lambda r: None if urlparse(r.url).scheme in LOCAL_SCHEMES else remote.append(r.url))
            page.on("websocket", lambda ws: remote.append(ws.url))
            yield page, remote
        finally:
            browser.close()


def test_report_of_a_real_run_in_chromium(default_run, browser_page):
    page, remote = browser_page
    index = default_run / "report" / "index.html"
    page.goto(index.as_uri(), wait_until="load")
    assert "Workbench run: default" in page.title() + page.inner_text("h1")
    images = page.evaluate(IMAGES)
    assert len(images) >= 1, "the landing page shows key figures"
    assert _not_loaded(page) == []
    assert set(KEY_FIGURES) <= set(page.evaluate(SHOWN)), "the slices and overlap figures are shown"

    links = [u for u in page.evaluate(LINKS) if urlparse(u).scheme == "file"]
    pages = sorted({u.split("#")[0] for u in links
                    if u.endswith(".html") and Path(urlparse(u).path).name != "index.html"})
    assert [Path(unquote(urlparse(u).path)).stem for u in pages] == [nb.stem for nb in discover()]
    for url in pages:
        resp = page.goto(url, wait_until="load")
        assert resp is not None and resp.ok, url
        assert page.locator("a[href='index.html']").count() >= 1, f"{url}: no way back to the report"
        assert len(page.inner_text("body")) > 200, f"{url}: an empty page"
        assert _not_loaded(page) == [], url

    others = sorted({u.split("#")[0] for u in links} - set(pages) - {index.as_uri()})
    assert others, "the report links the figures and metrics.json"
    for url in others:
        resp = page.goto(url)
        assert resp is not None and resp.ok, url
    assert remote == []


def test_documentation_site_in_chromium(docs_site, browser_page):
    """A gallery page of the site built from the default run: the site's navigation, and the executed notebook
    with its figures, all from disk."""
    site, _ = docs_site
    page, remote = browser_page
    gallery = site / "gallery" / "01_rfm_segmentation.html"
    page.goto(gallery.as_uri(), wait_until="load")
    nav = page.locator("nav.md-nav--primary a.md-nav__link")
    assert nav.count() >= 20, "the site's navigation is missing"
    labels = " ".join(nav.all_inner_texts())
    for entry in ("Getting started", "Params", "Gallery"):
        assert entry in labels, f"no {entry!r} in the navigation"
    figures = page.locator(".notebook-gallery img")
    assert figures.count() >= 3, "the notebook's figures are missing"
    assert _not_loaded(page) == []
    assert "RFM" in page.inner_text(".notebook-gallery")
    target = page.locator("nav.md-nav--primary a.md-nav__link[href$='params.html']").first.get_attribute("href")
    resp = page.goto(urljoin(gallery.as_uri(), target), wait_until="load")
    assert resp is not None and resp.ok
    assert "hybrid.candidates" in page.inner_text("body")
    assert remote == []
