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
