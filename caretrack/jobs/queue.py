"""The task queue: one Huey instance per app, built from CARETRACK_QUEUE_URL, with every task registered on it.

Task bodies register with `@task()` (they stay plain functions); `enqueue(body, *ids)` sends one to the current
app's queue, and `flask caretrack worker` consumes it. Each body runs in an app context of the app that built the
queue, so a worker runs with the app's config. In immediate mode (tests) a task runs at once, in the caller.
"""

import functools
import importlib
import json
import logging
from collections.abc import Callable

from flask import Flask, current_app
from huey import Huey
from huey.constants import EmptyData
from huey.storage import PostgresStorage, RedisStorage, SqliteStorage

from config import ConfigError

log = logging.getLogger(__name__)

# The modules holding task bodies, imported before a queue is built (one explicit list, as the blueprints).
TASK_MODULES = ["caretrack.jobs.tasks", "caretrack.summaries.tasks"]

_BODIES: dict[str, tuple[Callable, dict]] = {}


def task(**options) -> Callable:
    """Register a task body (its arguments ids, never ORM objects); `options` are Huey's (retries, ...)."""
    def register(func: Callable) -> Callable:
        _BODIES[_name(func)] = (func, options)
        return func
    return register


def _name(func: Callable) -> str:
    return f"{func.__module__}.{func.__name__}"


def storage_of(url: str) -> tuple[type, dict]:
    """Huey's storage class and its arguments for a queue URL (sqlite:///path, postgresql://..., redis://...)."""
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme == "sqlite":
        return SqliteStorage, {"filename": url.removeprefix("sqlite:///")}
    if scheme in ("postgresql", "postgres"):
        # psycopg takes the URL itself; SQLAlchemy's "+psycopg" driver suffix means nothing to it.
        return PostgresStorage, {"dsn": "postgresql:" + url.split(":", 1)[1]}
    if scheme in ("redis", "rediss"):
        return RedisStorage, {"url": url}
    raise ConfigError(f"CARETRACK_QUEUE_URL must start with sqlite:///, postgresql:// or redis://, got {scheme}:")


class Queue:
    """One app's Huey instance and every registered task bound to that app."""

    def __init__(self, app: Flask):
        for module in TASK_MODULES:
            importlib.import_module(module)
        storage_class, storage_kwargs = storage_of(app.config["CARETRACK_QUEUE_URL"])
        # results=False: a job's outcome is its row, not a Huey result.
        self.huey = Huey(app.config.get("CARETRACK_QUEUE_NAME", "caretrack"), results=False,
                         immediate=app.config.get("CARETRACK_QUEUE_IMMEDIATE", False),
                         storage_class=storage_class, **storage_kwargs)
        self.tasks = {name: self.huey.task(name=name, **options)(_in_app_context(app, func))
                      for name, (func, options) in _BODIES.items()}

    def enqueue(self, body: Callable, *args) -> None:
        self.tasks[_name(body)](*args)

    # A small shared board for what cannot wait for a database write (see services.write_live).
    def put(self, key: str, value: dict) -> None:
        self.huey.storage.put_data(key, json.dumps(value).encode())

    def get(self, key: str) -> dict | None:
        data = self.huey.storage.peek_data(key)
        return None if data is EmptyData else json.loads(data)

    def drop(self, key: str) -> None:
        self.huey.storage.pop_data(key)


def _in_app_context(app: Flask, func: Callable) -> Callable:
    @functools.wraps(func)
    def run(*args):
        with app.app_context():
            return func(*args)
    return run


def queue_of(app: Flask | None = None) -> Queue:
    """The app's queue, built on first use (after every task module is imported)."""
    app = app or current_app._get_current_object()
    if "caretrack.queue" not in app.extensions:
        app.extensions["caretrack.queue"] = Queue(app)
    return app.extensions["caretrack.queue"]


def enqueue(body: Callable, *args) -> None:
    """Send a task to the current app's queue: call after the commit that made the rows it reads."""
    queue_of().enqueue(body, *args)


def run_consumer(app: Flask, workers: int) -> None:
    """Consume the queue until SIGINT (finish running tasks) or SIGTERM (stop now): `flask caretrack worker`."""
    queue = queue_of(app)
    if queue.huey.immediate:
        raise ConfigError("CARETRACK_QUEUE_IMMEDIATE is on: there is no queue to consume")
    # Threads: a task is mostly database work; the periodic scheduler stays APScheduler's (scheduler.py).
    queue.huey.create_consumer(workers=workers, worker_type="thread", periodic=False).run()
