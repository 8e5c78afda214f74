"""Metrics computed when Prometheus scrapes: how much waits in the outboxes, how far the running bill runs are,
how many payments are in each state. A few COUNTs on indexed columns; nothing is kept between scrapes, so every
worker (and host) answers the same."""

import logging

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app.billing.models import BillRun, BillRunStatus
from app.extensions import db
from app.messaging.models import MessageStatus, OutboundMessage
from app.notifications.models import DeliveryStatus, NotificationDelivery
from app.payments.models import Payment, PaymentState
from app.web.errors import roll_back

log = logging.getLogger(__name__)

# Waiting to leave: not yet sent, and not given up.
MESSAGES_WAITING = (MessageStatus.PENDING, MessageStatus.SENDING)
DELIVERIES_WAITING = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.FAILED)


class DomainCollector:
    """A prometheus_client collector; collect() runs inside the scrape's request (an app context)."""

    def collect(self):
        """With the database down the scrape still answers (the request metrics say what users saw), with
        dtech_database_up 0 and none of the counts."""
        try:
            families = [self.outbox_depth(), *self.bill_run_progress(), self.payments_by_state()]
        except SQLAlchemyError as error:
            log.warning("metrics: the database does not answer (%s)", type(error).__name__)
            roll_back()
            families = []
        yield GaugeMetricFamily("dtech_database_up", "Whether this scrape could count rows in the database",
                                value=1 if families else 0)
        yield from families

    @staticmethod
    def outbox_depth() -> GaugeMetricFamily:
        gauge = GaugeMetricFamily("dtech_outbox_pending", "Messages and notification deliveries waiting to be sent",
                                  labels=["outbox"])
        messages = db.session.scalar(select(func.count(OutboundMessage.id))
                                     .where(OutboundMessage.status.in_(MESSAGES_WAITING)))
        deliveries = db.session.scalar(select(func.count(NotificationDelivery.id))
                                       .where(NotificationDelivery.status.in_(DELIVERIES_WAITING)))
        gauge.add_metric(["messages"], messages)
        gauge.add_metric(["notifications"], deliveries)
        return gauge

    @staticmethod
    def bill_run_progress():
        """Each running bill run: connections billed so far, out of how many, and errors (labels: the run's id,
        cycle and region; only running runs, so a handful of series at most)."""
        labels = ["run", "cycle", "region"]
        done = GaugeMetricFamily("dtech_bill_run_done", "Connections a running bill run has billed", labels=labels)
        total = GaugeMetricFamily("dtech_bill_run_total", "Connections a running bill run will bill", labels=labels)
        errors = GaugeMetricFamily("dtech_bill_run_errors", "Connections a running bill run could not bill",
                                   labels=labels)
        running = db.session.execute(select(BillRun.id, BillRun.cycle, BillRun.region, BillRun.done, BillRun.total,
                                            BillRun.error_count)
                                     .where(BillRun.status == BillRunStatus.RUNNING).order_by(BillRun.id)).all()
        for run in running:
            key = [str(run.id), run.cycle, run.region or "all"]
            done.add_metric(key, run.done)
            total.add_metric(key, run.total)
            errors.add_metric(key, run.error_count)
        yield from (done, total, errors)

    @staticmethod
    def payments_by_state() -> GaugeMetricFamily:
        gauge = GaugeMetricFamily("dtech_payments", "Payments in each state", labels=["state"])
        counts = dict(db.session.execute(select(Payment.state, func.count(Payment.id)).group_by(Payment.state)).all())
        for state in PaymentState:  # every state, 0 included, so a rate or an alert never sees a gap
            gauge.add_metric([state.value], counts.get(state, 0))
        return gauge
