"""Full-page screenshots of every page, as several demo users, in Chinese and a few in English.

    .venv/bin/python -m tests.e2e.screenshots OUTDIR

Serves the app with the demo city on a throwaway SQLite database and writes OUTDIR/NN-name.png, to look at
the pages after a change of templates or styles. Not a test: nothing is asserted beyond the pages loading.
"""

import logging
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from caretrack.accounts.models import User
from caretrack.extensions import db
from caretrack.org.models import Unit
from tests.e2e import live

UNITS_SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "units-sample.csv"


class Shooter:
    """Numbered full-page screenshots into one folder."""

    def __init__(self, outdir: Path):
        self.outdir = outdir
        self.count = 0
        self.taken: list[Path] = []

    def __call__(self, page, name: str) -> None:
        page.wait_for_load_state("load")
        self.count += 1
        path = self.outdir / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)


def _ids(app) -> dict[str, int]:
    with app.app_context():
        unit = {code: db.session.scalar(select(Unit.id).where(Unit.code == code))
                for code in ("990000", "4199010001", "2199010101")}
        teacher = db.session.scalar(select(User.id).where(User.username == "teacher"))
    return {"city": unit["990000"], "university": unit["4199010001"], "school": unit["2199010101"],
            "teacher": teacher}


def _switch_language(page, label: str) -> None:
    page.locator("nav form button[name=locale]", has_text=label).click()
    page.wait_for_load_state("load")


def _preview_import(page) -> None:
    """Upload the sample units and wait until the preview (run as a job with a progress bar) is shown."""
    page.goto("/units/import")
    page.locator("input[type=file]").set_input_files(str(UNITS_SAMPLE))
    page.locator("main form button[type=submit]").first.click()
    finished = page.locator("main form[action*=confirm] button[type=submit]").or_(page.locator("main .alert-danger"))
    try:
        finished.first.wait_for(timeout=60_000)
    except PlaywrightTimeoutError:
        print("the import preview did not finish within a minute; the screenshot shows it still running",
              file=sys.stderr)


def _as_user(browser, base_url: str, username: str | None):
    page = live.new_page(browser, base_url)
    if username:
        live.log_in(page, username)
    return page


def take_all(browser, base_url: str, ids: dict[str, int], shoot: Shooter) -> None:
    page = _as_user(browser, base_url, None)
    page.goto("/login")
    shoot(page, "login")
    page.locator("#username").fill("city")
    page.locator("#password").fill("wrong-password-1")
    page.locator("main form button[type=submit]").click()
    shoot(page, "login-wrong-password")
    page.context.close()

    page = _as_user(browser, base_url, "city")
    shoot(page, "home-city")
    for path, name in [
        ("/units/", "units"),
        (f"/units/{ids['university']}", "unit-university"),
        (f"/units/{ids['school']}", "unit-school"),
        (f"/units/{ids['city']}", "unit-city"),
        (f"/units/{ids['school']}/edit", "unit-form-edit"),
        ("/units/new", "unit-form-new"),
        ("/units/import", "unit-import"),
        ("/users", "users"),
        (f"/users/{ids['teacher']}", "user"),
        ("/users/new", "user-new"),
        ("/audit/", "audit"),
        ("/password", "change-password"),
    ]:
        page.goto(path)
        shoot(page, name)
    _preview_import(page)
    shoot(page, "unit-import-preview")
    page.goto("/users/new")
    page.locator("main form button[type=submit]").click()
    shoot(page, "user-new-errors")
    page.goto("/units/?q=no-such-unit")
    shoot(page, "units-empty")
    page.context.close()

    for username in ("district", "uni_counselor", "school_officer", "inspector"):
        page = _as_user(browser, base_url, username)
        shoot(page, f"home-{username}")
        page.context.close()

    page = _as_user(browser, base_url, "teacher")
    shoot(page, "home-teacher")
    page.goto(f"/units/{ids['school']}/edit")
    shoot(page, "error-403")
    page.goto("/no-such-page")
    shoot(page, "error-404")
    page.context.close()

    page = _as_user(browser, base_url, None)
    page.goto("/login")
    _switch_language(page, "English")
    shoot(page, "en-login")
    live.log_in(page, "city")
    shoot(page, "en-home-city")
    for path, name in [("/units/", "en-units"), (f"/units/{ids['school']}", "en-unit-school"),
                       (f"/units/{ids['university']}", "en-unit-university"),
                       ("/users", "en-users"), (f"/users/{ids['teacher']}", "en-user"), ("/users/new", "en-user-new"),
                       ("/audit/", "en-audit"), ("/password", "en-change-password"), ("/no-such-page", "en-error-404")]:
        page.goto(path)
        shoot(page, name)
    _preview_import(page)
    shoot(page, "en-unit-import-preview")
    page.context.close()

    page = _as_user(browser, base_url, "teacher")
    _switch_language(page, "English")
    shoot(page, "en-home-teacher")
    page.goto(f"/units/{ids['school']}/edit")
    shoot(page, "en-error-403")
    page.context.close()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    outdir = Path(argv[0])
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="caretrack-shots-") as scratch:
        app = live.make_live_app(f"sqlite:///{scratch}/shots.sqlite3", Path(scratch) / "instance")
        for noisy in ("werkzeug", "caretrack"):  # a line per request or audit event is noise here
            logging.getLogger(noisy).setLevel(logging.WARNING)
        server = live.LiveServer(app).start()
        shoot = Shooter(outdir)
        try:
            with sync_playwright() as playwright:
                browser = live.launch_chromium(playwright)
                try:
                    take_all(browser, server.url, _ids(app), shoot)
                finally:
                    browser.close()
        finally:
            server.stop()
    print(f"{len(shoot.taken)} screenshots in {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
