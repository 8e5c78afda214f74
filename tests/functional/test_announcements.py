"""Announcements: written by a named staff member with `flask announcements add`, shown on the dashboards they
concern while current, and sent once to the customers they concern when they start."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.audit.models import AuditLog
from app.extensions import db
from app.notifications.models import Announcement, Notification, NotificationKind
from app.notifications.tasks import send_current_announcements
from tests import factories
from tests.functional.test_notifications import fake_push_service, subscribed

NOON = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)  # 12:00 in India


@pytest.fixture
def pushed(monkeypatch):
    calls = []
    fake_push_service(monkeypatch,
                        lambda user_id, payload, *, ttl, urgency: calls.append((user_id, payload["title"], urgency)))
    return calls


def customer_in(region: str, **fields):
    user = subscribed(factories.make_user(**fields))
    account = factories.make_account(factories.make_tariff(), region=region)
    factories.link(user, account)
    db.session.commit()
    return user


def add(app, *args):
    return app.test_cli_runner().invoke(args=["announcements", "add", *args, *factories.staff_cli_args()])


def announced() -> list[Notification]:
    db.session.commit()
    return list(db.session.scalars(select(Notification).where(Notification.kind == NotificationKind.ANNOUNCEMENT)
                                   .order_by(Notification.id)))


def test_an_announcement_for_a_region_is_sent_once_to_its_customers_and_shown_while_current(
        app, client, login_as, clock, pushed):
    clock.move_to(NOON, tick=False)
    in_pune, elsewhere = customer_in("Pune"), customer_in("Nashik")
    result = add(app, "--title", "Planned outage in Kothrud", "--body", "No power on 22 Nov, 10:00 to 14:00.",
                 "--region", "Pune", "--ends", "2026-11-22 14:00")
    assert result.exit_code == 0, result.output
    assert "1 announcement notifications written" in result.output
    send_current_announcements.call_local()  # the periodic task finds it sent: nothing again
    (notice,) = announced()
    assert notice.user_id == in_pune.id and notice.title == "Planned outage in Kothrud"
    assert pushed == [(in_pune.id, "Planned outage in Kothrud", "low")]
    announcement = db.session.scalar(select(Announcement))
    assert announcement.sent_at == NOON and announcement.created_by_id is not None
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "announcement.added"))

    viewer = login_as()
    factories.link(viewer, factories.make_account(factories.make_tariff(), region="Pune"))
    db.session.commit()
    assert "Planned outage in Kothrud" in client.get("/").get_data(as_text=True)
    assert "Until 14:00 IST, 22 Nov 2026" in client.get("/").get_data(as_text=True)
    clock.move_to(datetime(2026, 11, 22, 8, 30, tzinfo=UTC), tick=False)  # 14:00 in India: over
    assert "Planned outage in Kothrud" not in client.get("/").get_data(as_text=True)
    assert elsewhere.id not in {n.user_id for n in announced()}


def test_a_dashboard_elsewhere_does_not_show_a_regions_announcement(app, client, login_as, clock, pushed):
    clock.move_to(NOON, tick=False)
    in_pune = customer_in("Pune")
    viewer = login_as()
    factories.link(viewer, factories.make_account(factories.make_tariff(), region="Nashik"))
    db.session.commit()
    assert add(app, "--title", "Outage", "--body", "Kothrud only", "--region", "Pune").exit_code == 0
    assert add(app, "--title", "New office hours", "--body", "For everyone").exit_code == 0
    page = client.get("/").get_data(as_text=True)
    assert "New office hours" in page and "Kothrud only" not in page
    assert {(n.title, n.user_id) for n in announced()} == {
        ("Outage", in_pune.id), ("New office hours", in_pune.id), ("New office hours", viewer.id)}


def test_an_announcement_that_starts_later_is_sent_when_it_starts(app, clock, pushed):
    clock.move_to(NOON, tick=False)
    user = customer_in("Pune")
    result = add(app, "--title", "Maintenance", "--body", "Sunday", "--starts", "2026-11-21 09:00")
    assert result.exit_code == 0, result.output
    send_current_announcements.call_local()
    assert announced() == []
    clock.move_to(datetime(2026, 11, 21, 3, 30, tzinfo=UTC), tick=False)  # 09:00 in India
    send_current_announcements.call_local()
    send_current_announcements.call_local()
    assert [n.user_id for n in announced()] == [user.id]
    assert len(pushed) == 1


@pytest.mark.parametrize("args, error", [
    (["--title", "T", "--body", "B", "--region", "Atlantis"], "No connection is in the region Atlantis."),
    (["--title", "T", "--body", "B", "--starts", "2026-11-25 10:00", "--ends", "2026-11-25 09:00"],
     "It must end after it starts."),
    (["--title", "T", "--body", "B", "--ends", "2026-11-01"], "It would end before anyone sees it."),
    (["--title", "T", "--body", "B", "--starts", "tomorrow"], "YYYY-MM-DD HH:MM"),
    (["--title", "x" * 121, "--body", "B"], "at most 120 characters"),
])
def test_refusals(app, args, error):
    customer_in("Pune")
    result = add(app, *args)
    assert result.exit_code != 0 and error in result.output
    assert db.session.scalars(select(Announcement)).all() == []


def test_only_staff_proving_who_they_are_may_announce(app):
    result = app.test_cli_runner().invoke(args=["announcements", "add", "--title", "T", "--body", "B"])
    assert result.exit_code != 0 and "--by" in result.output
    assert db.session.scalars(select(Announcement)).all() == []
