from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.billing.compose import Cycle
from app.billing.models import Bill, BillStatus
from app.billing.runs import run_bills
from app.db import INDIA
from app.extensions import db
from tests import factories
from tests.functional.test_customer_pages import billed_customer
from tests.unit.test_bill_pdf import page_text, squeeze_lines


def billed_connection():
    account = factories.make_read_connection(factories.make_tariff())
    db.session.commit()
    run_bills(Cycle(2024, 11), issued_on=date(2024, 11, 12))
    return account, db.session.scalar(select(Bill).where(Bill.account_id == account.id))


def test_customer_sees_their_bill_explained_and_its_pdf(client, login_as):
    user = login_as("customer")
    account, bill = billed_connection()
    factories.link(user, account)
    db.session.commit()
    home = client.get("/").get_data(as_text=True)
    assert f"/bills/{bill.id}" in home and "₹2,424.12" in home and "chip-overdue" in home
    page = client.get(f"/bills/{bill.id}").get_data(as_text=True)
    for text in ("₹2,424.12", "Energy charges", "103 × ₹4.71", "Electricity duty 16%",
                 "1,000 (5 Oct 2024) → 1,221 (5 Nov 2024)", f"/bills/{bill.id}.pdf?lang=hi"):
        assert text in page, text
    pdf = client.get(f"/bills/{bill.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    hindi = client.get(f"/bills/{bill.id}.pdf?lang=hi")
    assert hindi.status_code == 200 and hindi.data != pdf.data


def test_someone_elses_bill_and_pdf_are_not_found(client, login_as):
    login_as("customer")
    _account, bill = billed_connection()
    assert client.get(f"/bills/{bill.id}").status_code == 404
    assert client.get(f"/bills/{bill.id}.pdf").status_code == 404
    assert client.get("/bills/999999").status_code == 404


def test_staff_can_open_any_bill(client, login_as):
    login_as("support")
    _account, bill = billed_connection()
    assert client.get(f"/bills/{bill.id}").status_code == 200
    assert client.get(f"/bills/{bill.id}.pdf").status_code == 200


def test_a_bill_after_an_estimate_explains_the_settlement(client, login_as):
    user = login_as("customer")
    tariff = factories.make_tariff()
    account = factories.make_account(tariff=tariff)
    factories.link(user, account)
    meter = factories.make_meter(account)
    factories.make_reading(meter, date(2024, 9, 5), "800")
    factories.make_reading(meter, date(2024, 10, 5), "1000")
    factories.make_reading(meter, date(2024, 12, 5), "1450")  # no reading in November: estimated
    db.session.commit()
    for month in (10, 11, 12):
        run_bills(Cycle(2024, month), issued_on=date(2024, month, 12))
    november, december = db.session.scalars(select(Bill).where(Bill.cycle.in_(["2024-11", "2024-12"]))
                                            .order_by(Bill.cycle)).all()
    assert november.estimated and not december.estimated
    assert november.units + december.units == 450
    page = client.get(f"/bills/{december.id}").get_data(as_text=True)
    settled = f"{november.units.normalize():f}"
    assert f"The meter recorded 450 units; {settled} of them were billed before on estimate" in page
    estimated_page = client.get(f"/bills/{november.id}").get_data(as_text=True)
    assert "Estimated: no meter reading this period" in estimated_page


def test_comparisons_name_the_month_and_year_and_rates_keep_their_decimals(client, login_as):
    """"Oct 26" read as 26 October; a rate of ₹0.475 showed as ₹0.48 on the page and ₹0.475 on the PDF."""
    from app.i18n import month_label, rate
    from app.pdf.formats import rate as pdf_rate

    assert month_label(date(2026, 10, 31)) == "Oct 2026"
    assert rate(Decimal("0.475")) == pdf_rate(Decimal("0.475"), "en") == "₹0.475"
    assert rate(Decimal("3")) == "₹3.00"
    billed_customer(login_as, months=13)
    bill = db.session.scalars(select(Bill).order_by(Bill.period_start.desc())).first()
    page = client.get(f"/bills/{bill.id}").get_data(as_text=True)
    assert "Previous bill (Oct 2026)" in page and "Same period last year (Nov 2025)" in page


def test_every_bill_status_has_its_own_chip_label(app):
    """bill_status answers a BillStatus; the status chip names each one in words (not the bare value)."""
    with app.test_request_context():
        status_chip = app.jinja_env.get_template("_macros/ui.html").module.status_chip
        for status in BillStatus:
            chip = str(status_chip(status))
            assert f'class="chip chip-{status.value}"' in chip and f">{status.value}<" not in chip


def test_an_overdue_bill_can_be_paid_from_its_page_and_the_list_says_which_bills_are_paid(client, login_as, clock):
    from app.billing.ledger import post
    from app.billing.models import LedgerKind
    from app.db import today_in_india

    _user, account, _meter = billed_customer(login_as, months=4)
    bills = db.session.scalars(select(Bill).order_by(Bill.period_start.desc())).all()
    latest = bills[0]
    assert 'href="/pay"' in client.get(f"/bills/{latest.id}").get_data(as_text=True)
    clock.move_to(datetime.combine(latest.due_date + timedelta(days=3), time(10), tzinfo=INDIA))
    overdue = client.get(f"/bills/{latest.id}").get_data(as_text=True)
    assert "chip-overdue" in overdue and 'href="/pay"' in overdue
    listing = client.get("/bills").get_data(as_text=True)
    assert listing.count("chip-carried") == len(bills) - 1 and listing.count("chip-overdue") == 1  # nobody paid
    older = client.get(f"/bills/{bills[1].id}").get_data(as_text=True)
    assert 'href="/pay"' not in older  # an older bill is paid through the latest one

    post(account.id, LedgerKind.PAYMENT, -(latest.total_due + 100), today_in_india(), "paid with ₹100 extra")
    db.session.commit()
    page = client.get(f"/bills/{latest.id}").get_data(as_text=True)
    assert "chip-credit" in page and 'href="/pay"' not in page
    assert "chip-credit" in client.get("/bills").get_data(as_text=True)


def test_the_next_bill_is_the_nearest_later_one_however_long_the_history(login_as):
    from app.billing.bills import next_bill

    billed_customer(login_as, months=13)
    bills = db.session.scalars(select(Bill).order_by(Bill.period_start)).all()
    assert len(bills) >= 12
    for earlier, later in zip(bills, bills[1:], strict=False):
        assert next_bill(earlier).id == later.id  # January's next bill is February's, not April's
    assert next_bill(bills[-1]) is None


def test_the_bill_page_shows_slab_ranges_and_the_amount_after_the_due_date(client, login_as):
    """The page, like the PDF: each slab row says which slab; the amount after the due date comes from the tariff's
    late payment surcharge (1.25% a month on the whole amount due: ₹2,424.12 + ₹30.30)."""
    from tests.functional.test_payment_helpers import tariff_with_terms

    user = login_as("customer")
    tariff = tariff_with_terms({"due_days": 15, "late_surcharge": {"percent_per_month": "1.25", "on": "arrears"}})
    account = factories.make_read_connection(tariff)
    factories.link(user, account)
    db.session.commit()
    run_bills(Cycle(2024, 11), issued_on=date(2024, 11, 12))
    bill = db.session.scalar(select(Bill).where(Bill.account_id == account.id))

    page = client.get(f"/bills/{bill.id}").get_data(as_text=True)
    assert "up to 103 units: 103 × ₹4.71" in page and "104–309 units: 118 × ₹10.29" in page
    assert "Amount payable after the due date" in page and "₹2,454.42" in page
    text = squeeze_lines(page_text(client.get(f"/bills/{bill.id}.pdf").data))
    assert "Amount payable after the due date ₹2,454.42" in text and "104–309 units: 118 × ₹10.29" in text

    # Paid: nothing is asked for, so no amount after the due date either.
    from app.billing.ledger import post
    from app.billing.models import LedgerKind

    post(account.id, LedgerKind.PAYMENT, -bill.total_due, date(2024, 11, 15), "paid")
    db.session.commit()
    assert "Amount payable after the due date" not in client.get(f"/bills/{bill.id}").get_data(as_text=True)


def test_an_estimated_bill_shows_its_meter_and_the_reading_it_estimated_from(client, login_as):
    user = login_as("customer")
    account = factories.make_account(tariff=factories.make_tariff())
    factories.link(user, account)
    meter = factories.make_meter(account)
    factories.make_reading(meter, date(2024, 9, 5), "800")
    factories.make_reading(meter, date(2024, 10, 5), "1000")
    db.session.commit()
    for month in (10, 11):
        run_bills(Cycle(2024, month), issued_on=date(2024, month, 12))
    november = db.session.scalar(select(Bill).where(Bill.cycle == "2024-11"))
    assert november.estimated

    page = client.get(f"/bills/{november.id}").get_data(as_text=True)
    assert f"Meter {meter.serial}" in page and "1,000 (5 Oct 2024) → estimated" in page
    text = page_text(client.get(f"/bills/{november.id}.pdf").data)
    assert meter.serial in text and "5 Oct 2024" in text and "1,000" in text
    assert "Estimated — no reading this period" in text


def test_a_cancelled_bills_chip_says_cancelled_not_paid(client, login_as):
    from app.billing.bills import cancel_bill

    user = login_as("customer")
    account, bill = billed_connection()
    factories.link(user, account)
    cancel_bill(bill, "billed in error")  # the credit note settles the account: it would otherwise show "Paid"
    db.session.commit()
    page = client.get(f"/bills/{bill.id}").get_data(as_text=True)
    assert '<span class="chip chip-cancelled">Cancelled</span>' in page and "chip-paid" not in page
    client.post("/logout")
    hindi_user = login_as("customer", locale="hi_IN")
    factories.link(hindi_user, account)
    db.session.commit()
    hindi = client.get(f"/bills/{bill.id}").get_data(as_text=True)
    assert '<span class="chip chip-cancelled">रद्द</span>' in hindi and "chip-paid" not in hindi
