"""Reports benchmark: how much faster is a report read from the summary tables than computed from bills and the
ledger?

    python bench/reports.py [--accounts 1000] [--database-url URL]

Builds N connections (six regions, three tariff categories) with twelve monthly bills each and a payment for
most bills (through four channels, some late), in a database of its own (a temporary SQLite file, or a
`dtech_bench_reports` database on the PostgreSQL server of --database-url / DATABASE_URL). Rebuilds the summaries
as the nightly task does (timed), then in the same run times the five summary-backed reports over the twelve
months read from the summaries and computed directly, checks they agree, and prints the ratio direct/summary.
"""

import argparse
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text  # noqa: E402

from app.accounts.models import Account  # noqa: E402
from app.billing.models import Bill, LedgerEntry  # noqa: E402
from app.billing.services import BUNDLED_TARIFFS, import_tariff  # noqa: E402
from app.db import today_in_india, utcnow  # noqa: E402
from app.extensions import db  # noqa: E402
from app.payments.models import Payment  # noqa: E402
from app.reports import figures, summaries  # noqa: E402
from app.reports.months import MonthRange, first_of, shifted  # noqa: E402
from bench.common import bench_app, database_arguments  # noqa: E402

REGIONS = ("Pune", "Nagpur", "Nashik", "Thane", "Kochi", "Delhi")
CATEGORIES = ("LT-I(B) Residential", "LT-II Commercial", "LT-IV Agricultural")
CHANNELS = ("upi", "gateway", "cash", "cheque")
CHUNK = 2000
REPORTS = (figures.collection_efficiency, figures.units_by_category, figures.channel_mix, figures.on_time_rate,
           figures.estimated_share)


def _insert(table, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(table), rows[start:start + CHUNK])


def build(n: int, months: list[date]) -> int:
    """N connections, a bill a month each, and a payment for most bills; returns the number of bills."""
    version_id = import_tariff((BUNDLED_TARIFFS / "msedcl-lt1b-2024-25.json").read_text()).id
    _insert(Account.__table__, [
        {"consumer_number": f"RB{i:010d}", "holder_name": f"Bench {i}", "address": "Bench Nagar",
         "region": REGIONS[i % len(REGIONS)], "category": CATEGORIES[i % len(CATEGORIES)],
         "sanctioned_load_kw": Decimal("3"), "phase": "single", "billing_cycle": "monthly", "cycle_offset": 0,
         "subsidy_opted": False, "bpl": False, "paperless": False, "status": "active",
         "connected_on": date(2015, 1, 1), "created_at": utcnow()} for i in range(n)])
    account_ids = db.session.scalars(select(Account.id).order_by(Account.id)).all()
    bills, entries, payments = [], [], []
    for month in months:
        issued = month + timedelta(days=4)
        for a in account_ids:
            amount = Decimal(300 + (a * 7919 + month.month * 104729) % 4000) + Decimal("0.50")
            bills.append({"number": f"RB-{month:%Y%m}-{a}", "account_id": a, "cycle": f"{month:%Y-%m}",
                          "period_start": shifted(month, -1), "period_end": month, "revision": 0,
                          "tariff_version_id": version_id, "issued_on": issued, "due_date": issued + timedelta(15),
                          "units": (amount / 8).quantize(Decimal("0.001")),
                          "estimated": (a + month.month) % 17 == 0,
                          "carried_units": Decimal(0), "current_charges": amount, "previous_balance": Decimal(0),
                          "payments_since": Decimal(0), "late_fee": Decimal(0), "total_due": amount,
                          "created_at": utcnow()})
            habit = (a * 31 + month.month) % 20
            if habit < 17:  # most pay; a few late
                payments.append({"account_id": a, "amount": amount, "method": CHANNELS[habit % 4], "state": "captured",
                                 "reference": f"RBP{month:%Y%m}{a}", "refunded_amount": Decimal(0),
                                 "created_at": utcnow(), "updated_at": utcnow(),
                                 "_day": issued + timedelta(days=3 if habit < 14 else 25)})
    _insert(Bill.__table__, bills)
    bill_ids = db.session.execute(select(Bill.id, Bill.account_id, Bill.total_due, Bill.issued_on)).all()
    entries = [{"account_id": a, "kind": "bill", "amount": total, "effective_on": issued, "bill_id": b,
                "payment_id": None, "description": "Bill", "posted_at": utcnow()} for b, a, total, issued in bill_ids]
    days = {p["reference"]: p.pop("_day") for p in payments}
    _insert(Payment.__table__, payments)
    for pid, a, amount, reference in db.session.execute(
            select(Payment.id, Payment.account_id, Payment.amount, Payment.reference)):
        entries.append({"account_id": a, "kind": "payment", "amount": -amount, "effective_on": days[reference],
                        "bill_id": None, "payment_id": pid, "description": "Payment", "posted_at": utcnow()})
    _insert(LedgerEntry.__table__, entries)
    db.session.commit()
    return len(bills)


def timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1000)
    database_arguments(parser, "dtech_bench_reports")
    args = parser.parse_args()

    app = bench_app(args)
    with app.app_context():
        db.drop_all()
        db.create_all()
        dialect = db.engine.dialect.name
        last = shifted(first_of(today_in_india()), -1)
        period = MonthRange(shifted(last, -11), last)
        build_seconds, bills = timed(lambda: build(args.accounts, period.months))
        if dialect == "postgresql":  # statistics, as autovacuum keeps them: without, the planner guesses badly
            db.session.execute(text("ANALYZE"))
            db.session.commit()

        rebuild_seconds, _rows = timed(lambda: [summaries.rebuild_month(m) for m in period.months])
        db.session.commit()
        summary_seconds = direct_seconds = 0.0
        for report in REPORTS:
            for regions in (None, ["Pune"]):
                seconds, from_summaries = timed(lambda: report(period, regions))  # noqa: B023
                summary_seconds += seconds
                seconds, direct = timed(lambda: report(period, regions, live=True))  # noqa: B023
                direct_seconds += seconds
                assert from_summaries.rows == direct.rows, report.__name__
        db.session.remove()  # end the reading transaction: PostgreSQL's DROP TABLE would wait for it
        db.drop_all()

    reads = len(REPORTS) * 2
    print(f"database: {dialect}; {args.accounts} connections, {bills} bills over 12 months")
    print(f"data built: {build_seconds:7.2f} s")
    print(f"summaries rebuilt (12 months): {rebuild_seconds:7.2f} s")
    print(f"report from summaries: {summary_seconds / reads * 1000:9.1f} ms each ({reads} reads, same figures)")
    print(f"report computed direct: {direct_seconds / reads * 1000:8.1f} ms each")
    print(f"ratio direct/summaries: {direct_seconds / summary_seconds:.1f}")


if __name__ == "__main__":
    main()
