"""A small load generator for when wrk is not installed: threads sending GETs on loopback for a bounded time.

    python -m tests.perf.loadgen URL --seconds 10 --connections 4 [--cookie 'session=...']

Prints one JSON object: requests, errors (non-2xx), seconds, and the latencies' median and 99th percentile (ms).
"""

import argparse
import http.client
import json
import threading
import time
from urllib.parse import urlsplit


def _worker(url: str, cookie: str, deadline: float, latencies: list[float], errors: list[int]) -> None:
    parts = urlsplit(url)
    headers = {"Cookie": cookie} if cookie else {}
    while time.perf_counter() < deadline:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        start = time.perf_counter()
        try:
            connection.request("GET", parts.path or "/", headers=headers)
            response = connection.getresponse()
            response.read()
            ok = 200 <= response.status < 300
        except OSError:
            ok = False
        finally:
            connection.close()
        latencies.append(time.perf_counter() - start)
        if not ok:
            errors.append(1)


def run(url: str, seconds: float, connections: int, cookie: str = "") -> dict:
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    threads = [threading.Thread(target=_worker, args=(url, cookie, start + seconds, latencies, errors))
               for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies) or [0.0]
    return {"requests": len(latencies), "errors": len(errors), "seconds": elapsed,
            "median_ms": ordered[len(ordered) // 2] * 1000, "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--cookie", default="")
    args = parser.parse_args()
    print(json.dumps(run(args.url, args.seconds, args.connections, args.cookie)))


if __name__ == "__main__":
    main()
