"""Bill-run benchmark: how close does a real bill run come to the database's raw bulk-insert speed?

    python bench/bill_run.py [--accounts 20000] [--database-url URL] [--workers 2]

Builds N connections with readings in a database of its own (a temporary SQLite file, or a `dtech_bench`
database on the PostgreSQL server of --database-url / DATABASE_URL), times `run_bills` for one cycle, then in
the same process times a plain bulk INSERT of the same number of bill and bill-line rows. Prints bills per
second for both and the ratio run/raw (1.0 would mean billing costs nothing beyond writing the rows).

On PostgreSQL it then bills the same cycle again as a chunked run: the chunk tasks (CHUNK_SIZE connections each)
taken from one queue by --workers threads, each with its own session, as several Huey consumers would; it checks
the bills are the same (count, units, amount) and prints the chunked run's speed against the single run's.
"""

import argparse
import queue
import sys
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, insert, select  # noqa: E402

from app.accounts.models import Account  # noqa: E402
from app.audit.models import AuditLog  # noqa: E402
from app.billing.compose import Cycle  # noqa: E402
from app.billing.models import (  # noqa: E402
    Bill,
    BillLine,
    BillRun,
    BillRunChunk,
    BillRunError,
    LedgerEntry,
    TariffVersion,
)
from app.billing.runs import plan_chunks, run_bills, run_result, start_run  # noqa: E402
from app.billing.services import BUNDLED_TARIFFS, import_tariff  # noqa: E402
from app.billing.tasks import bill_run_chunk  # noqa: E402
from app.db import utcnow  # noqa: E402
from app.extensions import db  # noqa: E402
from app.metering.models import Meter, Reading  # noqa: E402
from bench.common import bench_app, database_arguments  # noqa: E402

CYCLE = Cycle(2024, 11)
ISSUED = date(2024, 11, 12)


def build(n: int) -> int:
    """N connections on the MSEDCL tariff, each with a meter and two readings a month apart."""
    tariff_id = import_tariff((BUNDLED_TARIFFS / "msedcl-lt1b-2024-25.json").read_text()).tariff_id
    db.session.execute(insert(Account.__table__), [
        {"consumer_number": f"BN{i:010d}", "holder_name": f"Bench {i}", "address": "Bench Nagar", "region": "Pune",
         "category": "LT-I(B)", "tariff_id": tariff_id, "sanctioned_load_kw": Decimal("3"), "phase": "single",
         "billing_cycle": "monthly", "cycle_offset": 0, "subsidy_opted": False, "bpl": False, "paperless": False,
         "status": "active", "connected_on": date(2015, 1, 1), "created_at": utcnow()} for i in range(n)])
    ids = db.session.scalars(select(Account.id).order_by(Account.id)).all()
    db.session.execute(insert(Meter.__table__), [
        {"account_id": a, "serial": f"BM{a:010d}", "digits": 6, "multiplying_factor": Decimal(1),
         "installed_on": date(2015, 1, 1)} for a in ids])
    meters = db.session.execute(select(Meter.id, Meter.account_id)).all()
    rows = []
    for meter_id, account_id in meters:
        opening = Decimal(1000 + account_id % 5000)
        # 20.0 to 919.9 kWh in tenths, as digital meters show: a spread like a city's homes and shops, with
        # ~9,000 distinct values, so the per-run quote memo gets only the repeats a real cycle would give.
        used = Decimal(200 + (account_id * 7919) % 9000) / 10
        for day, value in ((date(2024, 10, 5), opening), (date(2024, 11, 5), opening + used)):
            rows.append({"meter_id": meter_id, "read_on": day, "value": value, "source": "meter_reader",
                         "status": "accepted", "rollover": False, "created_at": utcnow()})
    db.session.execute(insert(Reading.__table__), rows)
    db.session.commit()
    return len(ids)


def raw_insert(n: int, lines_per_bill: int) -> float:
    """The same number of bill and line rows as the run wrote, inserted plainly in the same chunk size."""
    version_id = db.session.scalar(select(TariffVersion.id))
    account_ids = db.session.scalars(select(Account.id).order_by(Account.id)).all()
    started = time.perf_counter()
    for start in range(0, n, 500):
        chunk = account_ids[start:start + 500]
        bills = [{"number": f"RAW-{a}", "account_id": a, "cycle": "2099-01", "period_start": date(2099, 1, 1),
                  "period_end": date(2099, 1, 31), "revision": 0, "tariff_version_id": version_id,
                  "issued_on": ISSUED, "due_date": ISSUED, "units": Decimal("100"), "estimated": False,
                  "carried_units": Decimal(0), "current_charges": Decimal("100.00"),
                  "previous_balance": Decimal("0.00"), "payments_since": Decimal("0.00"),
                  "late_fee": Decimal("0.00"), "total_due": Decimal("100.00"), "created_at": utcnow()}
                 for a in chunk]
        ids = db.session.execute(insert(Bill.__table__).returning(Bill.__table__.c.id), bills).scalars().all()
        db.session.execute(insert(BillLine.__table__), [
            {"bill_id": b, "position": p, "code": "energy", "label": "Energy", "amount": Decimal("20.00"),
             "details": []} for b in ids for p in range(1, lines_per_bill + 1)])
        db.session.commit()
    return time.perf_counter() - started


def forget_bills() -> None:
    for model in (LedgerEntry, BillLine, Bill, BillRunError, BillRunChunk, AuditLog, BillRun):
        db.session.execute(delete(model))
    db.session.commit()


def billed() -> tuple:
    """What the bills say, whichever run wrote them: how many, their units and their charges."""
    return db.session.execute(select(db.func.count(Bill.id), db.func.sum(Bill.units),
                                     db.func.sum(Bill.current_charges))).one()


def chunked_run(app, workers: int) -> float:
    """The cycle billed as chunk tasks that `workers` threads take from one queue (own app context and session
    each, as Huey consumers have). Returns the seconds from the run's start to its last chunk."""
    started = time.perf_counter()
    run = start_run(CYCLE, issued_on=ISSUED)
    db.session.commit()
    run_id = run.id
    chunks = plan_chunks(run_id)
    db.session.commit()
    tasks: queue.Queue = queue.Queue()
    for seq in range(chunks):
        tasks.put(seq)
    failures: list[BaseException] = []

    def consumer() -> None:
        while True:
            try:
                seq = tasks.get_nowait()
            except queue.Empty:
                return
            try:
                with app.app_context():
                    bill_run_chunk.call_local(run_id, seq)
            except BaseException as error:  # noqa: BLE001 - reported after the run
                failures.append(error)

    threads = [threading.Thread(target=consumer) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    assert not failures, failures
    run = db.session.get(BillRun, run_id)
    assert run.status.value == "finished", run.status
    assert run_result(run).bills == run.total
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20_000)
    database_arguments(parser, "dtech_bench")
    parser.add_argument("--workers", type=int, default=2, help="consumers of a chunked run (PostgreSQL)")
    args = parser.parse_args()

    app = bench_app(args)
    with app.app_context():
        db.drop_all()
        db.create_all()
        dialect = db.engine.dialect.name
        n = build(args.accounts)

        started = time.perf_counter()
        summary = run_bills(CYCLE, issued_on=ISSUED)
        run_seconds = time.perf_counter() - started
        assert summary.billed == n and not summary.errors, summary.errors
        lines = db.session.scalar(select(db.func.count(BillLine.id)))
        lines_per_bill = round(lines / n)

        single = billed()
        raw_seconds = raw_insert(n, lines_per_bill)
        forget_bills()
        chunked_seconds = None
        if dialect == "postgresql":
            chunked_seconds = chunked_run(app, args.workers)
            assert billed() == single, (billed(), single)  # the same bills, whoever wrote them
            forget_bills()

    run_rate, raw_rate = n / run_seconds, n / raw_seconds
    print(f"database: {dialect}; {n} bills, {lines_per_bill} lines each")
    print(f"bill run:   {run_seconds:7.2f} s  {run_rate:9.0f} bills/s")
    print(f"raw insert: {raw_seconds:7.2f} s  {raw_rate:9.0f} bills/s")
    print(f"ratio run/raw: {run_rate / raw_rate:.2f}")
    if chunked_seconds is not None:
        chunked_rate = n / chunked_seconds
        print(f"chunked run ({args.workers} workers): {chunked_seconds:7.2f} s  {chunked_rate:9.0f} bills/s")
        print(f"ratio chunked/single: {chunked_rate / run_rate:.2f}")


if __name__ == "__main__":
    main()
