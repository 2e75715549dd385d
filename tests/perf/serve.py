"""The two WSGI apps the page-throughput benchmark serves under the same gunicorn: caretrack and its floor.

gunicorn 'tests.perf.serve:bench()'   # caretrack on CARETRACK_BENCH_DATABASE_URL, as the benchmark built it
gunicorn 'tests.perf.serve:bare()'    # a bare Flask "hello": what the framework and the server cost alone
"""

import os
from pathlib import Path

from flask import Flask

from caretrack import create_app
from tests.perf.database import BENCH_CONFIG


def bench() -> Flask:
    os.environ.setdefault("CARETRACK_INSTANCE_PATH", str(Path(os.environ["CARETRACK_BENCH_WORKDIR"]) / "instance"))
    return create_app({**BENCH_CONFIG, "SQLALCHEMY_DATABASE_URI": os.environ["CARETRACK_BENCH_DATABASE_URL"]})


def bare() -> Flask:
    app = Flask("bare")

    @app.get("/")
    def hello() -> str:
        return "hello"

    return app
