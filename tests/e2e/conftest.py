"""Browser tests: a live server of the app on its own database, and headless Chromium driving it.

Mark browser tests `@pytest.mark.e2e` and `@pytest.mark.no_transaction`: the browser's requests commit, so
they cannot run inside the per-test rolled-back transaction. A failing test leaves a full-page screenshot in
test-artifacts/.
"""

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import fresh_postgres_database, skip_or_fail
from tests.e2e import live

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

log_in = live.log_in


def _drop_database(url: str) -> None:
    base = make_url(url)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{base.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def live_server(app, tmp_path_factory):
    """The app served on 127.0.0.1 with the demo city, on a database no other test touches.

    It asks for `app` first, which skips (or fails under CARETRACK_REQUIRE_ALL=1) when PostgreSQL is not there.
    """
    test_url = os.environ.get("CARETRACK_TEST_DATABASE_URL")
    if test_url:
        url = fresh_postgres_database(test_url, "e2e")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'e2e.sqlite3'}"
    server = live.LiveServer(live.make_live_app(url, tmp_path_factory.mktemp("e2e-instance"))).start()
    yield server
    server.stop()
    if test_url:
        _drop_database(url)


@pytest.fixture(scope="session")
def browser():
    if not live.CHROMIUM.exists():
        skip_or_fail(f"Chromium not found at {live.CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = live.launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so the page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(request, browser, live_server):
    """A fresh browser context and page at the live server; a screenshot is saved if the test fails."""
    page = live.new_page(browser, live_server.url)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.context.close()
