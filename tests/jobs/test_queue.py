"""The queue is chosen by CARETRACK_QUEUE_URL, takes ids, and runs tasks at once in the tests."""

import pytest
from flask import Flask
from huey.storage import PostgresStorage, RedisStorage, SqliteStorage

from caretrack.jobs.queue import Queue, queue_of, run_consumer, storage_of
from caretrack.jobs.tasks import run_import
from config import ConfigError


def test_the_url_picks_the_storage():
    assert storage_of("sqlite:////srv/caretrack/instance/queue.sqlite3") == (
        SqliteStorage, {"filename": "/srv/caretrack/instance/queue.sqlite3"})
    assert storage_of("postgresql+psycopg://app:pw@db:5432/caretrack") == (
        PostgresStorage, {"dsn": "postgresql://app:pw@db:5432/caretrack"})
    assert storage_of("redis://127.0.0.1:6379/2") == (RedisStorage, {"url": "redis://127.0.0.1:6379/2"})


def test_an_unknown_queue_url_is_refused_with_its_name():
    with pytest.raises(ConfigError, match="CARETRACK_QUEUE_URL must start with sqlite:///"):
        storage_of("amqp://rabbit/")


def test_the_default_queue_is_sqlite_in_the_instance_folder(monkeypatch, tmp_path):
    from config import load_config

    monkeypatch.delenv("CARETRACK_QUEUE_URL", raising=False)
    monkeypatch.setenv("CARETRACK_INSTANCE_PATH", str(tmp_path))
    assert load_config()["CARETRACK_QUEUE_URL"] == f"sqlite:///{tmp_path / 'queue.sqlite3'}"


def test_a_task_is_queued_with_ids_only(tmp_path):
    app = Flask("queue-test")
    app.config.update(CARETRACK_QUEUE_URL=f"sqlite:///{tmp_path / 'q.sqlite3'}", CARETRACK_QUEUE_NAME="t")
    queue = Queue(app)
    queue.enqueue(run_import, 12, 3)
    assert queue.huey.pending_count() == 1
    message = queue.huey.pending()[0]
    assert (message.name, message.args) == ("caretrack.jobs.tasks.run_import", (12, 3))


def test_the_tests_run_each_task_at_once_and_a_worker_refuses_that(app):
    assert queue_of(app).huey.immediate
    with pytest.raises(ConfigError, match="IMMEDIATE"):
        run_consumer(app, 1)
    result = app.test_cli_runner().invoke(args=["caretrack", "worker"])
    assert result.exit_code == 1
    assert "CARETRACK_QUEUE_IMMEDIATE is on" in result.output
