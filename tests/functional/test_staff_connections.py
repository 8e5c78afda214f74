"""Staff open a connection with its first meter, change its terms (dated, audited, kept as history), install
and replace meters (the next bill counts both meters), and type readings or readers' status codes by hand;
within their office, and only billing officers and admins change connections and meters."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.accounts.models import Account, BillingCycle, ConnectionChange
from app.audit.models import AuditLog
from app.billing.compose import Cycle
from app.billing.models import Bill
from app.billing.runs import run_bills
from app.extensions import db
from app.metering.models import Meter, MeterVisit, ReaderStatus, Reading, ReadingStatus
from tests import factories


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_of(action: str) -> AuditLog:
    return db.session.scalar(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id.desc()))


@pytest.fixture
def tariff():
    made = factories.make_tariff()
    db.session.commit()
    return made


def new_connection(tariff, **changes) -> dict:
    form = {"consumer_number": "1701 2345 6789", "holder_name": "Sunita Kale", "address": "12, MG Road, Pune",
            "region": "Pune", "category": "LT-I(B) Residential", "tariff_id": str(tariff.id),
            "sanctioned_load_kw": "3.5", "phase": "single", "billing_cycle": "bimonthly", "cycle_offset": "1",
            "registered_mobile": "98765 43210", "connected_on": "2026-11-02", "serial": "mse 9001",
            "digits": "6", "multiplying_factor": "1", "installed_on": "2026-11-02", "initial_reading": "12.5"}
    return {**form, **changes}


def page_of(response) -> str:
    return response.get_data(as_text=True)


# --- Opening a connection ---------------------------------------------------------------------------------------


def test_a_billing_officer_opens_a_connection_with_its_first_meter(client, login_as, tariff):
    officer = login_as("billing")
    assert "Open a new connection" in page_of(client.get("/staff/consumers/new"))
    response = client.post("/staff/consumers/new", data=new_connection(tariff))
    assert response.status_code == 303
    account = db.session.scalar(select(Account).where(Account.consumer_number == "170123456789"))
    assert response.headers["Location"].endswith(f"/staff/consumers/{account.id}")
    assert (account.holder_name, account.registered_mobile, account.sanctioned_load_kw, account.tariff_id) == \
        ("Sunita Kale", "+919876543210", Decimal("3.5"), tariff.id)
    assert (account.billing_cycle, account.cycle_offset, account.connected_on) == \
        (BillingCycle.BIMONTHLY, 1, date(2026, 11, 2))
    meter = db.session.scalar(select(Meter).where(Meter.account_id == account.id))
    assert (meter.serial, meter.digits, meter.installed_on, meter.removed_on) == ("MSE9001", 6, date(2026, 11, 2), None)
    initial = db.session.scalar(select(Reading).where(Reading.meter_id == meter.id))
    assert (initial.value, initial.status, initial.read_on) == (Decimal("12.5"), ReadingStatus.ACCEPTED,
                                                                date(2026, 11, 2))
    entry = audit_of("connection.created")
    assert entry.actor_id == officer.id and entry.details["after"]["consumer_number"] == "170123456789"
    page = page_of(client.get(f"/staff/consumers/{account.id}"))
    assert "Connection 170123456789 opened with meter MSE9001." in page and "MSE9001" in page


def test_a_consumer_number_already_in_use_is_refused_and_the_form_kept(client, login_as, tariff):
    factories.make_account(tariff, consumer_number="170123456789")
    db.session.commit()
    login_as("admin")
    response = client.post("/staff/consumers/new", data=new_connection(tariff, holder_name="Second Holder"))
    assert response.status_code == 422
    page = page_of(response)
    assert "Consumer number 170123456789 is already in use." in page and 'value="Second Holder"' in page
    assert count(Account) == 1 and count(Meter) == 0


def test_a_meter_serial_already_on_record_is_refused(client, login_as, tariff):
    factories.make_meter(factories.make_account(tariff), serial="MSE9001")
    db.session.commit()
    login_as("admin")
    response = client.post("/staff/consumers/new", data=new_connection(tariff))
    assert response.status_code == 422
    assert "A meter with serial MSE9001 is already on record." in page_of(response)
    assert count(Account) == 1


@pytest.mark.parametrize(("field", "value", "message"), [
    ("consumer_number", "12", "4 to 20 letters and digits (and - or /), as printed on the bills."),
    ("holder_name", "", "Please fill this in."),
    ("sanctioned_load_kw", "-3", "Enter a number above zero, like 3 or 7.5."),
    ("sanctioned_load_kw", "NaN", "Enter a number above zero, like 3 or 7.5."),
    ("registered_mobile", "12345", "Enter a 10-digit Indian mobile number."),
    ("connected_on", "2026-12-01", "The day cannot be in the future."),
    ("connected_on", "tomorrow", "That is not a date."),
    ("digits", "12", "A meter shows 4 to 9 digits."),
    ("initial_reading", "12.34567", "Type the number on the meter's display, like 12345 or 12345.6."),
    ("tariff_id", "999999", "Not a valid choice."),
    ("installed_on", "2026-11-01", "The meter cannot be installed before the connection was made."),
])
def test_bad_input_gives_422_with_the_message_and_keeps_the_form(client, login_as, tariff, field, value, message):
    login_as("billing")
    response = client.post("/staff/consumers/new", data=new_connection(tariff, **{field: value}))
    assert response.status_code == 422
    page = page_of(response)
    assert message in page and 'value="Sunita Kale"' in page or field == "holder_name"
    assert count(Account) == 0


def test_office_staff_open_connections_in_their_own_office_only(client, login_as, tariff):
    login_as("billing", office="Kochi")
    assert 'value="Kochi"' in page_of(client.get("/staff/consumers/new"))
    refused = client.post("/staff/consumers/new", data=new_connection(tariff))  # region Pune
    assert refused.status_code == 422
    assert "You open connections of your office (Kochi) only." in page_of(refused)
    assert client.post("/staff/consumers/new", data=new_connection(tariff, region="Kochi")).status_code == 303
    assert db.session.scalar(select(Account.region)) == "Kochi"


def test_support_staff_may_not_open_change_or_re_meter_a_connection(client, login_as, tariff):
    account = factories.make_account(tariff)
    db.session.commit()
    login_as("support")
    assert client.post("/staff/consumers/new", data=new_connection(tariff)).status_code == 403
    assert client.post(f"/staff/consumers/{account.id}/change", data={}).status_code == 403
    assert client.post(f"/staff/consumers/{account.id}/meter/install", data={}).status_code == 403
    assert "Change the connection" not in page_of(client.get(f"/staff/consumers/{account.id}"))
    assert count(Account) == 1


def test_the_tariff_is_chosen_not_preselected_and_must_fit_the_category_and_region(client, login_as, tariff):
    kseb = factories.make_tariff("kseb-lt1a-2023-11.json")
    factories.make_account(tariff, region="Pune", category="LT-I(B) Residential")
    factories.make_account(kseb, region="Kochi", category="LT-1A Domestic")
    db.session.commit()
    login_as("billing")
    form = page_of(client.get("/staff/consumers/new"))
    select_tag = form[form.index('<select id="tariff_id"'):form.index("</select>", form.index('id="tariff_id"'))]
    assert '<option value="">Choose the tariff</option>' in select_tag  # first: nothing that might not fit
    assert "selected" not in select_tag

    for category in ("LT-I(B) Residential", "LT-II(A) Commercial"):  # a category new to Pune: Pune's tariffs
        refused = client.post("/staff/consumers/new", data=new_connection(kseb, category=category))
        page = page_of(refused)
        assert refused.status_code == 422 and count(Account) == 2
        assert (f'<ul class="errors" id="tariff_id-errors"><li>{category} connections in Pune are on '
                f'{tariff.code}, not {kseb.code}: choose a tariff that fits') in page
        assert 'value="Sunita Kale"' in page and 'value="MSE9001"' in page  # nothing typed is lost
    unchosen = client.post("/staff/consumers/new", data=new_connection(tariff, tariff_id=""))
    assert unchosen.status_code == 422 and 'id="tariff_id-errors"><li>Please fill this in.' in page_of(unchosen)
    assert client.post("/staff/consumers/new", data=new_connection(tariff)).status_code == 303
    kochi = new_connection(kseb, region="Kochi", category="LT-1A Domestic", consumer_number="115512345678",
                           serial="KSE 9001")
    assert client.post("/staff/consumers/new", data=kochi).status_code == 303


def test_a_change_of_category_or_tariff_must_leave_a_tariff_that_fits(client, login_as, tariff):
    kseb = factories.make_tariff("kseb-lt1a-2023-11.json")
    factories.make_account(tariff, category="LT-I(B) Residential")
    factories.make_account(kseb, category="LT-II(A) Commercial")  # a Pune category on its own tariff
    account = factories.make_account(tariff, category="LT-I(B) Residential")
    db.session.commit()
    login_as("billing")
    wrong_tariff = client.post(f"/staff/consumers/{account.id}/change", data=change_of(account, tariff_id=str(kseb.id)))
    assert wrong_tariff.status_code == 422 and (
        f'id="tariff_id-errors"><li>LT-I(B) Residential connections in Pune are on {tariff.code}, not {kseb.code}'
        in page_of(wrong_tariff))
    wrong_category = client.post(f"/staff/consumers/{account.id}/change",
                                 data=change_of(account, category="LT-II(A) Commercial"))
    assert wrong_category.status_code == 422 and f"are on {kseb.code}, not {tariff.code}" in page_of(wrong_category)
    assert count(ConnectionChange) == 0
    both = client.post(f"/staff/consumers/{account.id}/change",
                       data=change_of(account, category="LT-II(A) Commercial", tariff_id=str(kseb.id)))
    assert both.status_code == 303
    assert db.session.get(Account, account.id).tariff_id == kseb.id


# --- Changing a connection -------------------------------------------------------------------------------------


def change_of(account, **changes) -> dict:
    form = {"holder_name": account.holder_name, "category": account.category, "tariff_id": str(account.tariff_id),
            "sanctioned_load_kw": str(account.sanctioned_load_kw), "registered_mobile": account.registered_mobile or "",
            "effective_on": "2026-11-10"}
    return {**form, **changes}


def test_a_change_is_dated_audited_with_before_and_after_and_shown(client, login_as, tariff):
    account = factories.make_account(tariff, sanctioned_load_kw=Decimal("3"), registered_mobile="+919800000001")
    db.session.commit()
    officer = login_as("billing")
    assert 'value="3"' in page_of(client.get(f"/staff/consumers/{account.id}/change"))  # as it is now
    response = client.post(f"/staff/consumers/{account.id}/change",
                           data=change_of(account, sanctioned_load_kw="5", registered_mobile="+91 98000 00002"))
    assert response.status_code == 303
    db.session.refresh(account)
    assert (account.sanctioned_load_kw, account.registered_mobile) == (Decimal("5"), "+919800000002")
    changes = db.session.scalars(select(ConnectionChange).order_by(ConnectionChange.field)).all()
    assert [(c.field, c.before, c.after, c.effective_on, c.changed_by_id) for c in changes] == [
        ("registered_mobile", "+919800000001", "+919800000002", date(2026, 11, 10), officer.id),
        ("sanctioned_load_kw", "3", "5", date(2026, 11, 10), officer.id),
    ]
    entry = audit_of("connection.changed")
    assert entry.actor_id == officer.id and entry.details["effective_on"] == "2026-11-10"
    assert entry.details["before"] == {"sanctioned_load_kw": "3", "registered_mobile": "+919800000001"}
    assert entry.details["after"] == {"sanctioned_load_kw": "5", "registered_mobile": "+919800000002"}
    page = page_of(client.get(f"/staff/consumers/{account.id}"))
    assert "2 changes recorded." in page and "Sanctioned load (kW): 3 → 5" in page and "From 10 Nov 2026" in page


def test_a_change_of_tariff_and_category_is_kept_by_the_tariffs_code(client, login_as, tariff):
    other = factories.make_tariff("kseb-lt1a-2023-11.json")
    account = factories.make_account(tariff)
    db.session.commit()
    login_as("admin")
    response = client.post(f"/staff/consumers/{account.id}/change",
                           data=change_of(account, tariff_id=str(other.id), category="LT-II(A) Commercial"))
    assert response.status_code == 303
    db.session.refresh(account)
    assert (account.tariff_id, account.category) == (other.id, "LT-II(A) Commercial")
    change = db.session.scalar(select(ConnectionChange).where(ConnectionChange.field == "tariff_id"))
    assert (change.before, change.after) == (tariff.code, other.code)


@pytest.mark.parametrize(("changes", "message"), [
    ({}, "Nothing is different from the connection as it is."),
    ({"sanctioned_load_kw": "4", "effective_on": "2026-11-19"}, "The day cannot be in the future."),
    ({"sanctioned_load_kw": "4", "effective_on": "2014-12-31"},
     "A change cannot take effect before the connection was made."),
    ({"sanctioned_load_kw": "zero"}, "Enter a number above zero, like 3 or 7.5."),
])
def test_a_change_that_cannot_be_made_says_why_and_changes_nothing(client, login_as, tariff, changes, message):
    account = factories.make_account(tariff)
    db.session.commit()
    login_as("billing")
    response = client.post(f"/staff/consumers/{account.id}/change", data=change_of(account, **changes))
    assert response.status_code == 422 and message in page_of(response)
    assert count(ConnectionChange) == 0 and db.session.get(Account, account.id).sanctioned_load_kw == 3


def test_office_staff_cannot_see_or_change_another_offices_connection(client, login_as, tariff):
    account = factories.make_account(tariff, region="Pune")
    db.session.commit()
    login_as("billing", office="Kochi")
    assert client.get(f"/staff/consumers/{account.id}/change").status_code == 404
    assert client.post(f"/staff/consumers/{account.id}/change",
                       data=change_of(account, sanctioned_load_kw="9")).status_code == 404
    assert client.get(f"/staff/consumers/{account.id}/meter").status_code == 404
    assert client.post(f"/staff/consumers/{account.id}/readings",
                       data={"read_on": "2026-11-18", "value": "5"}).status_code == 404
    assert count(ConnectionChange) == 0 and count(Reading) == 0


# --- Meters -------------------------------------------------------------------------------------------------------


def new_meter(**changes) -> dict:
    form = {"serial": "NEW-0001", "digits": "5", "multiplying_factor": "1", "installed_on": "2024-10-20",
            "initial_reading": "50"}
    return {**form, **changes}


def billed_in_october(tariff, closing=None):
    """Read at 900 on 5 Sep 2024 and 1,000 on 5 Oct, billed for October (the bill closes on 5 Oct's reading)."""
    account = factories.make_read_connection(tariff, closing=closing)
    meter = db.session.scalar(select(Meter).where(Meter.account_id == account.id))
    factories.make_reading(meter, date(2024, 9, 5), "900")
    return account


def test_a_replaced_meter_and_its_successor_are_billed_together(client, login_as):
    """Old meter: 1,000 on 5 Oct (the last bill's closing), 1,100 at removal on 20 Oct; new meter: 50 at
    installation, 171 on 5 Nov. The bill counts 100 + 121 = 221 units, priced as 221 units on one meter are."""
    tariff = factories.make_tariff()
    account = billed_in_october(tariff)
    unreplaced = billed_in_october(tariff, closing="1221")  # 1,000 → 1,221 on one meter
    db.session.commit()
    run_bills(Cycle(2024, 10), issued_on=date(2024, 10, 12))
    login_as("billing")
    assert "Old meter" in page_of(client.get(f"/staff/consumers/{account.id}/meter"))
    response = client.post(f"/staff/consumers/{account.id}/meter/replace",
                           data=new_meter(final_reading="1100", removed_on="2024-10-20"))
    assert response.status_code == 303
    old, new = db.session.scalars(select(Meter).where(Meter.account_id == account.id).order_by(Meter.id)).all()
    assert (old.removed_on, new.serial, new.removed_on) == (date(2024, 10, 20), "NEW-0001", None)
    assert db.session.scalar(select(Reading.status).where(Reading.meter_id == old.id, Reading.value == 1100)) \
        == ReadingStatus.ACCEPTED
    entry = audit_of("meter.replaced")
    assert entry.details["before"]["final_reading"] == "1100" and entry.details["after"]["initial_reading"] == "50"
    reading = client.post(f"/staff/consumers/{account.id}/readings", data={"read_on": "2024-11-05", "value": "171"})
    assert reading.status_code == 303

    run_bills(Cycle(2024, 11), issued_on=date(2024, 11, 12))
    bill = db.session.scalar(select(Bill).where(Bill.account_id == account.id, Bill.cycle == "2024-11"))
    reference = db.session.scalar(select(Bill).where(Bill.account_id == unreplaced.id, Bill.cycle == "2024-11"))
    assert bill.units == Decimal("221") and not bill.estimated
    assert (bill.period_start, bill.period_end) == (date(2024, 10, 6), date(2024, 11, 5))
    assert bill.current_charges == reference.current_charges


def test_a_new_meters_multiplying_factor_counts_from_its_initial_reading(client, login_as):
    account = billed_in_october(factories.make_tariff())
    db.session.commit()
    run_bills(Cycle(2024, 10), issued_on=date(2024, 10, 12))
    login_as("admin")
    client.post(f"/staff/consumers/{account.id}/meter/replace",
                data=new_meter(final_reading="1100", removed_on="2024-10-20", multiplying_factor="2"))
    client.post(f"/staff/consumers/{account.id}/readings", data={"read_on": "2024-11-05", "value": "110"})
    run_bills(Cycle(2024, 11), issued_on=date(2024, 11, 12))
    assert db.session.scalar(select(Bill.units).where(Bill.cycle == "2024-11")) == Decimal("220")  # 100 + 60 × 2


@pytest.mark.parametrize(("changes", "message"), [
    ({"final_reading": "999"}, "The final reading cannot be below the last accepted one"),
    ({"removed_on": "2024-10-01"}, "it cannot have been removed before"),
    ({"installed_on": "2024-10-19"}, "The new meter cannot be installed before the old one was removed."),
    ({"serial": "OLD-1"}, "A meter with serial OLD-1 is already on record."),
    ({"final_reading": "100000"}, "A meter of 5 digits cannot show 100000."),
    ({"removed_on": "2026-11-19"}, "The day cannot be in the future."),
    ({"initial_reading": ""}, "Please fill this in."),
])
def test_a_replacement_that_cannot_be_made_says_why_and_changes_nothing(client, login_as, changes, message):
    account = factories.make_read_connection(factories.make_tariff(), closing=None)
    db.session.execute(Meter.__table__.update().values(serial="OLD-1"))
    db.session.commit()
    login_as("billing")
    form = {**new_meter(final_reading="1100", removed_on="2024-10-20"), **changes}
    response = client.post(f"/staff/consumers/{account.id}/meter/replace", data=form)
    assert response.status_code == 422 and message in page_of(response)
    assert count(Meter) == 1 and count(Reading) == 1 and db.session.scalar(select(Meter.removed_on)) is None


def test_a_meter_is_installed_on_a_connection_without_one_and_not_beside_one(client, login_as, tariff):
    bare = factories.make_account(tariff, connected_on=date(2024, 10, 1))
    metered = factories.make_account(tariff)
    factories.make_meter(metered)
    db.session.commit()
    login_as("billing")
    assert "Install the meter" in page_of(client.get(f"/staff/consumers/{bare.id}/meter"))
    assert client.post(f"/staff/consumers/{bare.id}/meter/install", data=new_meter()).status_code == 303
    meter = db.session.scalar(select(Meter).where(Meter.account_id == bare.id))
    assert meter.serial == "NEW-0001" and audit_of("meter.installed").actor_id is not None
    refused = client.post(f"/staff/consumers/{metered.id}/meter/install", data=new_meter(serial="NEW-0002"))
    assert refused.status_code == 422
    assert "This connection has a meter in use: replace it instead." in page_of(refused)


# --- Readings typed by staff ---------------------------------------------------------------------------------------


@pytest.fixture
def read_account():
    """Read at 1,000 on 5 Oct 2024 and 1,221 on 5 Nov 2024 (meter installed 1 Jan 2020)."""
    account = factories.make_read_connection(factories.make_tariff())
    db.session.commit()
    return account


def test_support_staff_enter_a_reading_checked_like_any_other(client, login_as, read_account):
    clerk = login_as("support")
    response = client.post(f"/staff/consumers/{read_account.id}/readings",
                           data={"read_on": "2024-12-05", "value": "1,450", "status": ""}, follow_redirects=True)
    assert "Reading recorded and accepted." in page_of(response)
    reading = db.session.scalar(select(Reading).order_by(Reading.id.desc()))
    assert (reading.value, reading.status, reading.submitted_by_id) == (Decimal("1450"), ReadingStatus.ACCEPTED,
                                                                        clerk.id)
    assert audit_of("reading.entered").actor_id == clerk.id
    again = client.post(f"/staff/consumers/{read_account.id}/readings",
                        data={"read_on": "2024-12-05", "value": "1450"}, follow_redirects=True)
    assert "This was already recorded: nothing changed." in page_of(again) and count(Reading) == 3


def test_an_unusual_reading_goes_to_the_review_queue(client, login_as, read_account):
    login_as("support")
    response = client.post(f"/staff/consumers/{read_account.id}/readings",
                           data={"read_on": "2024-12-05", "value": "1200"}, follow_redirects=True)  # below 1,221
    assert "Reading recorded; it waits in the review queue." in page_of(response)
    assert db.session.scalar(select(Reading.status).where(Reading.value == 1200)) == ReadingStatus.NEEDS_REVIEW
    assert "1,200" in page_of(client.get("/staff/readings"))


def test_a_readers_status_code_is_a_visit_and_the_bill_is_estimated(client, login_as, read_account):
    run_bills(Cycle(2024, 11), issued_on=date(2024, 11, 12))
    login_as("support")
    response = client.post(f"/staff/consumers/{read_account.id}/readings",
                           data={"read_on": "2024-12-05", "status": "door_locked", "value": ""}, follow_redirects=True)
    assert "Recorded: Door locked on 5 Dec 2024; the bill for this period will be estimated." in page_of(response)
    visit = db.session.scalar(select(MeterVisit))
    assert (visit.status, visit.visited_on) == (ReaderStatus.DOOR_LOCKED, date(2024, 12, 5))
    assert count(Reading) == 2 and audit_of("meter.visit_recorded") is not None
    assert "Visits without a reading" in page_of(client.get(f"/staff/consumers/{read_account.id}"))
    twice = client.post(f"/staff/consumers/{read_account.id}/readings",
                        data={"read_on": "2024-12-05", "status": "door_locked"}, follow_redirects=True)
    assert "This was already recorded: nothing changed." in page_of(twice) and count(MeterVisit) == 1

    run_bills(Cycle(2024, 12), issued_on=date(2024, 12, 12))
    december = db.session.scalar(select(Bill).where(Bill.cycle == "2024-12"))
    assert december.estimated


@pytest.mark.parametrize(("form", "message"), [
    ({"read_on": "2024-12-05", "value": "", "status": ""}, "Type the reading, or choose the reader's status."),
    ({"read_on": "2024-12-05", "value": "12", "status": "meter_faulty"}, "With a status code, leave the reading"),
    ({"read_on": "2026-11-19", "value": "1300"}, "The day cannot be in the future."),
    ({"read_on": "2019-12-31", "value": "1300"}, "was not installed on 31 Dec 2019."),
    ({"read_on": "2024-12-05", "value": "-4"}, "Type the number on the meter's display"),
    ({"read_on": "2024-12-05", "value": "100000"}, "A meter of 5 digits cannot show 100000."),
    ({"read_on": "2024-12-05", "status": "asleep"}, "Not a valid choice."),
])
def test_a_bad_reading_gives_422_with_the_message_on_the_consumers_page(client, login_as, read_account, form,
                                                                        message):
    login_as("support")
    response = client.post(f"/staff/consumers/{read_account.id}/readings", data=form)
    assert response.status_code == 422
    page = page_of(response)
    assert message in page and read_account.consumer_number in page
    assert count(Reading) == 2 and count(MeterVisit) == 0


def test_a_connection_without_a_meter_takes_no_reading(client, login_as, tariff):
    account = factories.make_account(tariff)
    db.session.commit()
    login_as("support")
    response = client.post(f"/staff/consumers/{account.id}/readings", data={"read_on": "2026-11-18", "value": "5"})
    assert response.status_code == 422
    assert "This connection has no meter in use: install one first." in page_of(response)


def test_the_forms_and_their_messages_are_in_hindi_for_hindi_staff(client, login_as, read_account):
    login_as("billing", locale="hi_IN")
    assert "नया कनेक्शन खोलें" in page_of(client.get("/staff/consumers/new"))
    assert "पुराने मीटर की अंतिम रीडिंग (kWh)" in page_of(client.get(f"/staff/consumers/{read_account.id}/meter"))
    response = client.post(f"/staff/consumers/{read_account.id}/readings", data={"read_on": "2024-12-05"})
    assert response.status_code == 422 and "रीडिंग लिखें, या रीडर की स्थिति चुनें।" in page_of(response)
