"""Factories: each makes one valid object with sensible defaults, flushed so it has an id."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app

from app.accounts.models import Account, AccountLink, BillingCycle, LinkFactor, Phase
from app.auth.models import PrivacyConsent, Role, User
from app.auth.passwords import hash_password
from app.billing.models import Bill, BillLine, LedgerEntry, LedgerKind, Tariff, TariffVersion
from app.billing.services import BUNDLED_TARIFFS, import_tariff
from app.db import utcnow
from app.extensions import db
from app.metering.models import Meter, Reading, ReadingSource, ReadingStatus

PASSWORD = "correct-horse-battery"
_sequence = itertools.count(1)


def _next() -> int:
    return next(_sequence)


def make_user(role: str | Role = Role.CUSTOMER, password: str = PASSWORD, consented: bool = True,
              **fields) -> User:
    """A user; a customer has accepted the current privacy notice unless `consented` is False."""
    n = _next()
    fields.setdefault("name", f"Test User {n}")
    if "mobile" not in fields and "email" not in fields:
        fields["mobile"] = f"+9198{n:08d}"
    fields.setdefault("verified_at", utcnow())  # a user who confirmed their contact; verified_at=None if not
    user = User(role=Role(role), password_hash=hash_password(password), **fields)
    db.session.add(user)
    db.session.flush()
    if consented and not user.is_staff:
        db.session.add(PrivacyConsent(user_id=user.id, version=current_app.config["PRIVACY_NOTICE_VERSION"]))
        db.session.flush()
    return user


def make_tariff(file_name: str = "msedcl-lt1b-2024-25.json") -> Tariff:
    version = import_tariff((BUNDLED_TARIFFS / file_name).read_text())
    return db.session.get(Tariff, version.tariff_id)


def make_account(tariff: Tariff | None = None, **fields) -> Account:
    n = _next()
    defaults = dict(
        consumer_number=f"9900{n:08d}", holder_name=f"Holder {n}", address=f"{n}, Test Nagar, Pune",
        region="Pune", category="LT-I(B) Residential", tariff_id=tariff.id if tariff else None,
        sanctioned_load_kw=Decimal("3"), phase=Phase.SINGLE, billing_cycle=BillingCycle.MONTHLY,
        registered_mobile=f"+9197{n:08d}", connected_on=date(2015, 1, 1),
    )
    account = Account(**{**defaults, **fields})
    db.session.add(account)
    db.session.flush()
    return account


def link(user: User, account: Account, factor: LinkFactor = LinkFactor.STAFF) -> AccountLink:
    account_link = AccountLink(user_id=user.id, account_id=account.id, linked_by=factor)
    db.session.add(account_link)
    db.session.flush()
    return account_link


def make_meter(account: Account, **fields) -> Meter:
    defaults = dict(serial=f"MTR{_next():08d}", digits=5, installed_on=date(2020, 1, 1))
    meter = Meter(account_id=account.id, **{**defaults, **fields})
    db.session.add(meter)
    db.session.flush()
    return meter


def make_reading(meter: Meter, read_on: date, value, **fields) -> Reading:
    defaults = dict(source=ReadingSource.METER_READER, status=ReadingStatus.ACCEPTED)
    reading = Reading(meter_id=meter.id, read_on=read_on, value=Decimal(value), **{**defaults, **fields})
    db.session.add(reading)
    db.session.flush()
    return reading


def make_bill(account: Account, total_due, period_start: date = date(2026, 10, 1), **fields) -> Bill:
    """An issued bill with one energy line and its ledger entry."""
    version = db.session.query(TariffVersion).filter_by(tariff_id=account.tariff_id).first()
    total = Decimal(total_due)
    defaults = dict(
        number=f"TB{_next():08d}", period_end=period_start + timedelta(days=30), tariff_version_id=version.id,
        issued_on=period_start + timedelta(days=31), due_date=period_start + timedelta(days=46),
        units=Decimal("100"), current_charges=total, previous_balance=Decimal("0"),
        payments_since=Decimal("0"), late_fee=Decimal("0"), total_due=total,
    )
    defaults["cycle"] = f"{defaults['period_end']:%Y-%m}"
    bill = Bill(account_id=account.id, period_start=period_start, **{**defaults, **fields})
    db.session.add(bill)
    db.session.flush()
    db.session.add(BillLine(bill_id=bill.id, position=1, code="energy", label="Energy charges", amount=total))
    db.session.add(LedgerEntry(account_id=account.id, kind=LedgerKind.BILL, amount=total,
                               effective_on=bill.issued_on, bill_id=bill.id, description=f"Bill {bill.number}"))
    db.session.flush()
    return bill


def make_read_connection(tariff: Tariff | None, opening="1000", closing="1221", **fields) -> Account:
    """A connection with a meter read on 5 Oct 2024 and (unless closing is None) on 5 Nov 2024:
    221 units over 31 days, the format document's own example for MSEDCL."""
    account = make_account(tariff=tariff, **fields)
    meter = make_meter(account)
    make_reading(meter, date(2024, 10, 5), opening)
    if closing is not None:
        make_reading(meter, date(2024, 11, 5), closing)
    return account


def staff_cli_args(role: str = "admin") -> list[str]:
    """`--by … --password …` for a CLI command done as staff (a staff member made for it, committed)."""
    from app.extensions import db as _db

    user = make_user(role=role, email=f"staff{_next()}@example.com")
    _db.session.commit()
    return ["--by", user.email, "--password", PASSWORD]
