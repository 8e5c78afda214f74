"""The scale benchmark's data: N connections with 26 months of readings and 24 of bills, built by PostgreSQL itself.

Every big table is filled by one `INSERT … SELECT` over `generate_series` (no rows travel from Python: COPY from
a Python generator would still format, send and parse every value, and on this 2-core machine the client would
compete with the server for a core). Each value is a function of the row's numbers, so the data is the same on
every run and the money adds up without a pass over the rows:

- a meter's reading in month k is start + base × cum10[k] / 10 (cum10: the months' use, summer higher), so a
  bill's units, and the unpaid charges that make a debtor's previous balance, are differences of two readings;
- rows get their ids from their owner's id (bill = (account − 1) × 25 + k, its ledger entries 2 × bill − 1 and
  2 × bill, its payment = bill), so no insert needs another table's ids back; the sequences are set at the end.

Shaped like the demo (app/demo/seed.py): its tariffs (the bundled ones and their demo continuations, with the
monthly parameters), its regions and categories (ten regions now, on the same four tariffs: a region is 10% of the
connections, so the bill run of one region bills 100,000 of a million), staff who sign in, customers linked to one
connection in seven (some to two) with sign-ins, push subscriptions and inbox items, and complaints. 6% of the
connections stopped paying one to six bills ago (every arrears band has debtors); most others pay within two weeks,
a tenth after the due date.

The indexes and constraints the schema defines (create_all: what the migrations define, tests/functional/
test_migrations.py) are dropped before the load and built again after it, which is several times faster than
keeping them up to date row by row; foreign keys come back NOT VALID and are then validated (timed apart).
"""

import threading
import time
from collections.abc import Callable
from datetime import datetime

from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.billing.compose import Cycle
from app.billing.services import find_version, import_bundled_tariffs
from app.crypto import encrypt
from app.db import INDIA
from app.demo.seed import (
    DEMO_PASSWORD,
    FIRST_NAMES,
    LAST_NAMES,
    DemoCalendar,
    _ensure_demo_tariff_continuations,
    _ensure_monthly_params,
)
from app.extensions import db

# (name, tariff code, months per bill, consumer-number prefix, category, energy rate ₹/kWh, fixed charge ₹/month)
REGIONS = (
    ("Pune", "MH-MSEDCL-LT1B", 1, "1700", "LT-I(B) Residential", "7.5", "128"),
    ("Kochi", "KL-KSEBL-LT1A", 2, "1155", "LT-1A Domestic", "6.4", "70"),
    ("Chennai", "TN-TNPDCL-LT1A", 2, "0902", "LT-IA Domestic", "4.8", "50"),
    ("Delhi", "DL-DERC-DOMESTIC", 1, "6001", "Domestic", "6.5", "40"),
    ("Nagpur", "MH-MSEDCL-LT1B", 1, "1710", "LT-I(B) Residential", "7.5", "128"),
    ("Thiruvananthapuram", "KL-KSEBL-LT1A", 2, "1160", "LT-1A Domestic", "6.4", "70"),
    ("Madurai", "TN-TNPDCL-LT1A", 2, "0910", "LT-IA Domestic", "4.8", "50"),
    ("Nashik", "MH-MSEDCL-LT1B", 1, "1720", "LT-I(B) Residential", "7.5", "128"),
    ("Coimbatore", "TN-TNPDCL-LT1A", 2, "0920", "LT-IA Domestic", "4.8", "50"),
    ("Aurangabad", "MH-MSEDCL-LT1B", 1, "1730", "LT-I(B) Residential", "7.5", "128"),
)
RUN_REGION = "Pune"  # its latest cycle is read but not billed: the benchmark's bill run bills it
MONTHS = 26  # k = 0 … 25: readings in every month (bimonthly: every other); bills for k = 1 … 24
SUMMER = {1: 0, 2: 0, 3: 2, 4: 5, 5: 6, 6: 4, 7: 2, 8: 1, 9: 1, 10: 2, 11: 1, 12: 0}  # tenths above the base
BULK_TABLES = ("accounts", "meters", "readings", "bills", "bill_lines", "ledger_entries", "payments", "users",
               "account_links", "sign_ins", "push_subscriptions", "tickets", "ticket_messages", "notifications")
HELPERS = ("scale_facts", "scale_months", "scale_regions", "scale_versions")
PASSWORD = DEMO_PASSWORD


def months(calendar: DemoCalendar) -> list[dict]:
    """k, its cycle, the base reading day, the issue day of its bills, and cum10 (tenths of a base month used
    from month 0 to month k)."""
    rows, cum10 = [], 0
    for k in range(MONTHS):
        cycle = calendar.latest.shifted(k - (MONTHS - 1))
        cum10 += (10 + SUMMER[cycle.month]) if k else 0
        rows.append({"k": k, "cycle": str(cycle), "yymm": f"{cycle.year % 100:02d}{cycle.month:02d}",
                     "month": cycle.month, "read_base": cycle.day(calendar.first_read_day),
                     "issued": cycle.day(calendar.first_read_day + 8), "cum10": cum10})
    return rows


class Seeder:
    """Runs the seed's statements, two at a time where they do not depend on each other (two cores), and keeps
    how long each step took."""

    def __init__(self, engine: Engine, n: int, now: datetime, log: Callable[[str], None]):
        """`now`: the moment the history ends (timestamps and payments are before it; the calendar is its day)."""
        self.engine, self.n, self.now, self.log = engine, n, now, log
        self.calendar = DemoCalendar(now.astimezone(INDIA).date())
        self.steps: list[tuple[str, float]] = []
        self.params: dict = {}  # bound in every statement that names them (:hash)

    def sql(self, statement: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(text("SET LOCAL synchronous_commit = off"))
            connection.execute(text("SET LOCAL work_mem = '256MB'"))
            connection.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
            connection.execute(text(statement), self.params)

    def step(self, name: str, *statements: str) -> None:
        started = time.perf_counter()
        for statement in statements:
            self.sql(statement)
        seconds = time.perf_counter() - started
        self.steps.append((name, seconds))
        self.log(f"  {name}: {seconds:.1f} s")

    def parallel(self, *lanes: list[tuple[str, list[str]]]) -> None:
        """Each lane's steps in order, the lanes at once (one connection each)."""
        failures: list[BaseException] = []

        def run(lane):
            try:
                for name, statements in lane:
                    self.step(name, *statements)
            except BaseException as error:  # noqa: BLE001 - raised below, in the caller's thread
                failures.append(error)

        threads = [threading.Thread(target=run, args=(lane,)) for lane in lanes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]

    # --- the app's own rows: tariffs, staff --------------------------------------------------------------------

    def tariffs(self) -> dict[str, int]:
        """The bundled tariffs, the demo's continuations and monthly parameters, through the app's services."""
        import_bundled_tariffs()
        _ensure_demo_tariff_continuations()
        _ensure_monthly_params(self.calendar)
        db.session.commit()
        from app.billing.models import Tariff
        ids = {t.code: t.id for t in db.session.scalars(db.select(Tariff))}
        db.session.commit()  # no transaction left open: the DDL below would wait for its locks
        return ids

    def helpers(self, tariff_ids: dict[str, int]) -> None:
        """Small tables the big inserts join: months, regions, the tariff version in force per tariff and month,
        and one row of facts per connection (UNLOGGED: scratch, dropped at the end)."""
        month_rows = months(self.calendar)
        with self.engine.begin() as connection:
            for name in HELPERS:
                connection.execute(text(f"DROP TABLE IF EXISTS {name}"))
            connection.execute(text(
                "CREATE UNLOGGED TABLE scale_months (k int PRIMARY KEY, cycle text, yymm text, month int, "
                "read_base date, issued date, cum10 int)"))
            connection.execute(text(
                "INSERT INTO scale_months VALUES (:k, :cycle, :yymm, :month, :read_base, :issued, :cum10)"),
                month_rows)
            connection.execute(text(
                "CREATE UNLOGGED TABLE scale_regions (r int PRIMARY KEY, name text, tariff_id int, step int, "
                "prefix text, category text, rate numeric, fixed numeric)"))
            connection.execute(text(
                "INSERT INTO scale_regions VALUES (:r, :name, :tariff_id, :step, :prefix, :category, :rate, "
                ":fixed)"),
                [{"r": r, "name": name, "tariff_id": tariff_ids[code], "step": step, "prefix": prefix,
                  "category": category, "rate": rate, "fixed": fixed}
                 for r, (name, code, step, prefix, category, rate, fixed) in enumerate(REGIONS)])
            connection.execute(text("CREATE UNLOGGED TABLE scale_versions (tariff_id int, k int, version_id int, "
                                    "PRIMARY KEY (tariff_id, k))"))
            versions = []
            for code, tariff_id in tariff_ids.items():
                for row in month_rows:
                    version = find_version(code, Cycle.parse(row["cycle"]).last_day)
                    if version is not None:
                        versions.append({"tariff_id": tariff_id, "k": row["k"], "version_id": version.id})
            connection.execute(text("INSERT INTO scale_versions VALUES (:tariff_id, :k, :version_id)"), versions)
        last_k = {parity: max(row["k"] for row in month_rows[:MONTHS - 1] if row["month"] % 2 == parity)
                  for parity in (0, 1)}
        cum10 = {row["k"]: row["cum10"] for row in month_rows}
        # One row per connection: its region, use, first reading, and for debtors the first bill left unpaid.
        self.step("facts (one row per connection)", f"""
            CREATE UNLOGGED TABLE scale_facts AS
            SELECT a AS id, r.r, r.step, r.tariff_id, r.rate, r.fixed, r.prefix,
                   CASE WHEN r.step = 2 THEN a % 2 ELSE 0 END AS cycle_offset,
                   (60 + (a::bigint * 7919) % 300)::int AS base, (1000 + (a::bigint * 104729) % 40000)::int AS start,
                   CASE WHEN (a::bigint * 2654435761) % 1000 < 60 THEN 1 + a % 6 ELSE 0 END AS unpaid
            FROM generate_series(1, {self.n}) a JOIN scale_regions r ON r.r = (a - 1) % 10""",
                  """ALTER TABLE scale_facts ADD COLUMN last_k int, ADD COLUMN stop_k int, ADD COLUMN stop_cum10 int,
                  ADD COLUMN stop_cycle text""",
                  f"""UPDATE scale_facts SET last_k = CASE WHEN step = 1 THEN {MONTHS - 2}
                      WHEN cycle_offset = 0 THEN {last_k[0]} ELSE {last_k[1]} END""",
                  """UPDATE scale_facts SET stop_k = CASE WHEN unpaid = 0 THEN 99 ELSE last_k - step * (unpaid - 1)
                      END""",
                  """UPDATE scale_facts f SET stop_cum10 = m.cum10, stop_cycle = s.cycle
                      FROM scale_months m, scale_months s WHERE f.unpaid > 0 AND m.k = f.stop_k - f.step
                      AND s.k = f.stop_k""",
                  "UPDATE scale_facts SET stop_cycle = '9999-99' WHERE unpaid = 0",
                  "ALTER TABLE scale_facts ADD PRIMARY KEY (id)")
        assert all(cum10[k] >= 0 for k in cum10)

    # --- the bulk rows -----------------------------------------------------------------------------------------

    def load(self, password_hash: str) -> None:
        # Addresses are encrypted at rest (app/crypto): one token, made with the current key, stands for every row's.
        self.params = {"hash": password_hash, "now": self.now, "address": encrypt("Shanti Nagar"),
                       "privacy": current_app.config["PRIVACY_NOTICE_VERSION"]}
        first = "(ARRAY[" + ",".join(f"'{name}'" for name in FIRST_NAMES) + "])"
        last = "(ARRAY[" + ",".join(f"'{name}'" for name in LAST_NAMES) + "])"
        holder = f"{first}[1 + (f.id * 7) % {len(FIRST_NAMES)}] || ' ' || {last}[1 + (f.id * 11) % {len(LAST_NAMES)}]"
        now = "CAST(:now AS timestamptz)"
        people = [
            ("accounts", [f"""
                INSERT INTO accounts (id, consumer_number, holder_name, address, region, category, tariff_id,
                    sanctioned_load_kw, phase, billing_cycle, cycle_offset, registered_mobile, subsidy_opted, bpl,
                    paperless, status, connected_on, created_at)
                SELECT f.id, f.prefix || lpad(f.id::text, 8, '0'), {holder}, :address, r.name, r.category, f.tariff_id,
                    (ARRAY[1, 2, 3, 3, 4, 5, 7.5])[1 + f.id % 7], CASE WHEN f.id % 7 = 6 THEN 'three' ELSE 'single' END,
                    CASE WHEN f.step = 2 THEN 'bimonthly' ELSE 'monthly' END, f.cycle_offset,
                    CASE WHEN f.id % 5 = 4 THEN NULL ELSE '+91' || (7000000000 + f.id)::text END,
                    f.id % 10 < 6, f.id % 20 = 0, f.id % 10 >= 7, 'active',
                    date '2012-01-01' + (f.id % 3000), {now}
                FROM scale_facts f JOIN scale_regions r ON r.r = f.r"""]),
            ("meters", ["""
                INSERT INTO meters (id, account_id, serial, digits, multiplying_factor, installed_on)
                SELECT f.id, f.id, 'M' || f.prefix || lpad(f.id::text, 8, '0'), 6, 1, date '2023-06-01'
                FROM scale_facts f"""]),
            ("users (a customer for one connection in seven)", [f"""
                INSERT INTO users (id, name, mobile, password_hash, role, locale, active, session_version,
                    created_at, verified_at)
                SELECT f.id, {holder}, '+91' || (8000000000 + f.id)::text, :hash, 'customer',
                    CASE WHEN f.id % 5 = 0 THEN 'hi_IN' ELSE 'en_IN' END, true, 1, {now} - interval '400 days',
                    {now} - interval '400 days'
                FROM scale_facts f WHERE f.id % 7 = 1"""]),
            ("privacy consents (every customer accepted the current notice at sign-up)", [f"""
                INSERT INTO privacy_consents (user_id, version, accepted_at)
                SELECT f.id, :privacy, {now} - interval '400 days' FROM scale_facts f WHERE f.id % 7 = 1"""]),
            ("account links (one in three customers has two connections)", [f"""
                INSERT INTO account_links (id, user_id, account_id, linked_by, created_at)
                SELECT f.id, f.id, f.id, 'mobile', {now} - interval '400 days' FROM scale_facts f WHERE f.id % 7 = 1
                UNION ALL
                SELECT {self.n} + f.id, f.id, f.id + 1, 'mobile', {now} - interval '300 days'
                FROM scale_facts f WHERE f.id % 21 = 1 AND f.id < {self.n}"""]),
            ("sign-ins (90 days)", [f"""
                INSERT INTO sign_ins (id, user_id, created_at, network, device)
                SELECT f.id * 3 + g, f.id,
                    {now} - make_interval(days => (f.id * 13 + g * 29) % 88, mins => (f.id * 7 + g) % 1440),
                    '203.0.' || (f.id % 250) || '.0/24', (ARRAY['Chrome on Android','Safari on iOS'])[1 + g % 2]
                FROM scale_facts f CROSS JOIN generate_series(0, 2) g WHERE f.id % 7 = 1 AND f.id % 3 != 0"""]),
            ("push subscriptions", [f"""
                INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, user_agent, created_at)
                SELECT f.id, f.id, 'https://fcm.googleapis.com/fcm/send/scale-bench-' || f.id,
                    'B' || md5(f.id::text) || md5('k' || f.id), substr(md5('a' || f.id), 1, 22), 'Chrome on Android',
                    {now} - interval '100 days'
                FROM scale_facts f WHERE f.id % 7 = 1 AND f.id % 10 < 3"""]),
            ("complaints", [f"""
                INSERT INTO tickets (id, number, user_id, account_id, category, subject, status, assigned_to_id,
                    created_at, updated_at, due_at, resolved_at)
                SELECT f.id, 'CMP-S-' || f.id, CASE WHEN f.id % 7 = 1 THEN f.id END, f.id,
                    (ARRAY['no_supply','voltage','meter_fault','billing_dispute','new_connection',
                           'other'])[1 + f.id % 6],
                    'Complaint about connection ' || f.id,
                    (ARRAY['resolved','resolved','closed','resolved','open','in_progress','resolved','closed',
                           'resolved','open'])[1 + (f.id / 50) % 10], NULL,
                    t.created, t.created, t.created + interval '48 hours',
                    CASE WHEN (ARRAY[1,1,1,1,0,0,1,1,1,0])[1 + (f.id / 50) % 10] = 1
                         THEN t.created + make_interval(hours => 1 + f.id % 96) END
                FROM scale_facts f,
                     LATERAL (SELECT {now} - make_interval(days => f.id % 700, hours => f.id % 24) AS created) t
                WHERE f.id % 50 = 7""",
                """INSERT INTO ticket_messages (id, ticket_id, author_id, body, internal, created_at)
                SELECT id, id, user_id, subject || ': please look into it.', false, created_at FROM tickets"""]),
        ]
        readings = [("readings", ["""
            INSERT INTO readings (id, meter_id, read_on, value, source, status, rollover, created_at)
            SELECT (f.id - 1) * 26 + m.k + 1, f.id, m.read_base + f.id % 7,
                f.start + f.base * m.cum10 / 10.0, 'meter_reader', 'accepted', false,
                (m.read_base + f.id % 7)::timestamp AT TIME ZONE 'Asia/Kolkata' + interval '11 hours'
            FROM scale_facts f JOIN scale_months m ON f.step = 1 OR m.month % 2 = f.cycle_offset"""])]
        # A bill's period starts the day after the reading that opened it; a debtor's previous balance is the
        # charges of its unpaid bills before this one (their units: a difference of two readings).
        bills = [("bills", [f"""
            INSERT INTO bills (id, number, account_id, cycle, period_start, period_end, revision, tariff_version_id,
                issued_on, due_date, units, estimated, carried_units, opening_reading_id, closing_reading_id,
                current_charges, previous_balance, payments_since, late_fee, total_due, created_at)
            SELECT b.id, 'B' || b.yymm || '-' || f.prefix || lpad(f.id::text, 8, '0'), f.id, b.cycle,
                b.opening_on + 1, b.closing_on, 0, b.version_id, b.issued, b.issued + 15, b.units,
                (f.id * 31 + b.k) % 25 = 0 AND b.k <= 20, 0, (f.id - 1) * 26 + b.k - f.step + 1,
                (f.id - 1) * 26 + b.k + 1, b.charges, b.previous, 0, 0, b.charges + b.previous,
                b.issued::timestamp AT TIME ZONE 'Asia/Kolkata' + interval '6 hours'
            FROM scale_facts f
            JOIN LATERAL (
                SELECT (f.id - 1) * 25 + m.k AS id, m.k, m.cycle, m.yymm, m.issued, v.version_id,
                    p.read_base + f.id % 7 AS opening_on, m.read_base + f.id % 7 AS closing_on,
                    f.base * (m.cum10 - p.cum10) / 10.0 AS units,
                    f.rate * f.base * (m.cum10 - p.cum10) / 10.0 + f.fixed * f.step AS charges,
                    CASE WHEN m.k > f.stop_k
                         THEN f.rate * f.base * (p.cum10 - f.stop_cum10) / 10.0 + f.fixed * (m.k - f.stop_k)
                         ELSE 0 END AS previous
                FROM scale_months m
                JOIN scale_months p ON p.k = m.k - f.step
                JOIN scale_versions v ON v.tariff_id = f.tariff_id AND v.k = m.k
                WHERE m.k BETWEEN 1 AND {MONTHS - 2} AND (f.step = 1 OR m.month % 2 = f.cycle_offset)
            ) b ON true"""])]
        self.parallel(people + readings, bills)
        posted = "b.issued_on::timestamp AT TIME ZONE 'Asia/Kolkata' + interval '6 hours'"
        lines = [("bill lines (fixed and energy)", ["""
            INSERT INTO bill_lines (id, bill_id, position, code, label, amount, details)
            SELECT b.id * 2 - 2 + p.position, b.id, p.position, p.code, p.label,
                CASE WHEN p.position = 1 THEN f.fixed * f.step ELSE b.current_charges - f.fixed * f.step END,
                '[]'::json
            FROM bills b JOIN scale_facts f ON f.id = b.account_id
            CROSS JOIN (VALUES (1, 'fixed', 'Fixed charge'), (2, 'energy', 'Energy charge')) p(position, code, label)
            """]),
                 ("ledger entries of bills", [f"""
            INSERT INTO ledger_entries (id, account_id, kind, amount, effective_on, posted_at, bill_id, description)
            SELECT b.id * 2 - 1, b.account_id, 'bill', b.current_charges, b.issued_on, {posted}, b.id,
                'Bill ' || b.number
            FROM bills b"""])]
        # Paid within two weeks of issue, or (one bill in ten) up to ten days after the due date; debtors paid
        # nothing from their first unpaid bill on; nothing is paid after today.
        payments = [("payments", ["""
            INSERT INTO payments (id, account_id, user_id, amount, method, state, reference, receipt_number,
                refunded_amount, received_amount, created_at, updated_at, captured_at)
            SELECT p.id, p.account_id, CASE WHEN p.account_id % 7 = 1 AND p.method IN ('upi', 'gateway')
                                            THEN p.account_id END,
                p.amount, p.method, 'captured', 'SCL' || p.id, 'RS' || p.id, 0, p.amount, p.at, p.at, p.at
            FROM (
                SELECT b.id, b.account_id, b.total_due AS amount,
                    (ARRAY['upi','upi','gateway','cash','cheque'])[1 + b.id % 5] AS method,
                    (CASE WHEN b.id * 37 % 100 < 10 THEN b.due_date + 1 + b.id % 10 ELSE b.issued_on + 1 + b.id % 14
                     END)::timestamp AT TIME ZONE 'Asia/Kolkata' + make_interval(hours => 8 + b.id % 12) AS at
                FROM bills b JOIN scale_facts f ON f.id = b.account_id WHERE b.cycle < f.stop_cycle
            ) p WHERE p.at <= CAST(:now AS timestamptz)"""]),
                    ("ledger entries of payments", ["""
            INSERT INTO ledger_entries (id, account_id, kind, amount, effective_on, posted_at, payment_id, description)
            SELECT p.id * 2, p.account_id, 'payment', -p.amount, (p.captured_at AT TIME ZONE 'Asia/Kolkata')::date,
                p.captured_at, p.id, 'Payment ' || p.receipt_number
            FROM payments p"""])]
        self.parallel(lines, payments)
        # Inbox: each customer's last six bills announced (the latest unread).
        self.step("notifications", f"""
            INSERT INTO notifications (id, user_id, account_id, kind, title, body, url, dedupe_key, urgency,
                created_at, read_at)
            SELECT b.id, l.user_id, b.account_id, 'bill_issued', 'Your bill for ' || to_char(b.period_end, 'Mon YYYY')
                || ' is ready', '₹' || b.total_due || ' for connection ending ' || right(a.consumer_number, 4)
                || ', due on ' || to_char(b.due_date, 'DD Mon YYYY') || '.', '/bills/' || b.id,
                'bill:' || b.id || ':' || l.user_id, 'normal', {posted},
                CASE WHEN b.cycle < (SELECT cycle FROM scale_months WHERE k = {MONTHS - 2}) THEN {posted}
                     + interval '1 day' END
            FROM account_links l JOIN accounts a ON a.id = l.account_id
            JOIN bills b ON b.account_id = l.account_id
                AND b.cycle >= (SELECT cycle FROM scale_months WHERE k = {MONTHS - 8})
            WHERE l.id = l.account_id""")

    # --- indexes and constraints -------------------------------------------------------------------------------

    def deferred_schema(self) -> dict[str, list[str]]:
        """The bulk tables' foreign keys, unique constraints and indexes (not primary keys) as DDL to make them
        again; dropped here."""
        tables = ", ".join(f"'{t}'" for t in BULK_TABLES)
        with self.engine.begin() as connection:
            foreign = connection.execute(text(f"""
                SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
                WHERE contype = 'f' AND (conrelid::regclass::text IN ({tables})
                                         OR confrelid::regclass::text IN ({tables}))""")).all()
            unique = connection.execute(text(f"""
                SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
                WHERE contype = 'u' AND conrelid::regclass::text IN ({tables})""")).all()
            indexes = connection.execute(text(f"""
                SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
                WHERE i.indrelid::regclass::text IN ({tables})
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""")).all()
            for table, name, _definition in foreign:
                connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
            for table, name, _definition in unique:
                connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
            for name, _definition in indexes:
                connection.execute(text(f"DROP INDEX {name}"))
        return {
            "indexes": [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
                        for table, name, definition in unique] + [definition for _name, definition in indexes],
            "foreign keys": [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition} NOT VALID'
                             for table, name, definition in foreign],
            "validate": [f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"' for table, name, _d in foreign],
        }

    def restore(self, schema: dict[str, list[str]]) -> None:
        """The indexes built two at a time (largest tables spread over both lanes), then the foreign keys."""
        statements = schema["indexes"]
        lanes = [[(self._short(s), [s]) for s in statements[0::2]], [(self._short(s), [s]) for s in statements[1::2]]]
        started = time.perf_counter()
        self.parallel(*lanes)
        self.steps.append(("indexes and unique constraints (all)", time.perf_counter() - started))
        self.step("foreign keys (NOT VALID)", *schema["foreign keys"])
        started = time.perf_counter()
        self.parallel([(self._short(s), [s]) for s in schema["validate"][0::2]],
                      [(self._short(s), [s]) for s in schema["validate"][1::2]])
        self.steps.append(("foreign keys validated (all)", time.perf_counter() - started))

    @staticmethod
    def _short(statement: str) -> str:
        words = statement.split()
        return " ".join(words[:6])[:90]

    def finish(self) -> None:
        """Sequences past the ids used, scratch tables gone, statistics for the planner."""
        with self.engine.begin() as connection:
            for table in connection.scalars(text("""
                    SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'
                    AND column_name = 'id' AND column_default LIKE 'nextval%'""")).all():
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"))
            for name in HELPERS:
                connection.execute(text(f"DROP TABLE IF EXISTS {name}"))
        started = time.perf_counter()
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
        self.steps.append(("vacuum analyze", time.perf_counter() - started))
        self.log(f"  vacuum analyze: {self.steps[-1][1]:.1f} s")
