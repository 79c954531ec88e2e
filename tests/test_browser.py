"""The published book works in a real browser: headless Chromium over a loopback server.

Every page of _toc.yml is loaded once and must show no JavaScript error, no broken image
and no broken internal link (nor anchor); executable chapters show their figures; the
search page finds "convolution"; when the book was built with a local MathJax
(CNNBOOK_LOCAL_MATHJAX=1, see tools/local_mathjax.py) its math renders offline.
Screenshots of the intro and of a chapter go to _build/browser-artifacts/, with one of the TA's
class report (autograder/report.py) for a small class graded on the toy assignment.

Needs the Debian packages chromium and chromium-driver (make setup installs them where it
can) and selenium; skipped otherwise. It reads the book that `make book` builds (the
`built_book` fixture of conftest.py, shared with tests/test_book.py), or, when ``CNNBOOK_SITE``
names a folder, that published copy of it as it is (`make publish` checks dist/site so), where
math must render from the site's own MathJax.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from book_pages import executable_pages, toc_pages

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip("browser test needs Chromium: apt-get install chromium chromium-driver "
                "(make setup does it where apt-get is available as root)", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="browser test needs selenium (pip install -r requirements.txt)")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED_SITE = os.environ.get("CNNBOOK_SITE")  # e.g. dist/site, checked as published
HTML = Path(PUBLISHED_SITE).resolve() if PUBLISHED_SITE else ROOT / "_build" / "html"
ARTIFACTS = (HTML.parent if PUBLISHED_SITE else ROOT / "_build") / "browser-artifacts"
SCREENSHOTS = {"book/intro": "intro.png", "book/ch05_convolutions": "ch05_convolutions.png"}
# Without the background-networking switches Chromium keeps calling Google, which this
# closed network refuses; --disable-quic for the same reason.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1280,1024")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send_error(self, code, message=None, explain=None):
        # Chromium asks every site for /favicon.ico; the book has none, and that is no defect.
        if code == 404 and self.path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
            return
        super().send_error(code, message, explain)


@pytest.fixture(scope="module")
def site(request) -> Path:
    """The folder of HTML pages to check: a published copy as it is, else the book built now."""
    if PUBLISHED_SITE:
        assert (HTML / "index.html").is_file(), f"CNNBOOK_SITE={PUBLISHED_SITE}: no index.html in {HTML}"
        return HTML
    return request.getfixturevalue("built_book")


@pytest.fixture(scope="module")
def server(site):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(HTML)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="cnnbook-chromium-")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Both paths given: selenium-manager is never asked to download anything.
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _is_local(url: str, base: str) -> bool:
    return url.startswith(base)


def js_errors(driver, base: str) -> list[str]:
    """SEVERE browser log entries, except failures to reach other hosts (we are offline)."""
    errors = []
    for entry in driver.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        message = entry["message"]
        source_url = message.split(" ", 1)[0]
        if entry.get("source") == "network" and source_url.startswith(("http://", "https://")) \
                and not _is_local(source_url, base):
            continue  # CDN, Binder, Colab, fonts: unreachable offline, by design
        errors.append(message)
    return errors


_IMAGES_SETTLED = """
const imgs = Array.from(document.images);
imgs.forEach(i => { if (i.loading === 'lazy') i.loading = 'eager'; });
return imgs.every(i => i.complete);
"""
_PAGE_FACTS = """
const img = i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0,
                   figure: !!i.closest('.cell_output, figure, .output')});
return {
  images: Array.from(document.images).map(img),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  math: document.querySelectorAll('.math').length,
  mjx: document.querySelectorAll('mjx-container').length,
  mjx_errors: document.querySelectorAll('mjx-merror, merror').length,
  mathjax_src: Array.from(document.scripts).map(s => s.src).filter(s => /mathjax/i.test(s)),
};
"""


def wait_for(predicate, timeout: float = 15.0, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


@pytest.fixture(scope="module")
def visited(server, browser):
    """Load every toc page once; return what each one showed."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    facts = {}
    for page in toc_pages():
        if not (HTML / f"{page}.html").exists():
            facts[page] = None  # test_toc_pages_are_built reports it
            continue
        browser.get(server + f"{page}.html")
        wait_for(lambda: browser.execute_script(_IMAGES_SETTLED))
        local_mathjax = any(_is_local(src, server) for src in browser.execute_script(_PAGE_FACTS)["mathjax_src"])
        if local_mathjax:
            wait_for(lambda: browser.execute_script(
                "return document.querySelectorAll('.math').length === 0 || "
                "document.querySelectorAll('mjx-container').length > 0"))
        page_facts = browser.execute_script(_PAGE_FACTS)
        page_facts["local_mathjax"] = local_mathjax
        page_facts["errors"] = js_errors(browser, server)
        if page in SCREENSHOTS:
            shot = ARTIFACTS / SCREENSHOTS[page]
            browser.save_screenshot(str(shot))
            print(f"screenshot: {shot}")
        facts[page] = page_facts
    return facts


def test_toc_pages_are_built(visited):
    missing = [page for page, f in visited.items() if f is None]
    assert not missing, f"in _toc.yml but not in {HTML}: {missing} (stale build? run `make book`)"


def test_pages_have_no_javascript_errors(visited, server):
    pages_by_error: dict[str, list[str]] = {}
    for page, f in visited.items():
        for error in f["errors"] if f else ():
            pages_by_error.setdefault(re.sub(r"^\S+ \d+:\d+ ", "", error.replace(server, "/")), []).append(page)
    assert not pages_by_error, "JavaScript errors:\n" + "\n".join(
        f"{error}  [on {len(pages)} page(s): {', '.join(pages)}]" for error, pages in pages_by_error.items())


def test_images_load(visited, server):
    bad = {page: [i["src"] for i in f["images"] if _is_local(i["src"], server) and not i["ok"]]
           for page, f in visited.items() if f}
    bad = {page: srcs for page, srcs in bad.items() if srcs}
    assert not bad, f"images that did not load: {bad}"


@pytest.mark.parametrize("page", executable_pages())
def test_executable_pages_show_figures(visited, page):
    if not visited.get(page):
        pytest.skip(f"{page} is not in _toc.yml or was not built")
    figures = [i for i in visited[page]["images"] if i["figure"] and i["ok"]]
    assert figures, f"{page} has code cells but the browser shows no figure"


def test_internal_links_resolve(visited, server):
    targets: dict[str, set[str]] = {}  # page URL -> fragments asked for
    sources: dict[str, str] = {}
    for page, f in visited.items():
        for link in f["links"] if f else ():
            if not _is_local(link, server):
                continue
            url, _, fragment = link.partition("#")
            targets.setdefault(url, set())
            sources.setdefault(url, page)
            if fragment:
                fragment = urllib.parse.unquote(fragment)
                targets[url].add(fragment)
                sources.setdefault(f"{url}#{fragment}", page)
    broken = []
    for url, fragments in sorted(targets.items()):
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, b""
        if status != 200:
            broken.append(f"{url} ({status}, linked from {sources[url]})")
            continue
        if fragments and url.endswith((".html", "/")):
            text = body.decode("utf-8", "replace")
            ids = set(re.findall(r'\sid="([^"]+)"', text)) | set(re.findall(r'\sname="([^"]+)"', text))
            broken += [f"{url}#{frag} (no such anchor, linked from {sources[f'{url}#{frag}']})"
                       for frag in sorted(fragments - ids)]
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def test_root_redirects_to_the_intro(server, browser):
    root_page = toc_pages()[0]
    browser.get(server)
    assert wait_for(lambda: browser.current_url.endswith(f"{root_page}.html")), \
        f"{server} stayed on {browser.current_url}, expected a redirect to {root_page}.html"
    errors = js_errors(browser, server)
    assert not errors, f"JavaScript errors on {root_page}: {errors}"


def test_search_finds_convolution(server, browser):
    browser.get(server + "search.html?q=convolution")
    count = wait_for(lambda: browser.execute_script(
        "return document.querySelectorAll('#search-results ul.search li').length"), timeout=20)
    assert count, "search for 'convolution' returned nothing"
    errors = js_errors(browser, server)
    assert not errors, f"JavaScript errors on the search page: {errors}"


def test_screenshots_saved(visited):
    for page, name in SCREENSHOTS.items():
        if visited.get(page):
            assert (ARTIFACTS / name).stat().st_size > 10_000, f"screenshot of {page} looks empty"


def test_class_report_shows_its_plots(browser, request):
    if PUBLISHED_SITE:
        pytest.skip("the class report is not part of a published site")
    graded_toy_cohort = request.getfixturevalue("graded_toy_cohort")
    from toy_assignment import ASSIGNMENT

    from autograder.report import write_report

    page, _ = write_report(ASSIGNMENT, graded_toy_cohort)
    browser.get_log("browser")  # start from an empty log: earlier pages' entries are theirs
    browser.get(page.as_uri())
    wait_for(lambda: browser.execute_script(_IMAGES_SETTLED))
    images = browser.execute_script(_PAGE_FACTS)["images"]
    assert len(images) == 3 and all(image["ok"] for image in images), f"report figures did not show: {images}"
    errors = js_errors(browser, page.parent.as_uri())
    assert not errors, f"errors on the class report: {errors}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "class-report.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000, "screenshot of the class report looks empty"


def test_math_renders_with_local_mathjax(visited):
    math_pages = {page: f for page, f in visited.items() if f and f["math"]}
    assert math_pages, "no page has math: the test would not notice MathJax breaking"
    if PUBLISHED_SITE:
        no_local = sorted(page for page, f in math_pages.items() if not f["local_mathjax"])
        assert not no_local, f"published pages load MathJax from elsewhere than the site: {no_local}"
    elif not any(f["local_mathjax"] for f in math_pages.values()):
        pytest.skip("book built with MathJax from the CDN (offline here); "
                    "build with CNNBOOK_LOCAL_MATHJAX=1 to check math rendering")
    bad = {page: f"{f['mjx']} rendered, {f['mjx_errors']} errors for {f['math']} math elements"
           for page, f in math_pages.items() if not f["mjx"] or f["mjx_errors"]}
    assert not bad, f"math did not render: {bad}"
