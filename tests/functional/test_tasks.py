"""The task queue: a task runs in one transaction of its own, is retried with growing waits, respects its lock;
the configuration picks SQLite or Redis; and a real consumer process (`flask jobs worker`) runs a task end to end
from a SqliteHuey file and from Redis."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from huey.storage import RedisStorage, SqliteStorage
from sqlalchemy import select

from app import create_app
from app.auth.models import ThrottleCounter
from app.db import utcnow
from app.extensions import db, huey
from app.messaging.models import MessageStatus, OutboundMessage
from app.messaging.outbox import queue_message
from app.taskqueue import init_huey, retry_delay_after, task
from config import TestingConfig
from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1)  # naive UTC, as Huey keeps its schedule
REDIS_TEST_URL = "redis://127.0.0.1:6379/5"
ran: list[str] = []


@task()
def record_event(key: str) -> str:
    db.session.add(ThrottleCounter(scope="task-test", key_hash=key * 64, count=1, window_start=utcnow()))
    ran.append(key)
    return f"recorded {key}"


@task(retries=3, retry_delay=10)
def failing_write(key: str) -> None:
    db.session.add(ThrottleCounter(scope="task-test", key_hash=key * 64, count=1, window_start=utcnow()))
    db.session.flush()
    ran.append(key)
    raise ConnectionError("the provider is down")


@task(lock="task-test-lock", retries=3)
def locked_task() -> None:
    ran.append("locked")


@pytest.fixture(autouse=True)
def empty_queue():
    ran.clear()
    huey.storage.flush_all()
    yield
    huey.storage.flush_all()


def stored_events() -> list[str]:
    db.session.commit()  # end the test's read: tasks commit in sessions of their own
    keys = db.session.scalars(select(ThrottleCounter.key_hash).where(ThrottleCounter.scope == "task-test"))
    return [key[0] for key in keys]


def test_a_task_commits_once_when_it_succeeds():
    record_event("a")  # immediate mode: runs now, in an app context and a session of its own
    assert record_event.call_local("b") == "recorded b"
    assert sorted(stored_events()) == ["a", "b"]


def test_a_failed_task_rolls_back_and_is_retried_with_growing_waits():
    waits = []
    with time_machine.travel(NOW, tick=False):
        failing_write("c")
        for _ in range(4):
            retries = huey.read_schedule(FAR_FUTURE)
            if not retries:
                break
            (retry,) = retries
            waits.append((retry.eta - NOW.replace(tzinfo=None)).total_seconds())
            huey.execute(retry, timestamp=retry.eta)
    assert ran == ["c"] * 4  # the first run and three retries, then it gives up
    assert waits == [10, 20, 40]
    assert stored_events() == []  # every run was rolled back


def test_retry_waits_double_up_to_an_hour():
    assert [retry_delay_after(n, 30) for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def test_a_task_that_finds_its_lock_held_does_nothing_and_is_not_retried():
    with huey.lock_task("task-test-lock"):
        locked_task()
    assert ran == [] and huey.scheduled() == []
    locked_task()
    assert ran == ["locked"]


def test_the_queue_is_a_sqlite_file_in_the_instance_folder_or_redis_when_configured(app, tmp_path):
    try:
        config = TestingConfig()
        config.TASKS_IMMEDIATE = False
        config.TASK_QUEUE_FILE = str(tmp_path / "instance" / "tasks.sqlite3")
        create_app(config)
        assert isinstance(huey.storage, SqliteStorage) and not huey.immediate
        assert huey.storage.filename == config.TASK_QUEUE_FILE
        config.REDIS_URL = REDIS_TEST_URL
        create_app(config)
        assert isinstance(huey.storage, RedisStorage)
        assert huey.storage.pool.connection_kwargs["db"] == 5
    finally:
        init_huey(app)  # the suite's app again: tasks run at once
    assert huey.immediate


# --- a real consumer process


def redis_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), 2).close()
        return True
    except OSError:
        return False


def consume_one_message(app, tmp_path, monkeypatch, storage, extra_env: dict[str, str]) -> None:
    """Queue a message through the app as a request would; a consumer process started with `flask jobs worker`
    sends it (to a file) after the commit."""
    monkeypatch.setattr(huey, "_immediate", False)  # this process only enqueues, like a web worker
    monkeypatch.setattr(huey, "storage", storage)
    sent_file, log_file = tmp_path / "sent.jsonl", tmp_path / "consumer.log"
    env = {**os.environ, "DTECH_ENV": "development", "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "DTECH_INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "x" * 40, "DTECH_QUEUE_NAME": storage.name,
           "DTECH_MESSAGE_SENDER": "tests.file_sender:FileSender", "DTECH_TEST_SENDER_FILE": str(sent_file),
           **extra_env}
    if "REDIS_URL" not in extra_env:
        env.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker", "--workers", "2", "--no-periodic",
               "--max-delay", "0.5"]
    with log_file.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        queue_message("+919811111111", "Consumer test", "sent by another process", kind="otp",
                      params={"code": "123456"})
        db.session.commit()  # enqueued after the commit, into the consumer's queue
        for _ in range(300):  # at most about a minute (start-up included); no clock is read
            if sent_file.exists() or process.poll() is not None:
                break
            process_wait(process, 0.2)
        assert sent_file.exists(), f"nothing sent; consumer output:\n{log_file.read_text()}"
    finally:
        process.send_signal(signal.SIGINT)  # graceful: running tasks finish
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    assert "sent by another process" in sent_file.read_text()
    db.session.commit()
    (row,) = db.session.scalars(select(OutboundMessage))
    assert row.status is MessageStatus.SENT and row.body is None


def process_wait(process: subprocess.Popen, seconds: float) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=seconds)


def test_a_consumer_process_sends_a_message_from_a_sqlite_queue(app, tmp_path, monkeypatch):
    name = f"dtech-test-{uuid.uuid4().hex[:8]}"
    storage = SqliteStorage(name, filename=str(tmp_path / "tasks.sqlite3"))
    consume_one_message(app, tmp_path, monkeypatch, storage, {})


def test_a_consumer_process_sends_a_message_from_redis(app, tmp_path, monkeypatch):
    if not redis_answers():
        missing("a Redis server on 127.0.0.1:6379 (.ci/run starts redis-server)")
    name = f"dtech-test-{uuid.uuid4().hex[:8]}"
    storage = RedisStorage(name, url=REDIS_TEST_URL)
    try:
        consume_one_message(app, tmp_path, monkeypatch, storage, {"REDIS_URL": REDIS_TEST_URL})
    finally:
        storage.flush_all()
        storage.pool.disconnect()
