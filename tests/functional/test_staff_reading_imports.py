"""A file of meter readers' readings: checked with a report naming every bad line and why, imported (the good rows)
or discarded as the person chooses, in chunks by the task queue; importing it again changes nothing."""

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from app.audit.models import AuditLog
from app.extensions import db
from app.i18n import indian_date
from app.metering import imports
from app.metering.models import ImportStatus, MeterVisit, ReaderStatus, Reading, ReadingImport, ReadingStatus
from app.metering.tasks import import_readings
from tests import factories

HEADER = "consumer_number,meter_serial,read_at,value,source,status_code\n"


@pytest.fixture
def meters():
    """Two Pune connections, each read at 1,000 on 5 Oct 2026, and one in Kochi."""
    tariff = factories.make_tariff()
    made = {}
    for number, serial, region in (("170000000001", "MSE-1", "Pune"), ("170000000002", "MSE-2", "Pune"),
                                   ("115500000001", "KSE-1", "Kochi")):
        account = factories.make_account(tariff, consumer_number=number, region=region)
        meter = factories.make_meter(account, serial=serial)
        factories.make_reading(meter, date(2026, 10, 5), "1000")
        made[serial] = meter
    db.session.commit()
    return made


def upload(client, text: str, name: str = "book.csv"):
    return client.post("/staff/readings/import", data={"file": (io.BytesIO(text.encode()), name)},
                       content_type="multipart/form-data")


GOOD_AND_BAD = HEADER + "\n".join([
    "170000000001,MSE-1,2026-11-05,1221,meter_reader,",  # line 2: good
    "170000000002,MSE-2,05/11/2026,,,door_locked",  # line 3: good, a visit without a reading
    "170000000002,MSE-9,2026-11-05,1100,,",  # line 4: no such meter
    "170000000001,MSE-2,2026-11-05,1100,,",  # line 5: the meter is another connection's
    "170000000001,MSE-1,2026-12-05,1300,,",  # line 6: in the future (today is 18 Nov 2026)
    "170000000001,MSE-1,2026-11-31,1300,,",  # line 7: no such day
    "170000000001,MSE-1,2026-11-06,abc,,",  # line 8: not a number
    "170000000001,MSE-1,2026-11-05,1222,,",  # line 9: the same meter and day as line 2
    "170000000002,MSE-2,2026-11-06,1100,,asleep",  # line 10: unknown status code
])


def test_the_report_names_every_bad_line_and_nothing_is_written_before_the_choice(client, login_as, meters):
    login_as("support")
    response = upload(client, GOOD_AND_BAD)
    assert response.status_code == 303
    report = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Import the 2 good rows" in report
    for line, reason in ((4, "No meter MSE-9."), (5, "Meter MSE-2 is not on connection 170000000001."),
                         (6, "5 Dec 2026 is in the future."), (7, "2026-11-31 is not a date"),
                         (8, "abc is not a reading this meter can show."),
                         (9, "The same meter and day as line 2."), (10, "Unknown status code asleep.")):
        assert f"<th scope=\"row\">{line}</th><td class=\"text-left\">{reason}" in report, line
    assert db.session.scalar(select(func.count(Reading.id))) == 3  # only the fixture's


def test_the_good_rows_are_imported_and_a_second_import_changes_nothing(client, login_as, meters):
    login_as("support")
    first = db.session.scalar(select(ReadingImport.id).where(ReadingImport.id == _checked(client, GOOD_AND_BAD)))
    client.post(f"/staff/readings/imports/{first}/import")
    checked = db.session.get(ReadingImport, first)
    assert (checked.status, checked.done_rows, checked.recorded) == (ImportStatus.IMPORTED, 2, 2)
    assert checked.content is None  # the file is not kept once its rows are in
    reading = db.session.scalar(select(Reading).where(Reading.read_on == date(2026, 11, 5)))
    assert (reading.value, reading.status) == (Decimal("1221.000"), ReadingStatus.ACCEPTED)
    assert db.session.scalar(select(MeterVisit.status)) is ReaderStatus.DOOR_LOCKED

    again = _checked(client, GOOD_AND_BAD)
    client.post(f"/staff/readings/imports/{again}/import")
    client.post(f"/staff/readings/imports/{again}/import")  # a double click starts it once
    assert db.session.get(ReadingImport, again).recorded == 0
    assert db.session.scalar(select(func.count(Reading.id))) == 4
    assert db.session.scalar(select(func.count(MeterVisit.id))) == 1


def test_importing_the_good_rows_is_audited_and_starts_once_however_often_it_is_asked(client, login_as, meters,
                                                                                      monkeypatch):
    queued = []
    monkeypatch.setattr("app.staff.readings.import_readings", lambda upload_id: queued.append(upload_id))
    staff = login_as("support")
    checked = _checked(client, GOOD_AND_BAD)
    stale = db.session.get(ReadingImport, checked)  # a second tab, opened while the file waited
    for _click in range(2):  # a double click: the second finds it started
        assert client.post(f"/staff/readings/imports/{checked}/import").status_code == 303
    assert queued == [checked]
    db.session.expire_all()
    assert db.session.get(ReadingImport, checked).status is ImportStatus.IMPORTING
    assert imports.start(stale, staff) is False  # the other tab: nothing starts again
    started = db.session.scalars(select(AuditLog).where(AuditLog.action == "readings.import_started")).all()
    assert len(started) == 1
    assert (started[0].actor_id, started[0].object_id, started[0].details) == (
        staff.id, str(checked), {"file": "book.csv", "good": 2, "bad": 7})


def test_eight_tabs_pressing_import_at_once_start_it_once(app, client, login_as, meters, monkeypatch):
    """Each tab its own client, session and database connection (PostgreSQL: row locks; SQLite: one writer)."""
    queued = []
    monkeypatch.setattr("app.staff.readings.import_readings", lambda upload_id: queued.append(upload_id))
    staff = login_as("support")
    checked = _checked(client, GOOD_AND_BAD)
    tabs = []
    for _n in range(8):
        tab = app.test_client()
        tab.post("/login", data={"login": staff.email or staff.mobile, "password": factories.PASSWORD})
        tabs.append(tab)
    barrier = threading.Barrier(len(tabs))

    def press(tab):
        barrier.wait()  # all at once
        return tab.post(f"/staff/readings/imports/{checked}/import").status_code

    with ThreadPoolExecutor(max_workers=len(tabs)) as pool:
        assert list(pool.map(press, tabs)) == [303] * len(tabs)
    assert queued == [checked]
    assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "readings.import_started")) == 1


def test_the_report_is_in_the_readers_language_with_its_dates(client, login_as, meters):
    login_as("support")  # checked by an English-speaking colleague, read by a Hindi-speaking one
    checked = _checked(client, GOOD_AND_BAD)
    upload_row = db.session.get(ReadingImport, checked)
    upload_row.problems = [*upload_row.problems, [11, "A reason kept before codes."]]  # an older report's row
    db.session.commit()
    client.post("/logout")
    login_as("support", locale="hi_IN")
    report = client.get(f"/staff/readings/imports/{checked}").get_data(as_text=True)
    with force_locale("hi_IN"):
        future = gettext(imports.ROW_PROBLEMS["future"], day=indian_date(date(2026, 12, 5)))
        no_meter = gettext(imports.ROW_PROBLEMS["no_meter"], serial="MSE-9")
    assert "2026-12-05" not in future and no_meter != "No meter MSE-9."
    assert f'<th scope="row">6</th><td class="text-left">{future}' in report
    assert f'<th scope="row">4</th><td class="text-left">{no_meter}' in report
    assert '<th scope="row">11</th><td class="text-left">A reason kept before codes.' in report


def test_a_file_can_be_discarded_whole(client, login_as, meters):
    login_as("support")
    checked = _checked(client, GOOD_AND_BAD)
    page = client.post(f"/staff/readings/imports/{checked}/discard", follow_redirects=True).get_data(as_text=True)
    assert "Nothing was imported from book.csv." in page
    client.post(f"/staff/readings/imports/{checked}/import")  # too late: it was discarded
    assert db.session.scalar(select(func.count(Reading.id))) == 3


def test_an_unusual_reading_goes_to_review(client, login_as, meters):
    login_as("support")
    checked = _checked(client, HEADER + "170000000001,MSE-1,2026-11-05,900,,\n")  # lower than 1,000
    client.post(f"/staff/readings/imports/{checked}/import")
    reading = db.session.scalar(select(Reading).where(Reading.read_on == date(2026, 11, 5)))
    assert reading.status is ReadingStatus.NEEDS_REVIEW and reading.rollover


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe\x00bad", "The file is not UTF-8 text"),
    (b"number,serial\n1,2\n", "The first line must name the columns; missing: consumer_number, meter_serial, "
                              "read_at."),
])
def test_a_file_that_cannot_be_read_is_refused_whole(client, login_as, meters, content, message):
    login_as("support")
    response = client.post("/staff/readings/import", data={"file": (io.BytesIO(content), "x.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ReadingImport.id))) == 0


def test_an_office_imports_its_own_connections_only(client, login_as, meters):
    login_as("support", office="Kochi")
    checked = _checked(client, HEADER + "170000000001,MSE-1,2026-11-05,1221,,\n115500000001,KSE-1,2026-11-05,"
                                        "1100,,\n")
    upload_row = db.session.get(ReadingImport, checked)
    assert (upload_row.good_rows, upload_row.problem_count) == (1, 1)
    assert upload_row.problems == [[2, "not_on_connection", {"serial": "MSE-1", "number": "170000000001"}]]


def test_a_large_file_is_written_in_chunks_with_progress(app, meters, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 7)
    monkeypatch.setattr("app.metering.tasks.CHUNK", 7)
    staff = factories.make_user(role="support")
    rows = "".join(f"170000000001,MSE-1,{date(2026, 10, 6 + n).isoformat()},{1000 + 5 * (n + 1)},smart,\n"
                   for n in range(25))
    checked = imports.store_checked("smart.csv", HEADER + rows, staff)
    checked.status, upload_id = ImportStatus.IMPORTING, checked.id
    db.session.commit()

    import_readings.call_local(upload_id)  # as the consumer runs it: a session and transactions of its own
    db.session.rollback()  # this test's session then reads afresh
    done = db.session.get(ReadingImport, upload_id)
    assert (done.status, done.done_rows, done.recorded) == (ImportStatus.IMPORTED, 25, 25)
    assert db.session.scalar(select(func.count(Reading.id)).where(Reading.status == ReadingStatus.ACCEPTED)) == 28


def _checked(client, text: str) -> int:
    response = upload(client, text)
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])
