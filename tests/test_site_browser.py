"""The course website in a real browser: headless Chromium (Debian's, driven by Playwright) opens every page of
the site built from the committed notebooks, served over HTTP on 127.0.0.1.

Chromium is installed with apt-get when it is missing; the test is skipped, with the reason, only where that
cannot be done. Screenshots of the index and of notebook 00 (top, first plot, exercises) are saved in
build/site-screenshots/.
"""
import asyncio
import functools
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from iriscourse import paths, site

SCREENSHOT_DIR = paths.build_dir() / "site-screenshots"
SCREENSHOT_NOTEBOOK = "00_environment_and_data.html"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTER = 'raise NotImplementedError("your code here")'
PAGE_FACTS = """() => ({
    images: Array.from(document.images).map(img => ({src: img.currentSrc || img.src, complete: img.complete,
                                                     width: img.naturalWidth})),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    assets: Array.from(document.querySelectorAll('link[href], script[src], img[src]')).map(e => e.href || e.src),
    ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
    navs: document.querySelectorAll('nav.course-nav').length,
    text: document.body.innerText,
})"""


def _apt_get(*args):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.run(["apt-get", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, env=env, timeout=900)


def chromium():
    """The path of Chromium, installed from Debian's packages when missing; ``(None, why not)`` if it cannot be."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found, None
    if not shutil.which("apt-get"):
        return None, "Chromium is not installed and there is no apt-get here to install it: install Chromium"
    if os.geteuid() != 0:
        return None, "Chromium is not installed and installing it needs root: run `sudo apt-get install chromium`"
    done = _apt_get("install", "-y", "--no-install-recommends", "chromium")
    if done.returncode != 0:
        _apt_get("update")
        done = _apt_get("install", "-y", "--no-install-recommends", "chromium")
    found = shutil.which("chromium")
    if done.returncode != 0 or not found:
        return None, "`apt-get install chromium` failed: " + done.stdout.strip().splitlines()[-1:][0]
    return found, None


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A browser that drops a connection (moving on to the next page) is no error of the site."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The site built from this repository, served on 127.0.0.1: ``(base URL, site folder)``."""
    out = tmp_path_factory.mktemp("site") / "site"
    site.build(out)
    server = _Server(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:{}/".format(server.server_address[1]), out
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    path, why_not = chromium()
    if not path:
        pytest.skip(why_not)
    # Playwright asks asyncio for the current loop (on import, too); an earlier test in the same run
    # (tornado's websocket client in test_colab.py) may have closed it and left none.
    asyncio.set_event_loop(asyncio.new_event_loop())
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def _status(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def crawl(browser, base):
    """Open every page reachable from index.html; return ``({page: facts}, [problems])``."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(
        "console error on {}: {}".format(page.url, msg.text)))
    page.on("pageerror", lambda error: problems.append("page error on {}: {}".format(page.url, error)))
    page.on("requestfailed", lambda request: problems.append("request failed: {}".format(request.url)))
    page.on("response", lambda response: response.status >= 400 and problems.append(
        "HTTP {} for {}".format(response.status, response.url)))
    page.on("request", lambda request: not request.url.startswith((base, "data:")) and problems.append(
        "request outside the site: {}".format(request.url)))
    facts, queue = {}, ["index.html"]
    while queue:
        name = queue.pop(0)
        if name in facts:
            continue
        page.goto(base + name, wait_until="load", timeout=60000)
        facts[name] = page.evaluate(PAGE_FACTS)
        if name == "index.html":
            page.screenshot(path=str(SCREENSHOT_DIR / "index.png"), full_page=True)
        if name == SCREENSHOT_NOTEBOOK:
            page.screenshot(path=str(SCREENSHOT_DIR / "notebook-00-top.png"))
            page.locator("img").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOT_DIR / "notebook-00-plot.png"))
            page.locator("#Exercises").scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOT_DIR / "notebook-00-exercises.png"))
        for link in facts[name]["links"]:
            url = urldefrag(link)[0]
            if url.startswith(base) and url.endswith(".html"):
                queue.append(url[len(base):])
    page.close()
    return facts, problems


@pytest.fixture(scope="module")
def crawled(browser, served):
    base, out = served
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOT_DIR.glob("*.png"):
        old.unlink()
    facts, problems = crawl(browser, base)
    return base, out, facts, problems


def _notebooks():
    return [site.read_notebook(path, paths.REPO_ROOT) for path in site.list_notebooks(paths.NOTEBOOKS_DIR)]


def test_every_page_is_reached_and_loads_without_errors_or_network(crawled):
    base, out, facts, problems = crawled
    assert sorted(facts) == sorted(p.name for p in out.glob("*.html"))
    assert {nb.filename for nb in _notebooks()} <= set(facts)
    assert problems == []
    assert all(page["navs"] == 2 for page in facts.values())
    print("browser: {} pages opened".format(len(facts)))


def test_every_image_loaded(crawled):
    _, _, facts, _ = crawled
    broken = [(name, img["src"][:80]) for name, page in facts.items() for img in page["images"]
              if not (img["complete"] and img["width"] > 0)]
    assert broken == []
    for nb in _notebooks():  # every plot of the committed outputs is on its page
        plots = sum(1 for cell in nb.node.cells for output in cell.get("outputs", [])
                    if "image/png" in output.get("data", {}))
        assert len(facts[nb.filename]["images"]) == plots, nb.filename
    print("browser: {} images loaded".format(sum(len(page["images"]) for page in facts.values())))


def test_every_internal_link_and_asset_resolves(crawled):
    base, _, facts, _ = crawled
    urls = {urldefrag(url)[0] for page in facts.values() for url in page["links"] + page["assets"]
            if url.startswith(base)}
    failing = {url: _status(url) for url in sorted(urls)}
    assert {url: status for url, status in failing.items() if status != 200} == {}
    fragments = {(name, urlsplit(url).fragment, url) for name, page in facts.items() for url in page["links"]
                 if url.startswith(base) and urlsplit(url).fragment}
    missing = [(name, url) for name, fragment, url in fragments
               if not {fragment, unquote(fragment)} & set(facts[urldefrag(url)[0][len(base):]]["ids"])]
    assert missing == []
    external = {url for page in facts.values() for url in page["links"] if not url.startswith(base)}
    print("browser: {} internal URLs (200), {} anchors resolved, {} external links not followed".format(
        len(urls), len(fragments), len(external)))


def test_notebook_pages_show_the_exercises_and_no_solution(crawled):
    _, _, facts, _ = crawled
    bodies = site.solution_bodies(paths.REPO_ROOT / site.SOLUTIONS_FILE)
    assert len(bodies) >= 20
    for nb in _notebooks():
        text = site.collapse(facts[nb.filename]["text"])
        assert "Exercises" in facts[nb.filename]["ids"], nb.filename
        shown = re.findall(r"\b(\d\d\.\d+) · ", text)
        assert [id for id, _ in nb.exercises] and set(shown) == {id for id, _ in nb.exercises}, nb.filename
        assert text.count(STARTER) == len(nb.exercises), nb.filename  # starter code cells are visible
        leaks = [name for name, body in bodies.items() if body in text]
        assert leaks == [], nb.filename
    for name, page in facts.items():
        text = site.collapse(page["text"])
        assert [solution for solution, body in bodies.items() if body in text] == [], name


def test_screenshots_of_the_index_and_a_notebook_are_saved(crawled):
    shots = sorted(p.name for p in SCREENSHOT_DIR.glob("*.png"))
    assert shots == ["index.png", "notebook-00-exercises.png", "notebook-00-plot.png", "notebook-00-top.png"]
    assert all((SCREENSHOT_DIR / name).stat().st_size > 10000 for name in shots)


def _no_chromium(monkeypatch, apt_get="/usr/bin/apt-get", uid=0):
    monkeypatch.setattr(shutil, "which", lambda name: apt_get if name == "apt-get" else None)
    monkeypatch.setattr(os, "geteuid", lambda: uid)


def test_without_apt_get_the_reason_says_to_install_chromium(monkeypatch):
    _no_chromium(monkeypatch, apt_get=None)
    assert chromium() == (None, "Chromium is not installed and there is no apt-get here to install it: "
                                "install Chromium")


def test_without_root_the_reason_gives_the_install_command(monkeypatch):
    _no_chromium(monkeypatch, uid=1000)
    assert chromium() == (None, "Chromium is not installed and installing it needs root: run "
                                "`sudo apt-get install chromium`")


def test_a_failed_install_is_retried_after_apt_get_update_then_reported(monkeypatch):
    _no_chromium(monkeypatch)
    calls = []

    def failing_apt_get(*args):
        calls.append(args)
        return subprocess.CompletedProcess(
            args, 100, stdout="Reading package lists...\nE: Unable to locate package chromium\n")

    monkeypatch.setattr(sys.modules[__name__], "_apt_get", failing_apt_get)
    assert chromium() == (None, "`apt-get install chromium` failed: E: Unable to locate package chromium")
    assert [call[0] for call in calls] == ["install", "update", "install"]
