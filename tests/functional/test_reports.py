"""Staff reports: each report's numbers on a small known data set, the summaries equal to a direct computation,
their periodic rebuild, office scoping, the month range filter, and the CSV downloads."""

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from app.auth.models import SignIn
from app.billing.models import LedgerEntry, LedgerKind
from app.billing.services import BUNDLED_TARIFFS, import_tariff
from app.crypto import encrypt
from app.db import utcnow
from app.extensions import db
from app.notifications.models import PushSubscription
from app.payments.models import Payment, PaymentMethod, PaymentState
from app.reports import arrears, figures, summaries
from app.reports.models import MonthlyBilling, MonthlyCollection
from app.reports.months import BadRange, MonthRange, month_range
from app.reports.tasks import rebuild_report_summaries, refresh_recent_report_summaries
from app.support.models import Ticket, TicketCategory, TicketStatus
from tests import factories

SEP, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
RESIDENTIAL, COMMERCIAL = "LT-I(B) Residential", "LT-II Commercial"


def _bill(account, cycle: str, issued: date, total: str, units: str, **fields):
    start = issued - timedelta(days=35)
    return factories.make_bill(account, total, period_start=start, cycle=cycle, issued_on=issued,
                               due_date=issued + timedelta(days=15), units=Decimal(units), **fields)


def _pay(account, amount: str, method: PaymentMethod, day: date) -> Payment:
    n = random.randrange(10**9)
    payment = Payment(account_id=account.id, amount=Decimal(amount), method=method, state=PaymentState.CAPTURED,
                      reference=f"RPT{n}", receipt_number=f"RR{n}")
    db.session.add(payment)
    db.session.flush()
    db.session.add(LedgerEntry(account_id=account.id, kind=LedgerKind.PAYMENT, amount=-Decimal(amount),
                               effective_on=day, payment_id=payment.id, description="Payment"))
    db.session.flush()
    return payment


def _bounce(payment: Payment, day: date) -> None:
    paid = db.session.scalar(select(LedgerEntry).where(LedgerEntry.payment_id == payment.id))
    payment.state = PaymentState.BOUNCED
    db.session.add(LedgerEntry(account_id=payment.account_id, kind=LedgerKind.REVERSAL, amount=-paid.amount,
                               effective_on=day, payment_id=payment.id, reverses_id=paid.id, description="Bounced"))
    db.session.flush()


def _at(day: date, hour: int = 6) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def known():
    """Two connections: Pune (residential) pays its September bill on time and owes October's (estimated);
    Nashik (commercial) paid part of September's late, and a cheque in October bounced."""
    tariff = factories.make_tariff()
    pune = factories.make_account(tariff, region="Pune", category=RESIDENTIAL)
    nashik = factories.make_account(tariff, region="Nashik", category=COMMERCIAL, holder_name="=HYPERLINK(\"x\")")
    _bill(pune, "2026-09", date(2026, 9, 5), "1000.00", "100")
    _bill(pune, "2026-10", date(2026, 10, 5), "1200.00", "120", estimated=True)
    _pay(pune, "1000.00", PaymentMethod.UPI, date(2026, 9, 15))
    _bill(nashik, "2026-09", date(2026, 9, 5), "500.00", "50")
    _pay(nashik, "300.00", PaymentMethod.CASH, date(2026, 9, 25))
    _bounce(_pay(nashik, "100.00", PaymentMethod.CHEQUE, date(2026, 10, 3)), date(2026, 10, 10))

    asha, ravi = factories.make_user(), factories.make_user()
    factories.link(asha, pune)
    factories.link(ravi, nashik)
    for user, when in ((asha, _at(date(2026, 11, 2))), (asha, _at(date(2026, 11, 2), 9)),
                       (asha, _at(date(2026, 11, 3))), (ravi, _at(date(2026, 11, 3)))):
        db.session.add(SignIn(user_id=user.id, created_at=when, device="Chrome on Android"))
    db.session.add(PushSubscription(user_id=asha.id, endpoint="https://push.example/1", p256dh="k", auth="a"))

    db.session.add(Ticket(number="CMP-1", account_id=pune.id, category=TicketCategory.BILLING_DISPUTE,
                          subject="Bill too high", status=TicketStatus.RESOLVED, created_at=_at(date(2026, 11, 1)),
                          due_at=_at(date(2026, 11, 8)), resolved_at=_at(date(2026, 11, 3))))
    db.session.add(Ticket(number="CMP-2", account_id=nashik.id, category=TicketCategory.NO_SUPPLY,
                          subject="No power", created_at=_at(date(2026, 11, 2)), due_at=_at(date(2026, 11, 2), 10)))
    db.session.commit()
    refresh_recent_report_summaries.call_local()  # Sep, Oct, Nov (today is 18 Nov 2026)
    return {"pune": pune, "nashik": nashik}


PERIOD = MonthRange(SEP, NOV)


def _rows(report):
    return [tuple(row) for row in report.rows]


def test_collection_efficiency(known):
    assert _rows(figures.collection_efficiency(PERIOD, None)) == [
        (SEP, Decimal("1500.00"), Decimal("1300.00"), Decimal("86.7")),
        (OCT, Decimal("1200.00"), Decimal("0.00"), Decimal("0.0")),
        (NOV, Decimal(0), Decimal(0), None)]
    assert _rows(figures.collection_efficiency(PERIOD, ["Pune"]))[0] == (SEP, 1000, 1000, Decimal("100.0"))


def test_units_by_month_and_category(known):
    assert _rows(figures.units_by_category(PERIOD, None)) == [
        (SEP, RESIDENTIAL, 100, 1), (SEP, COMMERCIAL, 50, 1), (OCT, RESIDENTIAL, 120, 1)]


def test_channel_mix_counts_a_bounced_cheque_as_nothing(known):
    assert _rows(figures.channel_mix(PERIOD, None)) == [
        ("UPI", 1, 1000, Decimal("76.9")), ("Cash at the counter", 1, 300, Decimal("23.1")),
        ("Cheque", 0, 0, Decimal("0.0"))]


def test_on_time_payment_rate_by_due_month(known):
    assert _rows(figures.on_time_rate(PERIOD, None)) == [
        (SEP, 2, 1, Decimal("50.0")), (OCT, 1, 0, Decimal("0.0")), (NOV, 0, 0, None)]


def test_estimated_bill_share(known):
    assert _rows(figures.estimated_share(PERIOD, None)) == [
        (SEP, 2, 0, Decimal("0.0")), (OCT, 1, 1, Decimal("100.0")), (NOV, 0, 0, None)]


def test_arrears_ageing_bands(known):
    assert _rows(figures.arrears_ageing(None, date(2026, 11, 18))) == [
        ("0–30 days", 1, Decimal("1200.00")), ("31–60 days", 1, Decimal("200.00")),
        ("61–90 days", 0, 0), ("Over 90 days", 0, 0)]
    # A month later both have aged a band.
    assert [row[1] for row in figures.arrears_ageing(None, date(2026, 12, 18)).rows] == [0, 1, 1, 0]


def test_active_customers_per_month_and_day(known):
    assert _rows(figures.active_users(PERIOD, None))[2] == (NOV, 2, Decimal("0.1"), 2, Decimal("5.0"))
    assert _rows(figures.active_users(PERIOD, ["Pune"]))[2][1] == 1


def test_push_opt_in_per_region(known):
    assert _rows(figures.push_opt_in(["Nashik", "Pune"])) == [
        ("Nashik", 1, 0, Decimal("0.0")), ("Pune", 1, 1, Decimal("100.0"))]


def test_complaints_by_category_and_time_to_resolve(known):
    rows = {row[0]: row[1:] for row in figures.complaints(PERIOD, None).rows}
    assert rows["Billing dispute"] == (1, 1, Decimal("100.0"), Decimal("48.0"))
    assert rows["No supply (power cut at my premises)"] == (1, 0, None, None)
    pune = {row[0]: row[1] for row in figures.complaints(PERIOD, ["Pune"]).rows}
    assert pune["No supply (power cut at my premises)"] == 0


MONTHLY = [figures.collection_efficiency, figures.units_by_category, figures.channel_mix, figures.on_time_rate,
           figures.estimated_share]


@pytest.mark.parametrize("report", MONTHLY, ids=lambda r: r.__name__)
def test_summaries_equal_the_direct_computation_on_the_known_data(known, report):
    for regions in (None, ["Pune"], ["Nashik"]):
        assert report(PERIOD, regions).rows == report(PERIOD, regions, live=True).rows


def test_summaries_equal_the_direct_computation_on_random_data():
    rng = random.Random(12)
    tariff = factories.make_tariff()
    accounts = [factories.make_account(tariff, region=rng.choice(["Pune", "Nagpur", "Thane"]),
                                       category=rng.choice([RESIDENTIAL, COMMERCIAL])) for _ in range(25)]
    for account in accounts:
        for month in range(6, 12):
            issued = date(2026, month, rng.randint(1, 10))
            bill = _bill(account, f"2026-{month:02d}", issued, f"{rng.randint(100, 5000)}.{rng.randint(0, 99):02d}",
                         str(rng.randint(0, 900)), estimated=rng.random() < 0.2)
            if rng.random() < 0.8 and issued + timedelta(days=20) < date(2026, 11, 18):
                payment = _pay(account, str(bill.total_due if rng.random() < 0.7 else bill.total_due / 2),
                               rng.choice(list(PaymentMethod)), issued + timedelta(days=rng.randint(1, 25)))
                if payment.method == PaymentMethod.CHEQUE and rng.random() < 0.3:
                    _bounce(payment, issued + timedelta(days=27))
    db.session.commit()
    rebuild_report_summaries.call_local()
    period = MonthRange(date(2026, 5, 1), NOV)
    for report in MONTHLY:
        for regions in (None, ["Pune"], ["Thane", "Nagpur"]):
            assert report(period, regions).rows == report(period, regions, live=True).rows, report.__name__
    assert figures.collection_efficiency(period, None).rows[3][1] > 0  # the data set is not empty


def test_a_month_is_rebuilt_idempotently_and_never_holds_two_rows_for_the_same_figures(known):
    def stored():
        return (sorted(db.session.execute(select(MonthlyBilling.region, MonthlyBilling.category,
                                                 MonthlyBilling.billed).where(MonthlyBilling.month == SEP)).all()),
                db.session.scalar(select(func.count(MonthlyCollection.id))))

    before = stored()
    summaries.rebuild_month(SEP)
    summaries.rebuild_month(SEP)
    db.session.commit()
    assert stored() == before
    assert before[0] == [("Nashik", COMMERCIAL, Decimal("500.00")), ("Pune", RESIDENTIAL, Decimal("1000.00"))]
    db.session.add(MonthlyBilling(month=SEP, region="Pune", category=RESIDENTIAL))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_periodic_task_picks_up_a_new_payment_and_records_its_run(known):
    from app.taskqueue import PERIODIC_TASKS, TaskRun

    assert refresh_recent_report_summaries in PERIODIC_TASKS and rebuild_report_summaries in PERIODIC_TASKS
    _pay(known["pune"], "1200.00", PaymentMethod.GATEWAY, date(2026, 11, 10))
    db.session.commit()
    assert figures.collection_efficiency(PERIOD, None).rows[2][2] == 0  # not in the summaries yet
    db.session.commit()  # end this read: the task commits in a session of its own
    assert "rows rebuilt" in refresh_recent_report_summaries.call_local()
    assert figures.collection_efficiency(PERIOD, None).rows[2][2] == Decimal("1200.00")
    run = db.session.get(TaskRun, "refresh_recent_report_summaries")
    assert run.succeeded


def test_month_range_validation():
    today = date(2026, 11, 18)
    assert month_range("", "", today) == MonthRange(date(2025, 12, 1), NOV)
    assert month_range("2026-01", "2026-03", today).months == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    for first, last, code in (("2026-13", "", "from"), ("26-01", "", "from"), ("", "2026/10", "to"),
                              ("2026-10", "2026-09", "order"), ("2026-01", "2026-12", "future"),
                              ("2023-01", "2026-11", "long")):
        with pytest.raises(BadRange, match=code):
            month_range(first, last, today)


# --- pages ---------------------------------------------------------------------------------------------

SLUGS = ["collection", "units", "channels", "on-time", "arrears", "estimated", "active-users", "push", "complaints"]


def test_the_index_lists_every_report_and_loads_no_chart_script(client, login_as):
    login_as("support")
    page = client.get("/staff/reports").get_data(as_text=True)
    for slug in SLUGS:
        assert f'href="/staff/reports/{slug}"' in page
    assert "plotly" not in page.lower()


@pytest.mark.parametrize("slug", SLUGS)
def test_every_report_renders_its_table_and_loads_plotly_after_paint(client, login_as, known, slug):
    login_as("support")
    response = client.get(f"/staff/reports/{slug}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="report-data"' in page and 'class="data-table report-table stacked"' in page
    assert '<script src="/static/js/plotly' not in page  # reports.js loads it once the page has painted
    assert 'data-plotly="/static/js/plotly-basic-4.1.1.min.' in page
    assert f'href="/staff/reports/{slug}/csv' in page
    csv_response = client.get(f"/staff/reports/{slug}/csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"


def test_the_collection_page_shows_the_figures(client, login_as, known):
    login_as("admin")
    page = client.get("/staff/reports/collection?from=2026-09&to=2026-10").get_data(as_text=True)
    assert "₹1,500.00" in page and "₹1,300.00" in page and "86.7%" in page
    assert "Nov 2026" not in page.split("<table")[1]


def _csv(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_csv_holds_the_report_in_plain_values(client, login_as, known):
    login_as("admin")
    response = client.get("/staff/reports/collection/csv?from=2026-09&to=2026-10")
    assert 'filename="collection-all-2026-09-to-2026-10.csv"' in response.headers["Content-Disposition"]
    assert _csv(response) == [["Month", "Billed", "Collected", "Collection efficiency (%)"],
                              ["2026-09", "1500.00", "1300.00", "86.7"], ["2026-10", "1200.00", "0.00", "0.0"]]


def test_the_defaulters_csv_neutralises_formulas(client, login_as, known):
    login_as("admin")
    rows = _csv(client.get("/staff/reports/defaulters/31-60/csv"))
    assert rows[1][:4] == [known["nashik"].consumer_number, "'=HYPERLINK(\"x\")", "Nashik", "200.00"]
    assert rows[1][4:] == ["2026-09-20", "59"]


def test_office_staff_see_their_office_only(client, login_as, known):
    login_as("support", office="Pune")
    page = client.get("/staff/reports/collection?region=Nashik").get_data(as_text=True)
    assert "₹1,000.00" in page and "₹1,500.00" not in page  # the region asked for is not theirs: ignored
    assert '<select id="region"' not in page
    assert "No connection is in this band" in client.get("/staff/reports/defaulters/31-60").get_data(as_text=True)
    listed = client.get("/staff/reports/defaulters/0-30").get_data(as_text=True)
    assert known["pune"].consumer_number in listed and known["nashik"].consumer_number not in listed
    assert len(_csv(client.get("/staff/reports/defaulters/31-60/csv"))) == 1  # the header only
    assert _csv(client.get("/staff/reports/push/csv"))[1:] == [["Pune", "1", "1", "100.0"]]


def test_head_office_chooses_a_region(client, login_as, known):
    login_as("admin")
    page = client.get("/staff/reports/collection?region=Nashik&from=2026-09&to=2026-09").get_data(as_text=True)
    assert "₹500.00" in page and "₹1,500.00" not in page
    assert known["nashik"].consumer_number in client.get(
        "/staff/reports/defaulters/31-60?region=Nashik").get_data(as_text=True)
    assert known["nashik"].consumer_number not in client.get(
        "/staff/reports/defaulters/31-60?region=Pune").get_data(as_text=True)


@pytest.mark.parametrize(("query", "message"), [
    ("from=2026-13", "Give the first month as YYYY-MM"), ("to=2027-01", "cannot be after this month"),
    ("from=2026-10&to=2026-09", "must not be after the last"), ("from=2020-01&to=2026-11", "at most 36 months"),
    ("region=Atlantis", "There is no region Atlantis"),
])
def test_a_bad_filter_is_explained_in_place_and_kept(client, login_as, known, query, message):
    login_as("admin")
    response = client.get(f"/staff/reports/collection?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page
    assert query.split("=")[1].split("&")[0] in page  # what was typed is still in the form
    assert client.get(f"/staff/reports/collection/csv?{query}").status_code == 400


def test_unknown_reports_and_bands_are_not_found(client, login_as):
    login_as("support")
    assert client.get("/staff/reports/nonsense").status_code == 404
    assert client.get("/staff/reports/defaulters/12-20").status_code == 404
    assert client.get("/staff/reports/defaulters/0-30?page=9").status_code == 404


def test_customers_cannot_open_reports(client, login_as):
    login_as("customer")
    assert client.get("/staff/reports/collection").status_code == 403


def test_a_bill_not_yet_due_is_not_counted_late(known):
    _bill(known["pune"], "2026-11", date(2026, 11, 10), "900.00", "90")  # due 25 Nov; today is 18 Nov
    db.session.commit()
    summaries.rebuild_month(NOV)
    assert _rows(figures.on_time_rate(PERIOD, None))[2] == (NOV, 0, 0, None)
    assert figures.on_time_rate(PERIOD, None, live=True).rows[2] == (NOV, 0, 0, None)


def test_active_customers_before_the_kept_sign_ins_are_no_data_not_zero(app, client, login_as, known):
    """Sign-ins are kept 90 days (today 18 Nov 2026): July and August began before the oldest kept one."""
    rows = figures.active_users(MonthRange(date(2026, 7, 1), NOV), None).rows
    assert [row[1:] for row in rows[:2]] == [(None, None, None, None)] * 2
    assert rows[4][1] == 2  # November still counted
    login_as("admin")
    page = client.get("/staff/reports/active-users?from=2026-07&to=2026-11").get_data(as_text=True)
    assert "Sign-ins are kept for 90 days" in page
    july = '<th scope="row" class="text-left">Jul 2026</th><td data-label="Monthly active customers">—</td>'
    assert july in page.replace("\n", "")
    assert '"y": [null, null, ' in page  # a gap in the chart
    table = _csv(client.get("/staff/reports/active-users/csv?from=2026-07&to=2026-11"))
    assert table[1] == ["2026-07", "", "", "", ""] and table[5][1] == "2"
    kept = app.config["KEEP"]
    app.config["KEEP"] = {**kept, "sign_ins": timedelta(days=400)}
    try:
        assert "Sign-ins are kept for 400 days" in client.get("/staff/reports/active-users").get_data(as_text=True)
        assert figures.active_users(MonthRange(date(2026, 7, 1), NOV), None).rows[0][1] == 0
    finally:
        app.config["KEEP"] = kept


def test_arrears_with_more_debtors_than_one_statement_takes_parameters():
    """More connections in arrears than a PostgreSQL statement may carry parameters (65,535): the report reads the
    debtors' bills and connections a batch at a time, and finds every one of them. (PostgreSQL only: a site with
    that many debtors runs it, and SQLite's clean-up of 66,000 bills would take minutes.)"""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a utility with 66,000 connections in arrears runs PostgreSQL")
    n = 66_000
    version_id = import_tariff((BUNDLED_TARIFFS / "msedcl-lt1b-2024-25.json").read_text()).id
    for statement in (
            "INSERT INTO accounts (id, consumer_number, holder_name, address, region, category, sanctioned_load_kw, "
            "phase, billing_cycle, cycle_offset, subsidy_opted, bpl, paperless, status, connected_on, created_at) "
            "SELECT i, '88' || lpad(i::text, 10, '0'), 'Debtor', :address, 'Pune', 'LT-I(B) Residential', 3, "
            "'single', 'monthly', 0, false, false, false, 'active', '2015-01-01', :now FROM generate_series(1, :n) i",
            "INSERT INTO bills (id, number, account_id, cycle, period_start, period_end, revision, tariff_version_id, "
            "issued_on, due_date, units, estimated, carried_units, current_charges, previous_balance, payments_since, "
            "late_fee, total_due, created_at) SELECT i, 'B-' || i, i, '2026-09', '2026-08-01', '2026-08-31', 0, "
            ":version, '2026-09-05', '2026-09-20', 10, false, 0, 100, 0, 0, 0, 100, :now FROM generate_series(1, :n) i",
            "INSERT INTO ledger_entries (account_id, kind, amount, effective_on, bill_id, description, posted_at) "
            "SELECT i, 'bill', 100, '2026-09-05', i, 'Bill', :now FROM generate_series(1, :n) i"):
        db.session.execute(text(statement),
                           {"n": n, "version": version_id, "now": utcnow(), "address": encrypt("Pune")})
    db.session.commit()
    found = arrears.debtors(None, date(2026, 11, 18))
    assert len(found) == n and {d.band for d in found} == {"31-60"}
