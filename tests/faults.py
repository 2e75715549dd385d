"""Helpers for fault tests: a TCP proxy that can cut a database off and let it back, and a gunicorn process."""

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
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
