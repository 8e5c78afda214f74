"""Demo data: a believable small utility. Idempotent: what exists (by its unique key) is left alone.

Every random choice comes from a generator seeded by the object's own number, so a connection looks
the same whether it is created on the first run or the fifth. Dates are laid out from the day of seeding
(DemoCalendar), so the demo tells the same story on any day of any month.
"""

import json
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.accounts.models import Account, AccountLink, AccountStatus, BillingCycle, LinkFactor, Phase
from app.auth import privacy
from app.auth.models import Role, User
from app.auth.services import register_user
from app.billing.compose import Cycle
from app.billing.ledger import post
from app.billing.models import Bill, LedgerKind, Tariff, TariffParam, TariffVersion
from app.billing.runs import run_bills
from app.billing.services import BUNDLED_TARIFFS, import_bundled_tariffs, import_tariff
from app.db import INDIA, today_in_india, utcnow
from app.extensions import db
from app.metering.models import Meter, Reading, ReadingSource, ReadingStatus
from app.payments.models import Payment, PaymentMethod, PaymentState
from app.reports import summaries

DEMO_METHODS = (PaymentMethod.UPI, PaymentMethod.UPI, PaymentMethod.GATEWAY, PaymentMethod.CASH)

DEMO_PASSWORD = "bijli-demo-2026"  # nosec B105  # demo logins only; the demo never runs in production
MONTHS_OF_READINGS = 24
CONNECTIONS_PER_REGION = 50


@dataclass(frozen=True)
class Region:
    name: str
    tariff_code: str
    cycle: BillingCycle
    prefix: str  # consumer numbers of the region start with it
    category: str
    localities: tuple[str, ...]


REGIONS = (
    Region("Pune", "MH-MSEDCL-LT1B", BillingCycle.MONTHLY, "1700", "LT-I(B) Residential",
           ("Kothrud", "Aundh", "Hadapsar", "Baner", "Shivajinagar")),
    Region("Kochi", "KL-KSEBL-LT1A", BillingCycle.BIMONTHLY, "1155", "LT-1A Domestic",
           ("Edappally", "Kakkanad", "Vyttila", "Fort Kochi", "Kaloor")),
    Region("Chennai", "TN-TNPDCL-LT1A", BillingCycle.BIMONTHLY, "0902", "LT-IA Domestic",
           ("Adyar", "T. Nagar", "Velachery", "Anna Nagar", "Mylapore")),
    Region("Delhi", "DL-DERC-DOMESTIC", BillingCycle.MONTHLY, "6001", "Domestic",
           ("Dwarka", "Rohini", "Lajpat Nagar", "Mayur Vihar", "Janakpuri")),
)

FIRST_NAMES = ("Aarav", "Ananya", "Vihaan", "Diya", "Arjun", "Meera", "Rohan", "Kavya", "Sai", "Ishita",
               "Rahul", "Priya", "Vikram", "Lakshmi", "Anil", "Fatima", "Joseph", "Gurpreet", "Suresh", "Deepa")
LAST_NAMES = ("Patil", "Nair", "Iyer", "Sharma", "Kulkarni", "Menon", "Krishnan", "Gupta", "Deshmukh",
              "Pillai", "Subramanian", "Verma", "Joshi", "Thomas", "Khan", "Singh", "Reddy", "Das")

# (name, login, role, office): no office is head office, which sees every region.
STAFF = (
    ("Anita Rao (admin)", "admin@demo.dtech.in", Role.ADMIN, None),
    ("Sunil Mehta (support)", "support@demo.dtech.in", Role.SUPPORT, None),
    ("Farah Khan (billing officer)", "billing@demo.dtech.in", Role.BILLING, None),
    ("Joseph Thomas (support, Kochi office)", "kochi@demo.dtech.in", Role.SUPPORT, "Kochi"),
)

# Demo customers and the connections (region, index within the region) each can see.
CUSTOMERS = (
    ("Asha Patil", "9876500001", "asha@demo.dtech.in", (("Pune", 0), ("Pune", 1), ("Kochi", 0))),
    ("Ravi Kumar", "9876500002", "ravi@demo.dtech.in", (("Delhi", 0), ("Chennai", 0))),
    ("Meena Iyer", "9876500003", None, (("Chennai", 1),)),
)

# Special meters that show what real data holds.
ROLLOVER = ("Pune", 3)  # a four-digit register that passes 9999 during the demo
REPLACED = ("Delhi", 7)  # a meter swapped for a new one ten months ago
# Connections whose latest bill the demo leaves unpaid: Asha's home (issued two days ago, so the prompt-payment
# rebate is on offer) and Ravi's Chennai flat (bimonthly, billed last month: past its due date, overdue).
REBATE_OPEN = ("Pune", 0)
OVERDUE = ("Chennai", 0)


@dataclass(frozen=True)
class DemoCalendar:
    """When the demo's meters are read and its bills issued, counted back from the day of seeding.

    The latest cycle is the month of the day 16 days ago; every month's readings are taken on the same seven
    days (from that day of the month, at most the 22nd, one day per connection) and its bills issued two days
    after the last of them, except the latest cycle's, which went out two days ago. So the latest readings are
    at least ten days old (a smart meter has reported daily since), and the latest bills are in their rebate
    window, whatever the date: the 1st of a month, the 31st or 29 February."""

    today: date

    @property
    def latest(self) -> Cycle:
        anchor = self.today - timedelta(days=16)
        return Cycle(anchor.year, anchor.month)

    @property
    def first_read_day(self) -> int:
        return min((self.today - timedelta(days=16)).day, 22)

    def read_on(self, cycle: Cycle, account: Account) -> date:
        return cycle.day(self.first_read_day + account.id % 7)

    def issued_on(self, cycle: Cycle) -> date:
        if cycle == self.latest:
            return self.today - timedelta(days=2)
        return cycle.day(self.first_read_day + 8)

    def bimonthly_offset(self, index: int) -> int:
        """Alternate connections are read in alternate months; the first of a region is not read in the latest
        cycle (so its latest bill is a month old)."""
        return (index + self.latest.month + 1) % 2


def consumer_number(region: Region, index: int) -> str:
    return f"{region.prefix}{index + 1:08d}"


def demo_mobile(region_index: int, index: int) -> str:
    return f"+9170{region_index:02d}{index + 1:06d}"


def seed(today: date | None = None) -> dict[str, int]:
    """Create whatever of the demo is missing. Returns counts of what was created."""
    calendar = DemoCalendar(today or today_in_india())
    versions_before = db.session.scalar(select(func.count(TariffVersion.id)))
    import_bundled_tariffs()
    created = {"tariff versions": db.session.scalar(select(func.count(TariffVersion.id))) - versions_before}
    created["staff"] = sum(_ensure_user(name, password=DEMO_PASSWORD, email=email, role=role, office=office)
                           for name, email, role, office in STAFF)
    tariffs = {t.code: t for t in db.session.scalars(select(Tariff))}
    created["connections"] = 0
    for region_index, region in enumerate(REGIONS):
        for index in range(CONNECTIONS_PER_REGION):
            created["connections"] += _ensure_connection(region_index, region, index, tariffs[region.tariff_code],
                                                         calendar)
    created["customers"] = sum(_ensure_customer(*customer) for customer in CUSTOMERS)
    created["tariff versions"] += _ensure_demo_tariff_continuations()
    _ensure_monthly_params(calendar)
    created["bills"], created["payments"] = _ensure_bills_and_payments(calendar)
    created["smart meter days"] = _ensure_smart_meter_days(calendar.today)
    # The reports' summaries for the demo's months at once (the periodic tasks keep them fresh from now on).
    created["report summary rows"] = summaries.rebuild_recent(MONTHS_OF_READINGS + 2, calendar.today)
    return created


def _ensure_demo_tariff_continuations() -> int:
    """The bundled real tariffs end in 2024-25; the demo carries each one's rates forward from the day after,
    marked as a demo continuation (not a published order), so 24 months of bills can be priced."""
    created = 0
    for path in sorted(BUNDLED_TARIFFS.glob("*.json")):
        document = json.loads(path.read_text())
        if not document.get("effective_to"):
            continue
        following = date.fromisoformat(document["effective_to"]) + timedelta(days=1)
        document.update(name=f"{document['name']} (demo continuation)", effective_from=following.isoformat(),
                        effective_to=None, payment_terms=DEMO_PAYMENT_TERMS,
                        sources=[f"DEMO ONLY: the rates of the order in force until {document['effective_to']} "
                                 "carried forward, with typical payment terms; not a published tariff"])
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        before = db.session.scalar(select(func.count(TariffVersion.id)))
        import_tariff(text)
        created += db.session.scalar(select(func.count(TariffVersion.id))) - before
    return created


# Typical Indian terms: 1% off within 7 days, 0.25% off for paying digitally, 1.25% a month on arrears.
DEMO_PAYMENT_TERMS = {"due_days": 15, "prompt_rebate": [{"within_days": 7, "percent": "1"}],
                      "digital_rebate": {"percent": "0.25", "cap": "500"},
                      "late_surcharge": {"percent_per_month": "1.25", "on": "arrears"}}

# Monthly parameters the demo's tariffs need (illustrative values, not published figures).
DEMO_MONTHLY_PARAMS = {"DL-DERC-DOMESTIC": {"ppac_percent": "8.75", "pension_percent": "3.80"},
                       "MH-MSEDCL-LT1B": {"fac_rate": "0.25"}}


def _ensure_monthly_params(calendar: DemoCalendar) -> None:
    tariffs = {t.code: t for t in db.session.scalars(select(Tariff))}
    existing = set(db.session.execute(select(TariffParam.tariff_id, TariffParam.month, TariffParam.name)).all())
    this_month = Cycle(calendar.today.year, calendar.today.month)
    for months_back in range(MONTHS_OF_READINGS + 2):
        month = this_month.shifted(-months_back).first_day
        for code, values in DEMO_MONTHLY_PARAMS.items():
            for name, value in values.items():
                if (tariffs[code].id, month, name) not in existing:
                    db.session.add(TariffParam(tariff_id=tariffs[code].id, month=month, name=name,
                                               value=Decimal(value)))
    db.session.flush()


def _ensure_bills_and_payments(calendar: DemoCalendar) -> tuple[int, int]:
    """A bill run for each of the last 24 cycles, and after each the customers' payments: most pay on time,
    some pay part, some pay late and a few not at all."""
    bills = payments = 0
    for months_back in range(MONTHS_OF_READINGS - 1, -1, -1):
        cycle = calendar.latest.shifted(-months_back)
        bills += run_bills(cycle, issued_on=calendar.issued_on(cycle)).billed
        payments += _pay_demo_bills(cycle, calendar)
        db.session.commit()
    return bills, payments


def _left_unpaid(calendar: DemoCalendar) -> set[tuple[str, str]]:
    """(consumer number, cycle) of the bills the demo leaves unpaid on purpose."""
    regions = {r.name: r for r in REGIONS}
    return {(consumer_number(regions[REBATE_OPEN[0]], REBATE_OPEN[1]), str(calendar.latest)),
            (consumer_number(regions[OVERDUE[0]], OVERDUE[1]), str(calendar.latest.shifted(-1)))}


def _pay_demo_bills(cycle: Cycle, calendar: DemoCalendar) -> int:
    today = calendar.today
    paid = 0
    bills = db.session.scalars(select(Bill).where(Bill.cycle == str(cycle), Bill.revision == 0)).all()
    already = set(db.session.scalars(select(Payment.reference).where(Payment.reference.like("DEMO%"))))
    unpaid = _left_unpaid(calendar)
    numbers = dict(db.session.execute(select(Account.id, Account.consumer_number)
                                      .where(Account.id.in_({bill.account_id for bill in bills}))).all())
    for bill in bills:
        reference = f"DEMO{bill.id:010d}"
        rng = random.Random(reference)  # nosec B311  # seeded: the same demo data each time, no secret
        habit = rng.random()
        if (numbers[bill.account_id], bill.cycle) in unpaid:
            continue
        if any(number == numbers[bill.account_id] for number, _cycle in unpaid):
            habit = max(habit, 0.3)  # until then these two paid in full and on time: their story stays plain
        if bill.total_due <= 0 or reference in already or habit < 0.06:  # in credit, done, or never pays
            continue
        if habit < 0.16:
            amount, day = (bill.total_due * Decimal("0.5")).quantize(Decimal("1")), bill.due_date  # pays half
        elif habit < 0.28:
            amount, day = bill.total_due, bill.due_date + timedelta(days=rng.randint(5, 20))  # pays late
        else:
            amount, day = bill.total_due, bill.issued_on + timedelta(days=rng.randint(1, 14))
        if day > today:
            continue
        paid_at = min(datetime.combine(day, time(10, 30), tzinfo=INDIA), utcnow())  # today: not later than now
        payment = Payment(account_id=bill.account_id, amount=amount, method=rng.choice(list(DEMO_METHODS)),
                          state=PaymentState.CAPTURED, reference=reference, receipt_number=f"RC{bill.id:010d}",
                          created_at=paid_at, updated_at=paid_at, captured_at=paid_at)
        db.session.add(payment)
        db.session.flush()
        post(bill.account_id, LedgerKind.PAYMENT, -amount, day, f"Payment {payment.receipt_number}",
             payment_id=payment.id)
        paid += 1
    return paid


SMART_METER = ("Pune", 0)  # Asha's home: a smart meter reports every day since the last bill's reading


def _ensure_smart_meter_days(today: date) -> int:
    """Daily reads since the last reading of the smart-metered connection up to yesterday: daily use on its
    usage page and a projection of this period's bill (with a slab warning) on its dashboard."""
    regions = {r.name: r for r in REGIONS}
    number = consumer_number(regions[SMART_METER[0]], SMART_METER[1])
    meter = db.session.scalar(select(Meter).join(Account).where(Account.consumer_number == number,
                                                                Meter.removed_on.is_(None)))
    last = db.session.scalar(select(Reading).where(Reading.meter_id == meter.id)
                             .order_by(Reading.read_on.desc()).limit(1))
    rng = random.Random(f"smart-{number}")  # nosec B311  # seeded demo readings, no secret
    value, day, added = last.value, last.read_on + timedelta(days=1), 0
    while day < today:
        value += Decimal(str(round(rng.uniform(8.4, 9.8), 1)))  # heading for just under 300 units: a slab warning
        db.session.add(_reading(meter, day, value, ReadingSource.SMART))
        day += timedelta(days=1)
        added += 1
    db.session.flush()
    return added


def _ensure_user(name: str, password: str, email: str | None = None, mobile: str | None = None,
                 role: Role = Role.CUSTOMER, office: str | None = None) -> int:
    query = select(User).where(User.email == email) if email else select(User).where(User.mobile == f"+91{mobile}")
    if db.session.scalar(query):
        return 0
    user = register_user(name, password, mobile=mobile, email=email, role=role)
    user.office = office
    user.verified_at = utcnow()  # demo people sign in at once, with no code to type
    if role is Role.CUSTOMER:
        privacy.record_consent(user)  # as if they had ticked the box when they signed up
    return 1


def _ensure_customer(name: str, mobile: str, email: str | None, connections) -> int:
    created = _ensure_user(name, DEMO_PASSWORD, email=email, mobile=mobile)
    user = db.session.scalar(select(User).where(User.mobile == f"+91{mobile}"))
    regions = {r.name: r for r in REGIONS}
    for region_name, index in connections:
        number = consumer_number(regions[region_name], index)
        account = db.session.scalar(select(Account).where(Account.consumer_number == number))
        linked = db.session.scalar(select(AccountLink).where(AccountLink.user_id == user.id,
                                                             AccountLink.account_id == account.id))
        if not linked:
            db.session.add(AccountLink(user_id=user.id, account_id=account.id, linked_by=LinkFactor.STAFF))
    db.session.flush()
    return created


def _ensure_connection(region_index: int, region: Region, index: int, tariff: Tariff, calendar: DemoCalendar) -> int:
    number = consumer_number(region, index)
    if db.session.scalar(select(Account.id).where(Account.consumer_number == number)):
        return 0
    rng = random.Random(number)  # nosec B311  # seeded demo connections, no secret
    load = Decimal(rng.choice(["1", "2", "3", "3", "4", "5", "7.5"]))
    account = Account(
        consumer_number=number,
        holder_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        address=f"{rng.randint(1, 250)}, {rng.choice(('Shanti', 'Ganga', 'Lotus', 'Sai'))} "
                f"{rng.choice(('Apartments', 'Nagar', 'Residency', 'Colony'))}, "
                f"{rng.choice(region.localities)}, {region.name}",
        region=region.name,
        category=region.category,
        tariff_id=tariff.id,
        sanctioned_load_kw=load,
        phase=Phase.THREE if load > 5 else Phase.SINGLE,
        billing_cycle=region.cycle,
        cycle_offset=calendar.bimonthly_offset(index) if region.cycle is BillingCycle.BIMONTHLY else 0,
        registered_mobile=demo_mobile(region_index, index),
        subsidy_opted=rng.random() < 0.6,
        bpl=rng.random() < 0.05,
        paperless=rng.random() < 0.3,
        status=AccountStatus.ACTIVE,
        connected_on=calendar.today - timedelta(days=365 * rng.randint(3, 15)),
    )
    db.session.add(account)
    db.session.flush()
    _add_meters_and_readings(account, (region.name, index), rng, calendar)
    return 1


def _read_dates(account: Account, calendar: DemoCalendar) -> list[date]:
    """Reading days over the 24 months up to the latest cycle: monthly, or every other month for bimonthly
    connections (in the months their cycle is due)."""
    cycles = (calendar.latest.shifted(-back) for back in range(MONTHS_OF_READINGS, -1, -1))
    return [calendar.read_on(cycle, account) for cycle in cycles
            if account.billing_cycle is BillingCycle.MONTHLY or cycle.month % 2 == account.cycle_offset]


def _monthly_use(rng: random.Random, base: float, read_on: date) -> Decimal:
    """Units used in the month before `read_on`: a base, a summer peak (April–June), some noise."""
    summer = 1 + 0.45 * max(0.0, math.cos((read_on.month - 5) / 12 * 2 * math.pi))
    return Decimal(str(round(base * summer * rng.uniform(0.85, 1.15), 1)))


def _add_meters_and_readings(account: Account, key: tuple[str, int], rng: random.Random,
                             calendar: DemoCalendar) -> None:
    dates = _read_dates(account, calendar)
    digits = 4 if key == ROLLOVER else 5
    start = Decimal("9100") if key == ROLLOVER else Decimal(rng.randint(1000, 40000))
    meter = Meter(account_id=account.id, serial=f"M{account.consumer_number}", digits=digits,
                  installed_on=dates[0] - timedelta(days=400))
    db.session.add(meter)
    db.session.flush()
    base = rng.uniform(60, 380)
    months_per_read = 1 if account.billing_cycle is BillingCycle.MONTHLY else 2
    replace_on = dates[-10] if key == REPLACED else None
    value = start
    readings = [_reading(meter, dates[0], value, ReadingSource.METER_READER)]
    for read_on in dates[1:]:
        used = sum((_monthly_use(rng, base, read_on) for _ in range(months_per_read)), Decimal(0))
        if read_on == replace_on:
            meter, value = _replace_meter(account, meter, value + used, read_on, readings)
            continue
        value += used
        rolled = value >= meter.rollover_at
        if rolled:
            value -= meter.rollover_at
        estimated = rng.random() < 0.04
        source = ReadingSource.ESTIMATED if estimated else ReadingSource.METER_READER
        readings.append(_reading(meter, read_on, value, source, rollover=rolled))
    db.session.add_all(readings)


def _replace_meter(account, old: Meter, final: Decimal, on: date, readings: list) -> tuple[Meter, Decimal]:
    """The old meter's final reading and, the same day, the new meter's first reading at zero."""
    readings.append(_reading(old, on, final, ReadingSource.METER_READER))
    old.removed_on = on
    new = Meter(account_id=account.id, serial=f"N{account.consumer_number}", digits=6, installed_on=on)
    db.session.add(new)
    db.session.flush()
    readings.append(_reading(new, on, Decimal("0"), ReadingSource.METER_READER))
    return new, Decimal("0")


def _reading(meter: Meter, read_on: date, value: Decimal, source: ReadingSource, rollover: bool = False) -> Reading:
    return Reading(meter_id=meter.id, read_on=read_on, value=value.quantize(Decimal("0.001")), source=source,
                   status=ReadingStatus.ACCEPTED, rollover=rollover)


def demo_logins() -> list[tuple[str, str, str]]:
    """(who, login, password) for the README and `make run`."""
    logins = [(name.partition(" (")[2].rstrip(")"), email, DEMO_PASSWORD) for name, email, _role, _office in STAFF]
    logins += [(f"customer {name}", mobile, DEMO_PASSWORD) for name, mobile, _email, _c in CUSTOMERS]
    return logins
