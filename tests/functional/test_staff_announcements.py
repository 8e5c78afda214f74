"""The staff announcements page: billing officers and admins write one for everyone, a region or a list of consumer
numbers, with a start and an end in India time; change or call it off until it is sent; staff of an office only for
their own customers; support staff read the list. Shown on the dashboards it concerns, sent once."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from app.audit.models import AuditLog
from app.extensions import db
from app.notifications import announcements as service
from app.notifications.models import Announcement, AnnouncementTarget, Notification, NotificationKind
from app.notifications.tasks import send_current_announcements
from tests import factories
from tests.functional.test_announcements import customer_in, pushed  # noqa: F401 (a fixture)

NOON = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)  # 12:00 in India


def connection_of(user):
    from app.accounts.models import Account, AccountLink
    return db.session.scalar(select(Account).join(AccountLink, AccountLink.account_id == Account.id)
                             .where(AccountLink.user_id == user.id))


def announced() -> list[Notification]:
    db.session.commit()
    return list(db.session.scalars(select(Notification).where(Notification.kind == NotificationKind.ANNOUNCEMENT)
                                   .order_by(Notification.id)))


def form(**fields) -> dict:
    return {"title": "Planned outage", "body": "No power 10:00 to 14:00.", "audience": "region", "region": "Pune",
            "consumer_numbers": "", "starts_at": "2026-11-21T09:00", "ends_at": "2026-11-21T14:00", **fields}


def announcements() -> list[Announcement]:
    db.session.commit()
    return list(db.session.scalars(select(Announcement).order_by(Announcement.id)))


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("announcement.%"))
                                   .order_by(AuditLog.id)))


@pytest.fixture
def at_noon(clock):
    clock.move_to(NOON, tick=False)
    return clock


def test_a_list_of_consumers_is_sent_once_to_them_and_shown_on_their_dashboards_only(
        app, client, login_as, at_noon, pushed):  # noqa: F811
    first, second, neighbour = customer_in("Pune"), customer_in("Nashik"), customer_in("Pune")
    numbers = [connection_of(first).consumer_number, connection_of(second).consumer_number]
    writer = login_as("billing")
    response = client.post("/staff/announcements/new", data=form(
        audience="consumers", consumer_numbers=f"{numbers[0].lower()},\n {numbers[1]}",
        starts_at="2026-11-20T12:00", ends_at="2026-11-22T18:00"))
    assert response.status_code == 303, response.get_data(as_text=True)
    (announcement,) = announcements()
    assert announcement.region is None and announcement.sent_at == NOON  # current already: sent after the commit
    assert {n.user_id for n in announced()} == {first.id, second.id}
    send_current_announcements.call_local()
    assert len(announced()) == 2 and len(pushed) == 2
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "announcement.added"))
    assert entry.actor_id == writer.id and entry.details["after"]["consumer_numbers"] == numbers
    assert entry.details["before"] is None

    client.post("/logout")
    for viewer, shown in ((first, True), (neighbour, False)):
        client.post("/login", data={"login": viewer.mobile, "password": factories.PASSWORD})
        assert ("Planned outage" in client.get("/").get_data(as_text=True)) is shown
        client.post("/logout")


def test_unknown_consumer_numbers_are_named_and_nothing_typed_is_lost(app, client, login_as, at_noon):
    known = connection_of(customer_in("Pune")).consumer_number
    login_as("admin")
    response = client.post("/staff/announcements/new", data=form(
        audience="consumers", consumer_numbers=f"{known}, NOPE0001 nope0002", title="Water in the substation"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "No connection has these consumer numbers: NOPE0001, NOPE0002." in page
    assert "Water in the substation" in page and known in page
    assert announcements() == []


@pytest.mark.parametrize(("fields", "message"), [
    ({"starts_at": "tomorrow"}, "Write the date and time as 2026-12-01 09:00 (India time)."),
    ({"ends_at": "2026-11-21T08:00"}, "It must end after it starts."),
    ({"ends_at": "2026-11-19T08:00", "starts_at": "2026-11-19T07:00"}, "It would end before anyone sees it."),
    ({"title": ""}, "Please fill this in."),
    ({"audience": "consumers"}, "Type the consumer numbers, one a line or separated by commas."),
])
def test_refusals_are_shown_beside_the_field(app, client, login_as, at_noon, fields, message):
    customer_in("Pune")
    login_as("billing")
    response = client.post("/staff/announcements/new", data=form(**fields))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert announcements() == []


def test_start_and_end_are_india_time(app, client, login_as, at_noon):
    customer_in("Pune")
    login_as("billing")
    assert client.post("/staff/announcements/new", data=form()).status_code == 303
    (announcement,) = announcements()
    assert announcement.starts_at == datetime(2026, 11, 21, 3, 30, tzinfo=UTC)
    assert announcement.ends_at == datetime(2026, 11, 21, 8, 30, tzinfo=UTC)
    assert announcement.sent_at is None  # scheduled
    page = client.get("/staff/announcements").get_data(as_text=True)
    assert "Scheduled" in page and "09:00 IST, 21 Nov 2026" in page


def test_office_staff_announce_only_to_their_own_customers(app, client, login_as, at_noon):
    nashik_number = connection_of(customer_in("Nashik")).consumer_number
    pune_number = connection_of(customer_in("Pune")).consumer_number
    login_as("billing", office="Pune")
    page = client.get("/staff/announcements/new").get_data(as_text=True)
    assert 'value="everyone"' not in page and '<option value="Nashik"' not in page
    assert client.post("/staff/announcements/new", data=form(audience="everyone")).status_code == 422
    assert client.post("/staff/announcements/new", data=form(region="Nashik")).status_code == 422
    refused = client.post("/staff/announcements/new", data=form(audience="consumers",
                                                                consumer_numbers=f"{pune_number} {nashik_number}"))
    assert f"No connection has the consumer number {nashik_number}." in refused.get_data(as_text=True)
    assert announcements() == []
    assert client.post("/staff/announcements/new", data=form()).status_code == 303
    assert client.post("/staff/announcements/new", data=form(audience="consumers",
                                                             consumer_numbers=pune_number)).status_code == 303
    assert [a.region for a in announcements()] == ["Pune", None]


def test_the_service_refuses_an_office_writing_for_everyone_and_support_writing_at_all(app, at_noon):
    customer_in("Pune")
    draft = service.Draft("T", "B", NOON, None)
    with pytest.raises(service.AnnouncementError, match="own region"):
        service.write_announcement(draft, factories.make_user(role="admin", office="Pune"))
    with pytest.raises(service.AnnouncementError, match="billing officers and administrators"):
        service.write_announcement(draft, factories.make_user(role="support"))


def test_changed_and_called_off_before_it_is_sent_never_after(app, client, login_as, at_noon, pushed):  # noqa: F811
    user = customer_in("Pune")
    admin = login_as("admin")
    client.post("/staff/announcements/new", data=form())
    client.post("/staff/announcements/new", data=form(title="Second"))
    first, second = announcements()
    assert client.get(f"/staff/announcements/{first.id}/edit").status_code == 200
    response = client.post(f"/staff/announcements/{first.id}/edit", data=form(title="Outage moved",
                                                                              starts_at="2026-11-20T11:00"))
    assert response.status_code == 303
    assert {n.title for n in announced()} == {"Outage moved"}  # it started already: sent at once
    assert [n.user_id for n in announced()] == [user.id]
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "announcement.changed"))
    assert entry.details["before"]["title"] == "Planned outage"
    assert entry.details["after"]["title"] == "Outage moved"

    # Sent: no longer changed nor called off.
    assert client.get(f"/staff/announcements/{first.id}/edit").status_code == 303
    client.post(f"/staff/announcements/{first.id}/edit", data=form(title="Sneaky"))
    client.post(f"/staff/announcements/{first.id}/cancel")
    db.session.refresh(first)
    assert first.title == "Outage moved" and first.cancelled_at is None

    assert client.post(f"/staff/announcements/{second.id}/cancel").status_code == 303
    at_noon.move_to(datetime(2026, 11, 21, 4, 0, tzinfo=UTC), tick=False)  # it would have started
    send_current_announcements.call_local()
    assert {n.title for n in announced()} == {"Outage moved"}
    assert audit_actions() == ["announcement.added", "announcement.added", "announcement.changed",
                               "announcement.cancelled"]
    client.post("/login", data={"login": admin.email or admin.mobile, "password": factories.PASSWORD})  # next day
    page = client.get("/staff/announcements").get_data(as_text=True)
    assert "Called off" in page and "Second" in page
    client.post("/logout")
    client.post("/login", data={"login": user.mobile, "password": factories.PASSWORD})
    assert "Second" not in client.get("/").get_data(as_text=True)


def test_a_send_and_a_cancellation_exclude_each_other(app, at_noon):
    customer_in("Pune")
    admin = factories.make_user(role="admin")
    sent = service.write_announcement(service.Draft("Sent", "B", NOON, None), admin)
    cancelled = service.write_announcement(service.Draft("Off", "B", NOON, None), admin)
    db.session.commit()
    service.cancel_announcement(cancelled.id, admin)
    db.session.commit()
    service.send_announcements()
    assert [n.title for n in announced()] == ["Sent"]
    with pytest.raises(service.AnnouncementError, match="sent already"):
        service.cancel_announcement(sent.id, admin)


def test_the_database_keeps_it_sent_once_even_if_claimed_again(app, at_noon, monkeypatch):
    user = customer_in("Pune")
    announcement = service.write_announcement(service.Draft("Once", "B", NOON, None),
                                              factories.make_user(role="admin"))
    db.session.commit()
    service.send_announcements()
    db.session.execute(update(Announcement).values(sent_at=None))  # as if the claim were lost
    db.session.commit()
    monkeypatch.setattr(service, "already_sent", lambda keys: set())  # nor the check before the insert: only the
    service.send_announcements()  # unique dedupe key is left
    assert [(n.user_id, n.dedupe_key) for n in announced()] == [(user.id, f"announcement:{announcement.id}:{user.id}")]


def test_other_offices_neither_see_nor_change_it(app, client, login_as, at_noon):
    customer_in("Pune")
    admin = factories.make_user(role="admin")
    pune = service.write_announcement(service.Draft("Kothrud outage", "B", datetime(2026, 11, 21, tzinfo=UTC),
                                                    None, region="Pune"), admin)
    db.session.commit()
    login_as("admin", office="Nashik")
    assert "Kothrud outage" not in client.get("/staff/announcements").get_data(as_text=True)
    assert client.get(f"/staff/announcements/{pune.id}/edit").status_code == 404
    assert client.post(f"/staff/announcements/{pune.id}/edit", data=form()).status_code == 404
    assert client.post(f"/staff/announcements/{pune.id}/cancel").status_code == 404
    assert announcements()[0].cancelled_at is None and audit_actions() == ["announcement.added"]


def test_an_office_sees_everyones_announcement_but_only_head_office_changes_it(app, client, login_as, at_noon):
    customer_in("Pune")
    everyone = service.write_announcement(service.Draft("New office hours", "B", datetime(2026, 11, 21, tzinfo=UTC),
                                                         None), factories.make_user(role="admin"))
    db.session.commit()
    login_as("billing", office="Pune")
    page = client.get("/staff/announcements").get_data(as_text=True)
    assert "New office hours" in page and f"/staff/announcements/{everyone.id}/edit" not in page
    assert client.post(f"/staff/announcements/{everyone.id}/cancel").status_code == 303
    assert announcements()[0].cancelled_at is None


def test_support_reads_the_list_but_does_not_write(app, client, login_as, at_noon):
    customer_in("Pune")
    service.write_announcement(service.Draft("Outage", "B", datetime(2026, 11, 21, tzinfo=UTC), None),
                               factories.make_user(role="admin"))
    db.session.commit()
    login_as("support")
    page = client.get("/staff/announcements").get_data(as_text=True)
    assert "Outage" in page and "/staff/announcements/new" not in page and "/edit" not in page
    assert client.get("/staff/announcements/new").status_code == 403


def test_targets_are_kept_per_connection(app, at_noon):
    accounts = [connection_of(customer_in("Pune")) for _ in range(2)]
    announcement = service.write_announcement(
        service.Draft("T", "B", NOON, None, consumer_numbers=tuple(a.consumer_number for a in accounts)),
        factories.make_user(role="billing"))
    assert set(db.session.scalars(select(AnnouncementTarget.account_id)
                                  .where(AnnouncementTarget.announcement_id == announcement.id))) \
        == {a.id for a in accounts}
    assert service.current_announcements(accounts[0]) == [announcement]


def test_the_page_is_in_hindi(app, client, login_as, at_noon):
    login_as("billing", locale="hi_IN")
    page = client.get("/staff/announcements/new").get_data(as_text=True)
    assert "घोषणा लिखें" in page and "उपभोक्ता संख्याओं की सूची" in page


def test_a_change_reads_the_row_again_under_its_lock(app, at_noon):
    """The page read it before the sender claimed it: the change must see it sent, not the copy it holds."""
    customer_in("Pune")
    admin = factories.make_user(role="admin")
    announcement = service.write_announcement(service.Draft("T", "B", NOON, None), admin)
    db.session.commit()
    assert announcement.sent_at is None  # loaded, as the view's _seen does
    db.session.execute(update(Announcement).values(sent_at=NOON).execution_options(synchronize_session=False))
    with pytest.raises(service.AnnouncementError, match="sent already"):
        service.cancel_announcement(announcement.id, admin)
    with pytest.raises(service.AnnouncementError, match="sent already"):
        service.change_announcement(announcement.id, service.Draft("Changed", "B", NOON, None), admin)
