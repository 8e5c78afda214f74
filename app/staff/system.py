"""Staff: the system at a glance (head-office admins): the task queue's depth, the consumers seen lately, the
last run of each periodic task, the latest application errors (route, class and request id: the log has the
rest), and the recent failures staff can act on (messages and notifications that could not be sent, bill runs and
reading imports that stopped)."""

import logging
from datetime import timedelta

from flask import Blueprint
from sqlalchemy import func, select

from app.auth.access import admin_only, head_office
from app.billing.models import BillRun, BillRunStatus
from app.db import utcnow
from app.extensions import db, huey
from app.messaging.models import MessageStatus, OutboundMessage
from app.metering.models import ImportStatus, ReadingImport
from app.notifications.models import DeliveryStatus, NotificationDelivery
from app.taskqueue import PERIODIC_TASKS, TaskRun
from app.web.error_log import errors_since, recent_errors
from app.web.templating import render

bp = Blueprint("staff_system", __name__)
log = logging.getLogger(__name__)

RECENT = 10  # of each kind of failure
ALIVE = timedelta(minutes=3)  # a consumer that ran nothing for longer (several tasks run every minute) is stale


def queue_depth() -> dict | None:
    """Tasks waiting to run now, and those scheduled for later (retries, delayed work); None if the queue's
    storage cannot be reached."""
    try:
        return {"pending": huey.pending_count(), "scheduled": huey.scheduled_count()}
    except Exception:
        log.exception("the task queue's storage cannot be reached")
        return None


def consumers() -> list:
    """Each consumer process seen in the task runs, with the last time it finished one."""
    return db.session.execute(select(TaskRun.host, func.max(TaskRun.last_run_at).label("beat"))
                              .group_by(TaskRun.host).order_by(func.max(TaskRun.last_run_at).desc())).all()


def periodic_runs() -> list[tuple[str, TaskRun | None]]:
    runs = {run.name: run for run in db.session.scalars(select(TaskRun))}
    names = sorted({periodic.func.__name__ for periodic in PERIODIC_TASKS})
    return [(name, runs.get(name)) for name in names]


def _latest(model, *conditions, order):
    return list(db.session.scalars(select(model).where(*conditions).order_by(order.desc()).limit(RECENT)))


@bp.route("/staff/system")
@admin_only
@head_office
def index():
    return render(
        "staff/system.html", depth=queue_depth(), consumers=consumers(), runs=periodic_runs(), now=utcnow(),
        alive=ALIVE,
        messages=_latest(OutboundMessage, OutboundMessage.last_error.is_not(None),
                         OutboundMessage.status.in_([MessageStatus.DEAD, MessageStatus.PENDING]),
                         order=OutboundMessage.next_attempt_at),
        deliveries=_latest(NotificationDelivery,
                           NotificationDelivery.status.in_([DeliveryStatus.FAILED, DeliveryStatus.DEAD]),
                           order=NotificationDelivery.next_attempt_at),
        bill_runs=_latest(BillRun, BillRun.status.in_([BillRunStatus.FAILED, BillRunStatus.INTERRUPTED]),
                          order=BillRun.started_at),
        imports=_latest(ReadingImport, ReadingImport.status == ImportStatus.FAILED, order=ReadingImport.created_at),
        errors=recent_errors(RECENT), errors_today=errors_since(utcnow() - timedelta(days=1)),
    )
