"""/staff/system: the task queue's depth, consumers, each periodic task's last run, and recent failures."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.billing.models import BillRun, BillRunStatus
from app.db import utcnow
from app.extensions import db
from app.messaging.models import MessageStatus, OutboundMessage
from app.taskqueue import TaskRun


def test_a_periodic_tasks_run_is_recorded_and_shown(client, login_as):
    from app.auth.tasks import prune_security_records

    login_as("admin")
    before = client.get("/staff/system").get_data(as_text=True)
    assert "prune_security_records" in before and "Never" in before

    prune_security_records.call_local()
    db.session.commit()
    run = db.session.get(TaskRun, "prune_security_records")
    assert run.succeeded and "throttle counters" in run.result and run.last_success_at == run.last_run_at

    page = client.get("/staff/system").get_data(as_text=True)
    assert "throttle counters" in page and run.host in page
    assert "Waiting to run" in page


def test_a_failed_periodic_run_is_recorded_with_its_error(client, login_as, monkeypatch):
    from app.auth import tasks

    login_as("admin")
    tasks.prune_security_records.call_local()

    def broken(older_than):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tasks.throttle, "prune", broken)
    with pytest.raises(RuntimeError):
        tasks.prune_security_records.call_local()
    db.session.commit()
    run = db.session.get(TaskRun, "prune_security_records")
    assert not run.succeeded and run.result == "RuntimeError: disk full"
    assert run.last_success_at is not None and run.last_success_at < run.last_run_at
    page = client.get("/staff/system").get_data(as_text=True)
    assert "RuntimeError: disk full" in page and "Failed" in page


def test_recent_failures_staff_can_act_on_are_listed(client, login_as):
    login_as("admin")
    db.session.add(OutboundMessage(to="+919811111111", subject="x", body="x", kind="otp",
                                   status=MessageStatus.DEAD, attempts=5, last_error="provider said 401"))
    db.session.add(BillRun(cycle="2026-10", region="Pune", status=BillRunStatus.FAILED, total=10, done=4,
                           started_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    page = client.get("/staff/system").get_data(as_text=True)
    assert "provider said 401" in page and "+919811111111" not in page
    run_id = db.session.scalar(select(BillRun.id))
    assert f"/staff/bill-runs/{run_id}" in page and "4 of 10 billed" in page


def test_the_queue_storage_being_down_is_said_not_a_500(client, login_as, monkeypatch):
    from app.extensions import huey

    login_as("admin")

    def down():
        raise ConnectionError("redis is down")

    monkeypatch.setattr(huey, "pending_count", down)
    page = client.get("/staff/system")
    assert page.status_code == 200 and "cannot be reached" in page.get_data(as_text=True)


def test_an_unhandled_error_is_shown_on_the_system_page_without_its_message(app, client, login_as, monkeypatch):
    """A route that raises: the customer gets the safe error page; the system page lists when, the route's rule,
    the error's class and the request id, never the message (it may hold personal data)."""
    from app.support import services as complaints
    from app.web.error_log import AppError

    def broken(user):
        raise LookupError(f"no row for {user.name} +919812345678")

    monkeypatch.setattr(complaints, "customer_complaints", broken)
    login_as("customer", name="Asha Patil")
    failed = client.get("/complaints", headers={"X-Request-ID": "req-complaints-0001"})
    page = failed.get_data(as_text=True)
    assert failed.status_code == 500 and "Something went wrong on our side." in page
    assert "LookupError" not in page and "+919812345678" not in page
    (error,) = db.session.scalars(select(AppError)).all()
    assert (error.method, error.route, error.error_class, error.request_id) == (
        "GET", "/complaints", "builtins.LookupError", "req-complaints-0001")

    client.post("/logout")
    login_as("admin")
    system = client.get("/staff/system").get_data(as_text=True)
    assert "GET /complaints" in system and "builtins.LookupError" in system and "req-complaints-0001" in system
    assert "1 in the last 24 hours." in system
    assert "+919812345678" not in system and "Asha Patil" not in system


def test_old_errors_are_pruned_and_the_store_stays_bounded(app, monkeypatch):
    from app.web import error_log
    from app.web.error_log import AppError

    monkeypatch.setattr(error_log, "KEEP_AT_MOST", 3)
    db.session.add(AppError(occurred_at=utcnow() - timedelta(days=31), method="GET", route="/old",
                            error_class="builtins.KeyError", request_id="old"))
    db.session.commit()
    with app.test_request_context("/bills/7"):
        for _ in range(5):
            error_log.record_error(ValueError("x"))
    kept = db.session.scalars(select(AppError).order_by(AppError.id)).all()
    assert len(kept) == 3
    assert {(e.route, e.error_class) for e in kept} == {("/bills/<int:bill_id>", "builtins.ValueError")}
