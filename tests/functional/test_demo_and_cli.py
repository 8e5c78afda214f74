from datetime import timedelta

from sqlalchemy import func, select

from app.accounts.models import Account, AccountLink, BillingCycle
from app.auth.models import PasswordResetToken, Role, ThrottleCounter, User
from app.billing.models import TariffVersion
from app.db import utcnow
from app.extensions import db
from app.metering.models import Meter, Reading, ReadingSource


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_seed_builds_a_believable_utility_and_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "200 connections" in first.output and "9876500001" in first.output
    snapshot = {m.__name__: count(m) for m in (Account, Meter, Reading, User, AccountLink, TariffVersion)}

    # Two years of history are not news: only bills still current are announced (review: 106 items, 106 SMS).
    from app.notifications.models import Notification, NotificationKind

    announced = db.session.scalars(select(Notification).where(Notification.kind == NotificationKind.BILL_ISSUED))
    assert len(announced.all()) <= 8  # at most the latest bills of the 3 demo customers' connections

    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0 and "0 connections" in second.output
    assert {m.__name__: count(m) for m in (Account, Meter, Reading, User, AccountLink, TariffVersion)} == snapshot

    assert snapshot["Account"] == 200 and snapshot["TariffVersion"] == 7  # 4 real, 3 demo continuations
    assert count(Account, Account.billing_cycle == BillingCycle.MONTHLY) == 100
    assert count(Account, Account.billing_cycle == BillingCycle.BIMONTHLY) == 100
    assert len(db.session.scalars(select(Account.region).distinct()).all()) == 4
    assert count(Reading, Reading.source == ReadingSource.ESTIMATED) > 20
    assert count(Reading, Reading.rollover.is_(True)) == 1
    assert count(Meter, Meter.removed_on.is_not(None)) == 1
    assert snapshot["Meter"] == 201
    span = db.session.execute(select(func.min(Reading.read_on), func.max(Reading.read_on))).one()
    assert (span[1] - span[0]).days >= 700  # 24 months of readings
    roles = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    assert roles == {Role.ADMIN: 1, Role.SUPPORT: 2, Role.BILLING: 1, Role.CUSTOMER: 3}
    assert db.session.scalar(select(User.office).where(User.email == "kochi@demo.dtech.in")) == "Kochi"
    asha = db.session.scalar(select(User).where(User.mobile == "+919876500001"))
    assert count(AccountLink, AccountLink.user_id == asha.id) == 3

    # The reports have the demo's months at once, not only the three the periodic task keeps fresh
    from app.reports.models import MonthlyBilling

    assert len(db.session.scalars(select(MonthlyBilling.month).distinct()).all()) >= 24


def test_demo_has_24_months_of_bills_and_a_mix_of_payers(app):
    from app.billing.ledger import balances
    from app.billing.models import Bill, LedgerEntry, LedgerKind

    app.test_cli_runner().invoke(args=["demo", "seed"])
    cycles = db.session.scalars(select(Bill.cycle).distinct()).all()
    assert len(cycles) == 24
    assert count(Bill, Bill.estimated.is_(True)) > 20
    assert count(LedgerEntry, LedgerEntry.kind == LedgerKind.LATE_FEE) > 10
    owed = balances(db.session.scalars(select(Account.id)).all())
    paid_up = sum(1 for balance in owed.values() if balance <= 0)
    owing = sum(1 for balance in owed.values() if balance > 0)
    assert paid_up > 50 and owing > 20
    # Every bill's total is the ledger's story: arrears before it plus its own charges.
    for bill in db.session.scalars(select(Bill).limit(200)):
        assert bill.total_due == bill.previous_balance - bill.payments_since + bill.current_charges + bill.late_fee


def test_demo_logins_work(app, client):
    app.test_cli_runner().invoke(args=["demo", "seed"])
    response = client.post("/login", data={"login": "9876500001", "password": "bijli-demo-2026"})
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Amount due" in page or "Nothing to pay" in page or "in credit" in page
    for number in ("170000000001", "170000000002", "115500000001"):  # her home, her shop, her parents' house
        assert number in page


def test_demo_seed_if_empty_leaves_a_used_database_alone(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["demo", "seed"])
    result = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert "skipped" in result.output


def test_demo_seed_is_refused_where_demo_data_is_not_allowed(app):
    app.config["DEMO_DATA_ALLOWED"] = False
    try:
        result = app.test_cli_runner().invoke(args=["demo", "seed"])
    finally:
        app.config["DEMO_DATA_ALLOWED"] = True
    assert result.exit_code != 0 and "refused" in result.output
    assert count(Account) == 0


def test_create_admin(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create-admin", "--name", "Chief", "--email", "chief@example.com",
                                 "--password", "a-strong-admin-pass"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User.role).where(User.email == "chief@example.com")) is Role.ADMIN
    client.post("/login", data={"login": "chief@example.com", "password": "a-strong-admin-pass"})
    assert client.get("/styleguide").status_code == 200

    weak = runner.invoke(args=["users", "create-admin", "--name", "X", "--email", "x@example.com",
                               "--password", "password1"])
    assert weak.exit_code != 0 and "too common" in weak.output
    twice = runner.invoke(args=["users", "create-admin", "--name", "Chief", "--email", "chief@example.com",
                                "--password", "a-strong-admin-pass"])
    assert twice.exit_code != 0 and "already registered" in twice.output

    office = runner.invoke(args=["users", "create-admin", "--name", "Kochi desk", "--email", "desk@example.com",
                                 "--password", "a-strong-desk-pass", "--role", "billing", "--office", "Kochi"])
    assert office.exit_code == 0, office.output
    desk = db.session.scalar(select(User).where(User.email == "desk@example.com"))
    assert (desk.role, desk.office) == (Role.BILLING, "Kochi")


def test_jobs_prune_old_security_records(app):
    from tests import factories

    user = factories.make_user()
    old, fresh = utcnow() - timedelta(days=2), utcnow()
    db.session.add_all([
        ThrottleCounter(scope="login", key_hash="a" * 64, count=3, window_start=old),
        ThrottleCounter(scope="login", key_hash="b" * 64, count=3, window_start=fresh),
        PasswordResetToken(user_id=user.id, token_hash="c" * 64, expires_at=old),
        PasswordResetToken(user_id=user.id, token_hash="d" * 64, expires_at=fresh + timedelta(minutes=30)),
    ])
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["jobs", "run"])
    assert result.exit_code == 0
    assert db.session.scalars(select(ThrottleCounter.key_hash)).all() == ["b" * 64]
    assert db.session.scalars(select(PasswordResetToken.token_hash)).all() == ["d" * 64]


def test_no_demo_payment_is_later_than_now_even_seeded_at_dawn(app, clock):
    from datetime import UTC, datetime

    from app.db import utcnow
    from app.payments.models import Payment

    clock.move_to(datetime(2026, 11, 20, 0, 30, tzinfo=UTC), tick=False)  # 06:00 in India, before the 10:30 ones
    assert app.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0
    assert db.session.scalar(select(func.max(Payment.captured_at))) <= utcnow()
