"""Helpers for fault tests: a TCP proxy that can cut a database off and let it back, and a gunicorn process."""

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from tests.conftest import free_port

TEST_DATA_KEY = "test-data-key-0123456789abcdef0123456789"


class CuttableProxy:
    """Forwards 127.0.0.1:port to a server; `cut()` drops every connection and refuses new ones, `mend()` undoes it."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def mend(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept(); close alone does not
            except OSError:
                pass
            listener.close()
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass


def process_env(url: str, instance: Path, **extra: str) -> dict:
    """The environment of a real app process: the test's database and keys, nothing of the caller's CARETRACK_*."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CARETRACK_")}
    env.update(DATABASE_URL=url, CARETRACK_INSTANCE_PATH=str(instance), FLASK_APP="caretrack",
               SECRET_KEY="test-secret-key", CARETRACK_DATA_KEY=TEST_DATA_KEY, TZ="UTC", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def start_gunicorn(env: dict, log_path: Path, workers: int = 1, threads: int = 4) -> tuple[subprocess.Popen, str]:
    """A gunicorn serving wsgi:app on a free port; returns the process and its base URL once it answers."""
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
             "--bind", f"127.0.0.1:{port}", "--timeout", "60", "wsgi:app"],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log_path.read_text()[-2000:]}")
        try:
            fetch(base + "/login")
            return process, base
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("gunicorn did not answer within 60 s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def fetch(url: str, headers: dict | None = None, timeout: float = 30) -> tuple[int, dict, str]:
    """GET `url`: status, headers and body, whatever the status."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def wait_for_line(log_path: Path, text: str, process: subprocess.Popen | None = None, deadline: float = 60) -> None:
    """Poll a process's log until `text` shows in it; fail after `deadline` seconds or once the process exited."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if log_path.exists() and text in log_path.read_text(errors="replace"):
            return
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process exited ({process.returncode}) before {text!r}: "
                                 f"{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in {log_path.name} within {deadline} s: "
                         f"{log_path.read_text(errors='replace')[-3000:] if log_path.exists() else ''}")


def zone_where_it_is(hour: int) -> str:
    """A fixed-offset zone (Etc/GMT-N is UTC+N) in which it is now between `hour`:00 and `hour`:59.

    A scheduler started with CARETRACK_TIMEZONE set to it catches up, at once, the jobs due earlier that day within
    the misfire grace: how a test makes a nightly job (the archive, the morning reminders) run now.
    """
    offset = (hour - datetime.now(timezone.utc).hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def migrated_database(tmp_path_factory, name: str, instance: Path):
    """The URL of a fresh database (a SQLite file, or a PostgreSQL database beside the test one), migrated, and
    the app on it (for the test's own reads and writes).
    """
    from flask_migrate import upgrade

    from caretrack.extensions import db
    from tests.conftest import database_url, make_app

    url = database_url(tmp_path_factory, name)
    application = make_app(url, instance)
    with application.app_context():
        upgrade()
        db.engine.dispose()
    return url, application


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database made by migrated_database (a SQLite file goes with its temporary folder)."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def start_scheduler(env: dict, log_path: Path) -> subprocess.Popen:
    """`flask caretrack scheduler` with `env` (see process_env), its output in `log_path`."""
    with log_path.open("w") as log:
        return subprocess.Popen([sys.executable, "-m", "flask", "caretrack", "scheduler"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def lease_holder_pid(engine) -> int | None:
    """The pid of the process holding the scheduler lease now (holders are host:pid), or None."""
    from sqlalchemy import select

    from caretrack.core.lease import Lease
    from caretrack.scheduler import LEASE_NAME

    with engine.connect() as connection:
        row = connection.execute(select(Lease.holder, Lease.expires_at).where(Lease.name == LEASE_NAME)).first()
    if row is None:
        return None
    expires_at = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=timezone.utc)
    return int(row.holder.rsplit(":", 1)[1]) if expires_at > datetime.now(timezone.utc) else None


def kill_all(processes) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
