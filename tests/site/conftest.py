"""Fixtures for the site test: the built sites, a local web server for each, headless Chromium.

Chromium and Playwright are started exactly as the JupyterLab browser test starts them (the
fixtures ``chromium_path``, ``work_dir`` and ``browser`` are taken from tests/browser/conftest.py,
with its clean-up hooks): Debian's /usr/bin/chromium, launched by us, stopped by process id.

Three sites are checked:

- ``real``: build/site/html, made by ``make site`` just before (``make test-site`` does both);
- ``zh_CN``: its Chinese edition, build/site/html/zh_CN, served by the same server (the language
  switch and the Chinese chapters' links to English pages cross from one to the other);
- ``fixture``: a small book built here from tests/site/fixture/notebooks, whose chapter 01 has
  what the chapters are getting (Mermaid diagrams, figures with text alternatives, a widget, a
  collapsed solution) and whose chapter 02 is broken on purpose (the test expects every defect
  to be reported). It is built with a JupyterHub address, so it has both launch buttons.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent / "browser"))
sys.path.insert(0, str(ROOT / "tools"))

import build_site  # noqa: E402
from _site import BROKEN, FIXTURE_HUB, FIXTURE_NOTEBOOKS, SCREENSHOTS, ZH_NOTEBOOKS, Site, manifest  # noqa: E402

_spec = importlib.util.spec_from_file_location("browser_conftest", HERE.parent / "browser" / "conftest.py")
_browser_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_browser_conftest)
# The same Chromium, Playwright and clean-up as the JupyterLab browser test.
chromium_path = _browser_conftest.chromium_path
work_dir = _browser_conftest.work_dir
browser = _browser_conftest.browser
pytest_sessionfinish = _browser_conftest.pytest_sessionfinish
pytest_configure = _browser_conftest.pytest_configure


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def _serve(directory: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, name=f"http {directory.name}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def real_server() -> Iterator[str]:
    """build/site/html over http: the English pages at the top, the Chinese ones in zh_CN/."""
    built = build_site.BUILD / "manifest.json"
    html = build_site.BUILD / "html"
    if not built.is_file() or not (html / "index.html").is_file():
        pytest.fail("build/site/html is missing: `make test-site` runs `make site` first", pytrace=False)
    with _serve(html) as origin:
        yield origin


@pytest.fixture(scope="session")
def real_site(real_server: str) -> Site:
    html = build_site.BUILD / "html"
    data = manifest(build_site.BUILD / "manifest.json")
    site = Site("real", html, ROOT / "notebooks", data["settings"], data["pages"])
    site.base_url = site.origin = real_server
    site.served = html
    return site


@pytest.fixture(scope="session")
def zh_site(real_server: str) -> Site:
    """The Chinese edition, built by make site in build/site/html/zh_CN."""
    try:
        data = manifest(build_site.BUILD / "manifest.json", "zh_CN")
    except LookupError as e:
        pytest.fail(str(e), pytrace=False)
    html = build_site.BUILD / "html"
    site = Site("zh_CN", html / data["subdir"], ZH_NOTEBOOKS, data["settings"], data["pages"])
    site.base_url = f"{real_server}/{data['subdir']}"
    site.origin, site.served = real_server, html
    return site


@pytest.fixture(scope="session")
def fixture_site(work_dir: Path) -> Iterator[Site]:
    """Build the fixture book (about 5 s), then delete one figure of the broken chapter."""
    work = work_dir / "fixture-site"
    env = {**os.environ, "SITE_JUPYTERHUB_URL": FIXTURE_HUB}
    cmd = [sys.executable, str(ROOT / "tools" / "build_site.py"), "--notebooks", str(FIXTURE_NOTEBOOKS)]
    result = subprocess.run(
        [*cmd, "--work", str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"the fixture book did not build:\n{result.stdout}\n{result.stderr}"
    html = work / "html"
    data = manifest(work / "manifest.json")
    broken_html = (html / f"{BROKEN}.html").read_text(encoding="utf-8")
    images = sorted({src for src in _image_sources(broken_html) if src.startswith("_images/")})
    assert images, "the broken fixture chapter should have a figure to delete"
    for src in images:
        (html / src).unlink()
    site = Site("fixture", html, FIXTURE_NOTEBOOKS, data["settings"], data["pages"], broken={BROKEN})
    site.served = html
    with _serve(html) as site.base_url:
        site.origin = site.base_url
        yield site


def _image_sources(html: str) -> list[str]:
    return re.findall(r'<img[^>]*\ssrc="([^"]+)"', html)


@pytest.fixture(scope="session")
def site_context(browser):
    """One browser context for all pages (the theme's files are loaded once, then cached)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    try:
        context.close()
    except Exception:  # the browser may already be gone after an interrupt; it is stopped by pid
        pass


@pytest.fixture(scope="session")
def screenshots() -> Path:
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS
