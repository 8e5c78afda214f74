"""The task queue's machinery: Huey given its storage from the app config, and the decorators every task uses.

- `init_huey(app)` (create_app) points `app.extensions.huey` at a SQLite file in instance/ (`make run` needs
  nothing else) or, when REDIS_URL is set, at Redis, so consumers on several hosts share one queue. With
  TASKS_IMMEDIATE (the tests) a task runs in the caller's process the moment it is enqueued.
- `@task(...)` and `@periodic_task(schedule, ...)` run the function in an app context of its own (a fresh
  database session) and in one transaction: committed when it returns, rolled back when it raises. A failed run
  is retried `retries` times, each wait twice the one before (`retry_delay`, 2×, 4× …, at most an hour).
  `lock="name"` takes a Huey lock for the run: a run that finds it held does nothing and is not retried (the
  run holding it does the work).
- The consumer loads `wsgi.huey`: wsgi builds the app, and create_app imports every task module
  (`app.TASK_MODULES`), so no periodic task is missed. `huey_consumer wsgi.huey -k thread -w 4`.

Each periodic task's last run (when, where, how it went) is kept in `task_runs`, one row per task, for the
staff's system page; the rows also tell which consumers are alive (several periodic tasks run every minute).

Every task is idempotent: run twice, or on two hosts at once, it does no harm. A task that works through a batch
(payments to reconcile, webhooks to deliver, a bill run's chunks) runs each item `in_own_transaction`, so one
item's failure neither loses the others' work nor holds their locks.
"""

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path

from flask import Flask, current_app, has_app_context
from huey.api import TaskWrapper
from huey.exceptions import TaskLockedException
from huey.storage import RedisStorage, SqliteStorage
from prometheus_client import Counter, Histogram
from redis import ConnectionPool
from sqlalchemy import String, event, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import UTCDateTime, begin_write, utcnow
from app.extensions import db, huey

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 3600  # seconds

# Counted in the process that runs the task (a consumer); /metrics shows them when the consumer shares the web
# workers' PROMETHEUS_MULTIPROC_DIR (one host; README "Operations"). A run that found its lock held did nothing
# and is not counted.
TASK_RUNS = Counter("dtech_task_runs_total", "Task runs, by task", ["task"])
TASK_FAILURES = Counter("dtech_task_failures_total", "Task runs that raised (each try counts), by task", ["task"])
TASK_SECONDS = Histogram("dtech_task_duration_seconds", "Time a task run took, by task", ["task"],
                         buckets=(0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600))
PERIODIC_TASKS: list[TaskWrapper] = []  # in the order their modules registered them (`flask jobs run`)
_app: Flask | None = None  # the app a task runs in when nothing else is current (the consumer)


class TaskRun(db.Model):
    """The last run of one periodic task: written by the run itself (in its transaction when it succeeds, in one
    of its own after a failure). `host` names the consumer process that ran it."""

    __tablename__ = "task_runs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    succeeded: Mapped[bool]
    result: Mapped[str] = mapped_column(String(300), default="")  # what it returned, or the error's type and text
    host: Mapped[str] = mapped_column(String(100))
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def _this_process() -> str:
    return f"{socket.gethostname()[:80]}:{os.getpid()}"


def record_run(name: str, succeeded: bool, result: str) -> None:
    """Keep `name`'s latest run (one row per task: an UPDATE, or the first INSERT; two first runs at once both
    end in an UPDATE)."""
    now = utcnow()
    values = {"last_run_at": now, "succeeded": succeeded, "result": result[:300], "host": _this_process()}
    if succeeded:
        values["last_success_at"] = now
    statement = update(TaskRun).where(TaskRun.name == name).values(**values)
    if db.session.execute(statement).rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.add(TaskRun(name=name, **values))
    except IntegrityError:
        db.session.execute(statement)


def _record_failure(name: str, error: Exception) -> None:
    try:
        record_run(name, False, f"{type(error).__name__}: {error}")
        db.session.commit()
    except Exception:  # the database itself may be what failed: the log has the error anyway
        db.session.rollback()
        log.exception("could not record the failure of %s", name)


def init_huey(app: Flask) -> None:
    """Give the process's queue the storage `app`'s config names. The process has one queue: the app created
    last configures it (a web or consumer process creates one app; the tests' apps all run tasks at once)."""
    global _app
    _app = app
    config = app.config
    huey.name = config["TASK_QUEUE_NAME"]
    if config.get("REDIS_URL"):
        # Bounded waits: a Redis that stops answering must not hold a request (an enqueue, /readyz) for ever. The
        # consumer's blocking read returns every second (huey's read_timeout), well inside the socket's limit.
        pool = ConnectionPool.from_url(config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=10)
        huey.storage_class, huey.storage_kwargs = RedisStorage, {"connection_pool": pool}
    else:
        path = Path(config["TASK_QUEUE_FILE"])
        if not config.get("TASKS_IMMEDIATE"):
            path.parent.mkdir(parents=True, exist_ok=True)
        huey.storage_class, huey.storage_kwargs = SqliteStorage, {"filename": str(path)}
    huey.immediate = bool(config.get("TASKS_IMMEDIATE"))
    huey.storage = huey.create_storage()  # immediate mode: in memory


def queue_reachable() -> bool:
    """Whether the queue's storage answers (readiness): Redis answers a PING, the SQLite file a query. In memory
    (the tests' immediate mode) it always does."""
    storage = huey.storage
    try:
        if isinstance(storage, RedisStorage):
            return bool(storage.conn.ping())
        if isinstance(storage, SqliteStorage):
            storage.sql("select 1 from task limit 1", results=True)
        return True
    except Exception as error:
        log.warning("the task queue's storage does not answer (%s)", type(error).__name__)
        return False


AFTER_COMMIT = "dtech_after_commit"  # in Session.info: what to start once the open transaction has committed


def after_commit(work: Callable[[], object]) -> None:
    """Start `work` (enqueue a task, typically) once the current transaction has committed, never if it rolls
    back: a message or a webhook leaves only with the data it is about. If starting it fails, the commit stands
    and the work's periodic sweep catches up."""
    db.session().info.setdefault(AFTER_COMMIT, []).append(work)


@event.listens_for(Session, "after_commit")
def _start_after_commit(session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT was released: the transaction has not committed yet
        return
    for work in session.info.pop(AFTER_COMMIT, []):
        try:
            work()
        except Exception:
            name = getattr(getattr(work, "func", work), "__name__", repr(work))  # a partial names its function
            log.exception("could not start %s after the commit; its periodic sweep will do it", name)


@event.listens_for(Session, "after_transaction_end")
def _forget_after_rollback(session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: committed (already started) or rolled back
        session.info.pop(AFTER_COMMIT, None)


def in_own_transaction(work: Callable, *args, **kwargs):
    """One item of a batch as a transaction of its own: committed when `work` returns, rolled back (and the error
    raised again) when it raises. Whatever the caller's transaction had begun is committed first."""
    db.session.commit()
    try:
        result = work(*args, **kwargs)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result


def end_reading() -> None:
    """A batch item that has read what it needs ends its transaction before slow work (a push service answering):
    no snapshot or lock is held meanwhile, and what it read stays readable (detached, not refreshed)."""
    db.session.expunge_all()
    db.session.commit()


def start_writing() -> None:
    """End a reading transaction and begin a writing one: on SQLite a reader cannot safely become a writer."""
    db.session.commit()
    begin_write(db.session)


def retry_delay_after(failures: int, base: int) -> int:
    """Seconds to wait after the n-th failure in a row: base, 2 × base, 4 × base … at most an hour."""
    return min(base * 2 ** max(failures - 1, 0), MAX_RETRY_DELAY)


def _in_app_transaction(fn: Callable, retries: int, retry_delay: int, lock_name: str | None,
                        periodic: bool = False) -> Callable:
    lock = huey.lock_task(lock_name) if lock_name else None

    @wraps(fn)
    def run(*args, task=None, **kwargs):
        app = current_app._get_current_object() if has_app_context() else _app
        if app is None:
            raise RuntimeError("no app: create_app() configures the task queue")
        with app.app_context():  # a context of its own: its own session, never the caller's transaction
            started = time.perf_counter()
            try:
                if lock is None:
                    result = fn(*args, **kwargs)
                else:
                    with lock:
                        result = fn(*args, **kwargs)
                if periodic:
                    record_run(fn.__name__, True, "" if result is None else str(result))
                db.session.commit()
                _count_run(fn.__name__, started, failed=False)
                if result is not None:
                    log.info("%s: %s", fn.__name__, result)
                return result
            except TaskLockedException:
                db.session.rollback()
                if task is not None:
                    task.retries = 0  # another run holds the lock and does the work
                raise
            except Exception as error:
                db.session.rollback()
                _count_run(fn.__name__, started, failed=True)
                if periodic:
                    _record_failure(fn.__name__, error)
                if task is not None and task.retries:
                    # Huey waits task.retry_delay before the next try; make each wait twice the last.
                    task.retry_delay = retry_delay_after(retries - task.retries + 1, retry_delay)
                raise
            finally:
                db.session.remove()

    return run


def _count_run(name: str, started: float, failed: bool) -> None:
    """Counted for /metrics; a count that cannot be written (the metrics folder gone) is logged, never raised: the
    task's work is committed by then, and raising would count it failed and run it again."""
    try:
        TASK_RUNS.labels(name).inc()
        if failed:
            TASK_FAILURES.labels(name).inc()
        TASK_SECONDS.labels(name).observe(time.perf_counter() - started)
    except OSError as error:
        log.warning("%s: its run could not be counted for the metrics (%s)", name, type(error).__name__)


def task(retries: int = 5, retry_delay: int = 10, lock: str | None = None, **options) -> Callable:
    """A task run by the consumer when enqueued (`fn(...)` enqueues it; `fn.call_local(...)` runs it here)."""

    def decorate(fn: Callable) -> TaskWrapper:
        return huey.task(retries=retries, retry_delay=retry_delay, context=True, **options)(
            _in_app_transaction(fn, retries, retry_delay, lock))

    return decorate


def periodic_task(schedule: Callable, retries: int = 3, retry_delay: int = 10, lock: str | None = None,
                  **options) -> Callable:
    """A task the consumer runs on `schedule` (a huey `crontab`)."""

    def decorate(fn: Callable) -> TaskWrapper:
        wrapper = huey.periodic_task(schedule, retries=retries, retry_delay=retry_delay, context=True, **options)(
            _in_app_transaction(fn, retries, retry_delay, lock, periodic=True))
        PERIODIC_TASKS.append(wrapper)
        return wrapper

    return decorate
