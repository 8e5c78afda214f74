"""The scale benchmark's data (bench/scale_seed.py), built by PostgreSQL with INSERT … SELECT: its money adds up the
way the app's own would (bills, lines, ledger, payments, balances, arrears), the indexes and constraints dropped
for the load are all back, and the app bills the region's pending cycle from it without an error."""

from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from app.accounts.models import Account
from app.billing.models import Bill
from app.billing.runs import run_bills
from app.db import today_in_india, utcnow
from app.extensions import db
from app.payments.models import Payment
from app.reports import arrears
from bench.scale_seed import RUN_REGION, Seeder

N = 60  # six of every region's connections, a few of them in arrears (6%)


def constraints_and_indexes() -> Counter:
    return Counter(db.session.execute(text(
        "SELECT c.contype FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE n.nspname = current_schema() "
        "UNION ALL SELECT 'i' FROM pg_indexes WHERE schemaname = current_schema()")).scalars())


def seeded() -> Seeder:
    before = constraints_and_indexes()
    db.session.commit()
    seeder = Seeder(db.engine, N, utcnow(), lambda line: None)
    tariff_ids = seeder.tariffs()
    schema = seeder.deferred_schema()
    seeder.helpers(tariff_ids)
    seeder.load("not-a-password-hash")
    seeder.restore(schema)
    seeder.finish()
    assert constraints_and_indexes() == before  # every index, unique and foreign key is back
    return seeder


@pytest.fixture
def postgres(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the scale seed is PostgreSQL's INSERT … SELECT generate_series")


def test_the_seeds_money_adds_up(postgres):
    seeded()
    assert db.session.scalar(select(func.count(Account.id))) == N
    # A bill's total is its previous balance and its charges; its lines add up to its charges.
    assert db.session.scalar(text(
        "SELECT count(*) FROM bills b WHERE b.total_due != b.previous_balance + b.current_charges "
        "OR b.current_charges != (SELECT sum(amount) FROM bill_lines l WHERE l.bill_id = b.id)")) == 0
    # Each connection owes what its latest bill says (payers: nothing), and no payment is after now.
    owed = dict(db.session.execute(text(
        "SELECT a.id, coalesce((SELECT sum(amount) FROM ledger_entries e WHERE e.account_id = a.id), 0) "
        "FROM accounts a")).all())
    latest = {row[0]: row[1:] for row in db.session.execute(text(
        "SELECT DISTINCT ON (account_id) account_id, total_due, "
        "EXISTS (SELECT 1 FROM payments p WHERE p.id = b.id) FROM bills b ORDER BY account_id, cycle DESC"))}
    for account_id, (total_due, paid) in latest.items():
        assert owed[account_id] == (Decimal(0) if paid else total_due), account_id
    debtors = {a for a, amount in owed.items() if amount > 0}
    assert debtors and len(debtors) < N / 4
    assert not db.session.scalar(select(func.count()).select_from(Payment).where(Payment.captured_at > utcnow()))
    # The arrears report finds the debtors (those whose oldest unpaid bill is past its due date).
    found = {d.account_id for d in arrears.debtors(None, today_in_india())}
    assert found and found <= debtors


def test_the_app_bills_the_pending_cycle_of_the_seeded_region(postgres):
    seeder = seeded()
    summary = run_bills(seeder.calendar.latest, RUN_REGION, issued_on=today_in_india())
    in_region = db.session.scalar(select(func.count(Account.id)).where(Account.region == RUN_REGION))
    assert (summary.billed, summary.errors) == (in_region, {})
    # The new bills start where the seeded ones ended and carry the debtors' balances forward.
    new = db.session.scalars(select(Bill).where(Bill.cycle == str(seeder.calendar.latest))).all()
    for bill in new:
        previous = db.session.scalar(select(Bill).where(Bill.account_id == bill.account_id, Bill.id != bill.id)
                                     .order_by(Bill.cycle.desc()).limit(1))
        assert bill.opening_reading_id == previous.closing_reading_id
        assert bill.period_start > previous.period_end
