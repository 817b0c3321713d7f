"""Headless Chromium (Debian's) driven by Playwright against a live diemcau server on loopback."""

import os
import shutil
from pathlib import Path

import pytest

from tests.environment import missing
from tests.servers import child_env, free_port, start_asgi

CHROMIUM = os.environ.get("DIEMCAU_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("DIEMCAU_SCREENSHOTS", ROOT / "var/screenshots"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
# synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def browser():
    # Module scope: Playwright's sync API keeps an event loop running in this thread while it is
    # open, which would break later tests that call asyncio.run() (the Janus client's tests).
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 1280, "height": 860}, accept_downloads=True)
    context.set_default_timeout(15000)
    p = context.new_page()
    p.base_url = live_server.url
    yield p
    context.close()


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.set_default_timeout(15000)
    p = context.new_page()
    p.base_url = live_server.url
    yield p
    context.close()


def shot(page, name: str):
    """Save a screenshot for people to look at (var/screenshots/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def login(page, username, password="Mat-khau-2023"):
    page.goto(page.base_url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form.login-form button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)



@pytest.fixture
def asgi_server(transactional_db, settings):
    """The real server stack (uvicorn, the product's ASGI server: HTTP and websockets) in a child process.

    pytest-django's ``live_server`` is WSGI only; websocket pages need this. The child reads the
    test database, so the test's committed rows are what it serves. Yields an object with ``url``
    and ``proc``; the child is stopped afterwards. Needs PostgreSQL or a file SQLite test database.
    """
    import subprocess
    from types import SimpleNamespace

    env = child_env()
    port = free_port()
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"asgi-{port}.log", "wb")
    proc = start_asgi(env, port, log, ready_path="/accounts/login/", timeout=120)  # a shared machine can be slow
    url = f"http://127.0.0.1:{port}"
    yield SimpleNamespace(url=url, proc=proc, port=port, env=env)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def asgi_page(browser, asgi_server):
    """A desktop browser page whose ``base_url`` is the ASGI server (for websocket pages)."""
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 1280, "height": 860}, accept_downloads=True)
    context.set_default_timeout(15000)
    p = context.new_page()
    p.base_url = asgi_server.url
    yield p
    context.close()
