"""A mixed workload against a real gunicorn: reads, searches, care-record writes and downloads by several roles.

    .venv/bin/python -m tests.perf.load [--database-url postgresql+psycopg://postgres@127.0.0.1/caretrack_q]
                                        [--seconds 60] [--users 8] [--workers 2]

It makes a fresh database (a SQLite file, or `<name>_load` beside the PostgreSQL one given), migrates it, loads
the demo city, starts gunicorn on loopback and drives it from this process with one thread per virtual user
(each with its own cookies and CSRF token, logged in as a demo account). It prints requests per second, the
median and p99 latency, the errors (any 5xx, refused write or failed connection) and whether the audit log holds
exactly one `support_record_created` row per write the server accepted.
"""

import argparse
import http.cookiejar
import json
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.faults import TEST_DATA_KEY, process_env, start_gunicorn, stop  # noqa: E402

PASSWORD = "demo-2025!"
# (demo login, what it does): every role reads; the counselors write care records; the officers download.
USERS = [("school_counselor", "writer"), ("uni_counselor", "writer"), ("school_officer", "officer"),
         ("teacher", "reader"), ("district", "reader"), ("city", "reader"), ("inspector", "reader"),
         ("uni_officer", "officer")]
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
STUDENT_LINK = re.compile(r'href="/students/(\d+)"')


class VirtualUser:
    def __init__(self, base: str, username: str):
        self.base, self.username = base, username
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect)
        self.token = ""
        self.students: list[int] = []

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def log_in(self) -> None:
        _status, page = self.request("/login")
        status, _ = self.request("/login", {"username": self.username, "password": PASSWORD,
                                            "csrf_token": TOKEN.search(page).group(1)})
        assert status == 302, f"{self.username} could not log in ({status})"
        _status, home = self.request("/")
        self.token = TOKEN.search(home).group(1)
        _status, listing = self.request("/students/")
        self.students = [int(found) for found in STUDENT_LINK.findall(listing)]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _actions(user: VirtualUser, kind: str):
    student = random.choice(user.students) if user.students else None
    reads = [("read", "/"), ("read", "/students/"), ("search", "/students/?q=" + urllib.parse.quote("张"))]
    if student:
        reads.append(("read", f"/students/{student}"))
    if kind == "officer":
        reads += [("download", "/ledger/disbursements/export.xlsx"), ("download", "/students/export.xlsx")]
    if kind == "writer" and student and random.random() < 0.3:
        return "write", f"/ledger/students/{student}/records", {
            "kind": "talk", "happened_on": time.strftime("%Y-%m-%d"), "summary": "负载测试谈话记录", "tier": "",
            "csrf_token": user.token}
    name, path = random.choice(reads)
    return name, path, None


def _drive(user: VirtualUser, kind: str, until: float, results: list, lock: threading.Lock) -> None:
    local = []
    while time.monotonic() < until:
        name, path, data = _actions(user, kind)
        started = time.monotonic()
        try:
            status, _body = user.request(path, data)
        except OSError as error:
            status = f"{type(error).__name__}"
        elapsed = time.monotonic() - started
        ok = (status == 302) if name == "write" else (status == 200)
        local.append((name, elapsed, ok, status))
    with lock:
        results.extend(local)


def _prepare(url: str, instance: Path) -> None:
    os.environ["CARETRACK_INSTANCE_PATH"] = str(instance)
    from flask_migrate import upgrade

    from caretrack import create_app, demo
    from caretrack.cli import init_command
    from caretrack.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load", "CARETRACK_DATA_KEY": TEST_DATA_KEY})
    with app.app_context():
        upgrade()
        app.test_cli_runner().invoke(init_command)
        demo.load()
        db.session.commit()
        db.engine.dispose()


def _audited_writes(url: str, instance: Path) -> tuple[int, int]:
    from sqlalchemy import func, select

    from caretrack import create_app
    from caretrack.audit.models import AuditEvent
    from caretrack.extensions import db
    from caretrack.ledger.models import SupportRecord

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load", "CARETRACK_DATA_KEY": TEST_DATA_KEY})
    with app.app_context():
        audited = db.session.scalar(select(func.count()).where(AuditEvent.action == "support_record_created",
                                                               AuditEvent.username.is_not(None)))
        # The text is encrypted at rest (a new nonce each time): it is compared once decrypted, not in SQL.
        records = sum(text == "负载测试谈话记录" for text in db.session.scalars(select(SupportRecord.summary)))
        db.engine.dispose()
    return audited, records


def _fresh_url(database_url: str | None, folder: Path) -> str:
    if not database_url:
        return f"sqlite:///{folder / 'load.sqlite3'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(database_url)
    name = f"{base.database}_load"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def run(database_url: str | None, seconds: float, users: int, workers: int) -> dict:
    """Set up, drive the server for `seconds`, and return the figures."""
    folder = Path(tempfile.mkdtemp(prefix="caretrack-load-"))
    url = _fresh_url(database_url, folder)
    audited_before, _ = 0, 0
    _prepare(url, folder / "instance")
    audited_before, _records = _audited_writes(url, folder / "instance")
    env = process_env(url, folder / "instance", CARETRACK_LOGIN_ADDRESS_LIMIT="100000 per minute")
    process, base = start_gunicorn(env, folder / "gunicorn.log", workers=workers, threads=4)
    try:
        drivers = []
        for index in range(users):
            username, kind = USERS[index % len(USERS)]
            user = VirtualUser(base, username)
            user.log_in()
            drivers.append((user, kind))
        results, lock = [], threading.Lock()
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=_drive, args=(user, kind, until, results, lock)) for user, kind in drivers]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
    finally:
        stop(process)
    audited, records = _audited_writes(url, folder / "instance")
    return _figures(results, wall, audited - audited_before, records, database_url)


def _figures(results: list, wall: float, audited: int, records: int, database_url: str | None) -> dict:
    latencies = sorted(elapsed for _name, elapsed, _ok, _status in results)
    writes = sum(1 for name, _e, ok, _s in results if name == "write" and ok)
    errors = Counter(f"{name} {status}" for name, _e, ok, status in results if not ok)
    return {
        "database": "PostgreSQL" if database_url else "SQLite",
        "requests": len(results), "seconds": round(wall, 1), "rps": round(len(results) / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else None,
        "by_kind": dict(Counter(name for name, *_ in results)), "errors": sum(errors.values()),
        "error_kinds": dict(errors), "writes_accepted": writes, "records_written": records,
        "audit_rows_for_writes": audited, "audit_exact": audited == writes == records,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL URL (a fresh <name>_load database is made beside it)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (4 threads each)")
    args = parser.parse_args(argv)
    figures = run(args.database_url, args.seconds, args.users, args.workers)
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    return 0 if figures["errors"] == 0 and figures["audit_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
