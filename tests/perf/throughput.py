"""Page throughput: the app under gunicorn (2 sync workers), load from a second process on loopback.

wrk drives the load when it is installed (Debian: `apt-get install wrk`), else tests/perf/loadgen.py. The floor is a
bare Flask "hello" (tests/perf/serve.py) under the same gunicorn and the same load, measured in the same run.
"""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
CONNECTIONS = 4


@dataclass
class Throughput:
    requests_per_second: float
    median_ms: float
    p99_ms: float
    requests: int
    errors: int
    worker_peak_rss_mb: float
    tool: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _peak_rss_mb(pid: int) -> float:
    """The high-water mark of the process's resident memory (VmHWM), in MB; 0 when unknown."""
    try:
        match = re.search(r"^VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    except OSError:
        return 0.0
    return int(match.group(1)) / 1024 if match else 0.0


@contextmanager
def gunicorn(target: str, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen]]:
    """Serve `target` (module:factory()) with 2 sync workers on a free loopback port, until the block ends."""
    port = _free_port()  # both workers booted before the load: see _wait_for and the warm-up in load()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "--log-level", "warning", target],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    try:
        _wait_for(port, process)
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:  # an answer, not an open port: the master listens before its workers have booted
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/login")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer")


def log_in(base: str, username: str, password: str) -> str:
    """The Cookie header of a logged-in session (the login form, CSRF off in the benchmark's config)."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("POST", "/login", urlencode({"username": username, "password": password}),
                       {"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    response.read()
    cookies = [header.split(";", 1)[0] for name, header in response.getheaders() if name.lower() == "set-cookie"]
    connection.close()
    if response.status != 302 or not cookies:
        raise AssertionError(f"login of {username} refused under gunicorn: {response.status}")
    return "; ".join(cookies)


def check_page(base: str, path: str, cookie: str) -> None:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 200:
        raise AssertionError(f"{path} answered {response.status} under gunicorn")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def _wrk(url: str, seconds: int, cookie: str) -> dict:
    command = ["wrk", "--threads", "2", "--connections", str(CONNECTIONS), "--duration", f"{seconds}s", "--latency",
               "--timeout", "30s", url]
    if cookie:
        command[1:1] = ["--header", f"Cookie: {cookie}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s))", output, re.MULTILINE))
    if set(latency) != {"50", "99"}:
        raise AssertionError(f"unexpected wrk output:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"requests": requests, "errors": int(errors.group(1)) if errors else 0,
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
            "median_ms": _ms(latency["50"]), "p99_ms": _ms(latency["99"])}


def _python_load(url: str, seconds: int, cookie: str) -> dict:
    output = subprocess.run([sys.executable, "-m", "tests.perf.loadgen", url, "--seconds", str(seconds),
                             "--connections", str(CONNECTIONS), "--cookie", cookie],
                            capture_output=True, text=True, check=True, cwd=ROOT).stdout
    result = json.loads(output)
    return {**result, "rps": result["requests"] / result["seconds"]}


def load(base: str, path: str, seconds: int, cookie: str, server: subprocess.Popen) -> Throughput:
    """Load `path` for `seconds` from a second process; the workers' peak memory is read afterwards."""
    tool = "wrk" if shutil.which("wrk") else "tests/perf/loadgen.py"
    (_wrk if tool == "wrk" else _python_load)(base + path, 1, cookie)  # warm-up: every worker has served once
    result = (_wrk if tool == "wrk" else _python_load)(base + path, seconds, cookie)
    rss = max((_peak_rss_mb(pid) for pid in _children(server.pid)), default=0.0)
    return Throughput(result["rps"], result["median_ms"], result["p99_ms"], result["requests"], result["errors"],
                      rss, tool)
