"""A live caretrack server with the demo city, and Debian's Chromium to drive it.

Shared by the browser tests (conftest.py) and the screenshot script (screenshots.py). The server runs the
real configuration, CSRF included, on a database of its own, because the browser's requests commit.
"""

import os
import re
import threading
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import make_server

from caretrack import create_app, demo
from caretrack.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
DEMO_PASSWORD = demo.DEMO_PASSWORD


def make_live_app(database_url: str, instance_path: Path) -> Flask:
    """The app as a browser meets it (CSRF on, error pages rendered), its schema migrated, the demo loaded."""
    previous = os.environ.get("CARETRACK_INSTANCE_PATH")
    os.environ["CARETRACK_INSTANCE_PATH"] = str(instance_path)
    try:
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "e2e-secret-key",
            "CARETRACK_DATA_KEY": "e2e-data-key-0123456789abcdef0123456789",
            "WTF_CSRF_ENABLED": True,
            "SERVER_NAME": None,
            # Tasks run in the request that queues them: no worker process beside the test server.
            "CARETRACK_QUEUE_IMMEDIATE": True,
            # The journeys compare the home pages' totals with their lists right after a change: count each view
            # (tests/core/test_totals.py covers the minute's memory).
            "HOME_TOTALS_SECONDS": 0,
        })
    finally:
        if previous is None:
            os.environ.pop("CARETRACK_INSTANCE_PATH", None)
        else:
            os.environ["CARETRACK_INSTANCE_PATH"] = previous
    with app.app_context():
        upgrade()
    # What `make run` does: default terms (`flask caretrack init`), then the demo city.
    result = app.test_cli_runner().invoke(args=["caretrack", "init"])
    if result.exit_code != 0:
        raise RuntimeError(f"flask caretrack init failed: {result.output}") from result.exception
    with app.app_context():
        demo.load()
        db.session.commit()
    return app


class LiveServer:
    """The app served by werkzeug in a background thread on a free port of 127.0.0.1."""

    def __init__(self, app: Flask):
        self.app = app
        # Port 0: the kernel picks a free port, so there is no window in which another process can take it.
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="caretrack-live-server",
                                        daemon=True)

    def start(self) -> "LiveServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        with self.app.app_context():
            db.engine.dispose()


def launch_chromium(playwright):
    """Debian's Chromium, headless; never a downloaded browser."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def new_page(browser, base_url: str):
    """A page in a fresh browser context (its own cookies), at desktop size."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT, locale="zh-CN")
    return context.new_page()


def log_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the login form and wait until the app has let the user in."""
    from playwright.sync_api import expect

    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("main form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login(\?|$)"))
    expect(page.locator("#ct-user-menu")).to_be_visible()


def nav_link(page, label: str):
    """The main menu's link with exactly this label; when it sits in a dropdown, the dropdown is opened first."""
    nav = page.locator("#ct-nav .navbar-nav.me-auto")
    link = nav.get_by_role("link", name=label, exact=True, include_hidden=True)
    menu = nav.locator(".dropdown").filter(has=page.get_by_role("link", name=label, exact=True, include_hidden=True))
    if menu.count() and not link.is_visible():
        menu.locator(".dropdown-toggle").click()
    return link


def overflow(page) -> dict:
    """How much the page and the menu bar stick out beyond the window, in px (a page without the bar: 0 for it)."""
    return page.evaluate("""() => {
        const bar = document.querySelector('nav.navbar');
        const items = bar ? [...bar.querySelectorAll('.navbar-brand, .nav-link, .ct-lang')] : [];
        const right = items.length ? Math.max(...items.map(e => e.getBoundingClientRect().right)) : 0;
        return {page: document.documentElement.scrollWidth - window.innerWidth,
                bar_height: bar ? bar.getBoundingClientRect().height : 0,
                bar_right: items.length ? right - window.innerWidth : 0};
    }""")
