"""What an operator's tools see: /healthz and /readyz for the load balancer, /metrics for Prometheus (behind a
bearer token), a request id on every response and in every log line."""

import json
import logging
import os
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from huey.storage import RedisStorage, SqliteStorage
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, text

from app.billing.models import BillRun
from app.extensions import db, huey
from app.messaging.models import MessageStatus, OutboundMessage
from app.payments.models import Payment, PaymentMethod, PaymentState
from app.payments.services import new_reference
from app.taskqueue import task
from app.web.logs import log_handler
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-the-tests-0123456789"


def migration_head() -> str:
    return ScriptDirectory(str(ROOT / "migrations")).get_current_head()


@pytest.fixture
def stamp():
    """stamp(revision): the test database says it is at `revision` (the suite builds it with create_all, so it has
    no alembic_version table of its own); the table goes again after the test."""

    def at(revision: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
            connection.execute(text("INSERT INTO alembic_version VALUES (:revision)"), {"revision": revision})

    yield at
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture
def database_down(app, monkeypatch):
    """The app's engine points at a database that cannot be opened (as when the server is down)."""
    broken = create_engine("sqlite:////nonexistent-dtech-folder/nothing/here.sqlite3")
    monkeypatch.setitem(db._app_engines[app], None, broken)
    yield
    broken.dispose()


@pytest.fixture
def metrics_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)


def scrape(client) -> str:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# --- health and readiness


def test_healthz_answers_without_the_database(client, database_down):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_ready_when_the_database_is_at_the_migrations_head(client, stamp):
    stamp(migration_head())
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ready",
                                   "checks": {"database": "ok", "migrations": "ok", "data_keys": "ok",
                                              "queue": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_not_ready_while_migrations_are_behind(client, stamp):
    stamp("0001")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "migrations": "not_at_head", "data_keys": "ok",
                                                 "queue": "ok"}
    assert "0001" not in response.get_data(as_text=True)  # revisions are not told


def test_readyz_stays_ready_while_a_newer_release_has_migrated_the_database(client, stamp):
    """A rolling upgrade: the new release's migration ran; this older process keeps serving until replaced."""
    stamp("0999_from_a_newer_release")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["migrations"] == "ahead"


def test_readyz_is_not_ready_when_the_data_keys_do_not_read_what_is_stored(app, client, stamp, monkeypatch):
    """A host started with a wrong DTECH_DATA_KEYS would fail every page that shows an address: it takes no traffic."""
    from cryptography.fernet import Fernet

    from app.crypto import init_data_keys

    stamp(migration_head())
    factories.make_account(address="12, Shanti Nagar, Pune")
    db.session.commit()
    assert client.get("/readyz").status_code == 200
    monkeypatch.setitem(app.extensions, "data_keys", app.extensions["data_keys"])
    monkeypatch.setitem(app.config, "DATA_KEYS", (Fernet.generate_key().decode(),))
    init_data_keys(app)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["data_keys"] == "wrong"


def test_readyz_is_not_ready_on_a_database_never_migrated(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["migrations"] == "not_at_head"


def test_readyz_is_not_ready_when_the_database_is_down_and_says_no_more(client, database_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "not_ready",
                                   "checks": {"database": "unavailable", "migrations": "unknown",
                                              "data_keys": "unknown", "queue": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"
    assert "sqlite" not in response.get_data(as_text=True).lower()


def test_readyz_is_not_ready_when_the_queues_redis_does_not_answer(client, stamp, monkeypatch):
    stamp(migration_head())
    # Nothing listens on port 1: the connection is refused at once.
    monkeypatch.setattr(huey, "storage", RedisStorage(name="dtech-test", url="redis://127.0.0.1:1/0"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "migrations": "ok", "data_keys": "ok",
                                                 "queue": "unavailable"}


def test_readyz_checks_the_queues_sqlite_file(client, stamp, monkeypatch, tmp_path):
    stamp(migration_head())
    storage = SqliteStorage(name="dtech-test", filename=str(tmp_path / "tasks.sqlite3"))
    monkeypatch.setattr(huey, "storage", storage)
    assert client.get("/readyz").status_code == 200
    storage.sql("drop table task", commit=True)  # the file is not a queue any more (replaced, damaged)
    assert client.get("/readyz").get_json()["checks"]["queue"] == "unavailable"


# --- metrics


def test_metrics_are_not_there_without_a_token_configured(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


def test_metrics_need_the_bearer_token(client, metrics_on):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    refused = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert refused.headers["WWW-Authenticate"].startswith("Bearer") and refused.get_data() == b""
    answered = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answered.status_code == 200 and answered.headers["Cache-Control"] == "no-store"
    assert answered.mimetype == "text/plain"


def requests_counted(route: str, method: str = "GET", status: str = "200") -> float:
    return REGISTRY.get_sample_value("dtech_http_requests_total",
                                     {"route": route, "method": method, "status": status}) or 0.0


def test_requests_are_counted_by_url_rule_and_status(client, login_as, metrics_on):
    login_as("customer")
    before = requests_counted("/payments/<int:payment_id>", status="404")
    client.get("/payments/424242")
    client.get("/payments/434343")
    assert requests_counted("/payments/<int:payment_id>", status="404") == before + 2
    body = scrape(client)
    assert 'route="/payments/<int:payment_id>"' in body
    assert "424242" not in body  # never the raw path
    assert 'dtech_http_request_duration_seconds_bucket{le="0.01",method="GET",route="/payments/<int:payment_id>"}' \
        in body


@task(retries=0)
def _counted_task(fail: bool) -> None:
    if fail:
        raise RuntimeError("this run fails")


def test_task_runs_and_failures_are_counted_by_task(client, metrics_on):
    def value(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"task": "_counted_task"}) or 0.0

    runs, failures = value("dtech_task_runs_total"), value("dtech_task_failures_total")
    _counted_task.call_local(False)
    with pytest.raises(RuntimeError):
        _counted_task.call_local(True)
    assert (value("dtech_task_runs_total"), value("dtech_task_failures_total")) == (runs + 2, failures + 1)
    assert 'dtech_task_failures_total{task="_counted_task"}' in scrape(client)


@task(retries=2)
def _succeeding_task() -> str:
    return "done"


def test_a_task_whose_run_cannot_be_counted_still_succeeds_once(monkeypatch):
    """The metrics folder gone (a worker started before gunicorn made it): the work is committed, so the task is
    not counted as failed nor run again."""
    from app import taskqueue

    def folder_gone(*_labels):
        raise FileNotFoundError("/run/dtech/prometheus/counter_1.db")

    monkeypatch.setattr(taskqueue.TASK_RUNS, "labels", folder_gone)
    assert _succeeding_task.call_local() == "done"


def test_outbox_bill_runs_and_payments_are_measured_when_scraped(client, metrics_on):
    user = factories.make_user()
    account = factories.make_account()
    db.session.add(OutboundMessage(to="+919876543210", subject="Subject", body="Body", kind="otp"))  # not sent yet
    db.session.add(OutboundMessage(to="+919876543211", subject="Sent", body=None, kind="otp",
                                   status=MessageStatus.SENT))
    db.session.add(BillRun(cycle="2026-11", region="north", total=120, done=45, error_count=2))
    for state in (PaymentState.CAPTURED, PaymentState.CAPTURED, PaymentState.PENDING):
        db.session.add(Payment(account_id=account.id, user_id=user.id, amount=Decimal("100.00"), state=state,
                               method=PaymentMethod.UPI, reference=new_reference()))
    db.session.commit()
    body = scrape(client)
    assert 'dtech_outbox_pending{outbox="messages"} 1.0' in body
    assert 'dtech_outbox_pending{outbox="notifications"} 0.0' in body
    run = db.session.scalar(db.select(BillRun.id))
    assert f'dtech_bill_run_done{{cycle="2026-11",region="north",run="{run}"}} 45.0' in body
    assert f'dtech_bill_run_total{{cycle="2026-11",region="north",run="{run}"}} 120.0' in body
    assert f'dtech_bill_run_errors{{cycle="2026-11",region="north",run="{run}"}} 2.0' in body
    assert 'dtech_payments{state="captured"} 2.0' in body
    assert 'dtech_payments{state="pending"} 1.0' in body
    assert 'dtech_payments{state="failed"} 0.0' in body
    assert "dtech_database_up 1.0" in body


def test_metrics_still_answer_with_the_database_down(client, metrics_on, database_down):
    body = scrape(client)
    assert "dtech_database_up 0.0" in body
    assert "dtech_http_requests_total" in body and "dtech_payments" not in body


MULTIPROCESS_REQUEST = """
from config import TestingConfig
from app import create_app
app = create_app(TestingConfig())
for _ in range({count}):
    assert app.test_client().get("/healthz").status_code == 200
"""
MULTIPROCESS_SCRAPE = """
from config import TestingConfig
from app import create_app
from app.extensions import db
app = create_app(TestingConfig(), METRICS_TOKEN="{token}")
with app.app_context():
    db.create_all()
body = app.test_client().get("/metrics", headers={{"Authorization": "Bearer {token}"}}).get_data(as_text=True)
print([line for line in body.splitlines() if line.startswith("dtech_http_requests_total") and "healthz" in line])
"""


def test_several_worker_processes_are_added_up_in_multiprocess_mode(tmp_path):
    """Two processes (as two gunicorn workers) count requests; a third one's /metrics has their sum."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DTECH_INSTANCE_DIR": str(tmp_path / "inst")}
    env.pop("TEST_DATABASE_URL", None)  # /healthz and /metrics of an empty in-memory database are enough
    for count in (2, 3):
        subprocess.run([sys.executable, "-c", MULTIPROCESS_REQUEST.format(count=count)], cwd=ROOT, env=env,
                       check=True, timeout=120)
    scraped = subprocess.run([sys.executable, "-c", MULTIPROCESS_SCRAPE.format(token=TOKEN)], cwd=ROOT, env=env,
                             check=True, timeout=120, capture_output=True, text=True)
    assert 'dtech_http_requests_total{method="GET",route="/healthz",status="200"} 5.0' in scraped.stdout


def test_gunicorn_starts_metrics_afresh_and_marks_dead_workers(tmp_path, monkeypatch):
    import runpy

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    dead_pid = 2 ** 22 + 12345  # above Linux's pid_max: no such process
    (tmp_path / f"counter_{dead_pid}.db").write_bytes(b"")
    (tmp_path / f"counter_{os.getpid()}.db").write_bytes(b"")  # a live process (a consumer started first)
    (tmp_path / f"gauge_livesum_{dead_pid}.db").write_bytes(b"")
    settings["on_starting"](None)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"counter_{os.getpid()}.db"]
    (tmp_path / f"gauge_liveall_{dead_pid}.db").write_bytes(b"")
    settings["child_exit"](None, type("Worker", (), {"pid": dead_pid})())
    assert not (tmp_path / f"gauge_liveall_{dead_pid}.db").exists()
    assert settings["accesslog"] is None  # the app writes the access line (with the request id)


MASTER_LOGGING = """
import logging.config, runpy, sys
settings = runpy.run_path("gunicorn.conf.py")
logging.config.dictConfig(settings["logconfig_dict"])
settings["on_starting"](None)
logging.getLogger("gunicorn.error").info("Booting worker")
print(sorted(name for name in sys.modules if name == "app" or name.startswith(("app.", "config", "flask"))))
"""


def test_gunicorn_s_master_never_imports_the_app(tmp_path):
    """Workers forked after a reload (HUP) import the app afresh only if the master never did: a master holding
    app/__init__.py or config.py would give them the old ones beside the new code (the deployment trial's 500s)."""
    env = {**os.environ, "DTECH_LOG_FORMAT": "json", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    master = subprocess.run([sys.executable, "-c", MASTER_LOGGING], cwd=ROOT, env=env, check=True, timeout=120,
                            capture_output=True, text=True)
    assert master.stdout.strip() == "[]"
    assert json.loads(master.stderr.strip().splitlines()[-1])["message"] == "Booting worker"


def test_gunicorn_writes_its_own_lines_as_json_when_the_app_does(monkeypatch):
    import logging.config
    import runpy

    monkeypatch.setenv("DTECH_LOG_FORMAT", "json")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    logger = logging.getLogger("gunicorn.error")
    saved = logger.handlers[:], logger.propagate, logger.level
    try:
        logging.config.dictConfig(settings["logconfig_dict"])
        stream = StringIO()
        [handler] = logger.handlers
        handler.setStream(stream)
        logger.info("Booting worker with pid: %s", 4242)
        assert json.loads(stream.getvalue())["message"] == "Booting worker with pid: 4242"
    finally:
        logger.handlers, logger.propagate, logger.level = saved
    monkeypatch.setenv("DTECH_LOG_FORMAT", "text")
    assert "logconfig_dict" not in runpy.run_path(str(ROOT / "gunicorn.conf.py"))


# --- request ids and the access line


def test_a_request_id_is_made_or_taken_from_the_proxy_and_returned(client):
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32 and int(made, 16) >= 0
    assert client.get("/healthz").headers["X-Request-ID"] != made
    assert client.get("/healthz", headers={"X-Request-ID": "lb-4f2a.9_x"}).headers["X-Request-ID"] == "lb-4f2a.9_x"
    for unsafe in ("a" * 65, "id with spaces", "id\"quoted", "ü"):
        returned = client.get("/healthz", headers={"X-Request-ID": unsafe}).headers["X-Request-ID"]
        assert returned != unsafe and len(returned) == 32


def test_refused_and_failed_requests_carry_their_id_too(client):
    assert client.get("/no-such-page").headers["X-Request-ID"]
    assert client.get("/connections").headers["X-Request-ID"]  # sent to sign in
    page = client.get("/login")
    assert page.headers["X-Request-ID"] and page.headers["Content-Security-Policy"]  # the other headers stay


@pytest.fixture
def json_log():
    """The lines production would write (JSON, context and masking), captured."""
    stream = StringIO()
    handler = log_handler("json", stream)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("dtech.access").disabled = False  # Alembic's fileConfig (test_migrations) disables loggers
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(previous)


def test_each_request_writes_one_json_access_line_with_its_id_user_and_route(client, login_as, json_log):
    user = login_as("customer")
    response = client.get("/payments/424242", headers={"X-Request-ID": "req-from-nginx-1"})
    access = [line for line in json_log() if line["logger"] == "dtech.access" and line.get("status") == 404]
    assert len(access) == 1
    line = access[0]
    assert {key: line[key] for key in ("level", "message", "request_id", "user_id", "route", "method", "status")} \
        == {"level": "INFO", "message": "GET /payments/<int:payment_id> 404", "request_id": "req-from-nginx-1",
            "user_id": user.id, "route": "/payments/<int:payment_id>", "method": "GET", "status": 404}
    assert line["time"].endswith("+00:00") and isinstance(line["duration_ms"], float)
    assert response.headers["X-Request-ID"] == "req-from-nginx-1"


def test_probes_access_lines_are_debug_only(client, json_log):
    client.get("/healthz")
    probes = [line for line in json_log() if line.get("route") == "/healthz"]
    assert [line["level"] for line in probes] == ["DEBUG"]


def test_lines_written_during_a_request_carry_its_id(app, json_log):
    with app.test_request_context("/bills/7", headers={"X-Request-ID": "abc-123"}):
        from app.web.observe import begin_request

        begin_request()
        logging.getLogger("app.some.module").warning("something happened to %s", "+91 98765 43210")
    [line] = [line for line in json_log() if line["logger"] == "app.some.module"]
    assert line["request_id"] == "abc-123" and line["message"] == "something happened to XXXXXXXX10"


# --- error reporting


@pytest.fixture
def sentry_events(app, monkeypatch):
    """Sentry started as with SENTRY_DSN set, but its transport keeps the events here instead of sending them."""
    import sentry_sdk
    from sentry_sdk.transport import Transport

    from app.web.error_reporting import init_error_reporting

    events = []

    class Keep(Transport):
        def capture_envelope(self, envelope):
            events.extend(item.payload.json for item in envelope.items if item.type == "event")

    real_init = sentry_sdk.init
    monkeypatch.setattr(sentry_sdk, "init", lambda **options: real_init(transport=Keep(), **options))
    monkeypatch.setitem(app.config, "SENTRY_DSN", "https://public@sentry.example.invalid/1")
    assert init_error_reporting(app)
    yield events
    sentry_sdk.get_global_scope().set_client(None)  # off again for the rest of the suite
    assert not sentry_sdk.get_client().is_active()


def test_an_error_reaches_sentry_scrubbed(app, client, login_as, sentry_events, monkeypatch):
    import sentry_sdk

    from app.auth.access import public

    @public
    def broken_view():
        raise RuntimeError("could not text +91 98765 43210 (asha@example.com) the code 481516")

    monkeypatch.setitem(app.view_functions, "ops.healthz", broken_view)
    user = login_as("customer")
    bearer = ".".join(["abc", "def", "ghi"])  # built, so that the source lines Sentry sends do not hold it
    response = client.get("/healthz?token=rst_secret123&lang=hi_IN", headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code == 500 and "Something went wrong" in response.get_data(as_text=True)
    sentry_sdk.flush()
    [event] = [e for e in sentry_events if e.get("exception")]
    text = json.dumps(event)
    assert "RuntimeError" in text and "XXXXXXXX10" in text  # the error is there, its personal data is not
    for secret in ("98765", "asha@example.com", "481516", "rst_secret123", "abc.def.ghi", "session="):
        assert secret not in text, secret
    assert event.get("user", {}) in ({}, {"id": str(user.id)}, {"id": user.id})
