"""Scale benchmark: the app on a PostgreSQL database of a million connections with two years of history.

    .venv/bin/python bench/scale.py --database-url postgresql://… [--connections 1000000] [--reseed]
        [--customers 200] [--searches 40] [--run-accounts 100000] [--phases seed,pages,search,reports,run]

Seeds its own database (`dtech_bench_scale` unless --database-name says otherwise; bench/scale_seed.py: the
schema of create_all, the rows made by PostgreSQL with INSERT … SELECT generate_series, the indexes built after),
and prints how long that took and how large the database is. A database already seeded with the same number of
connections is used again (--reseed seeds it anew). Then, in the same run, it measures:

- pages: for --customers random customers, each signed in with a test client of the app in this process, the time
  of every customer page (/, /bills, a bill, /usage, /pay, /payments, /notifications): p50 and p95 per page, the
  SQL statements per page, and the plan of every statement the customer pages ran: any sequential scan of a table
  over 10,000 rows is reported;
- search: the staff consumer search page (/staff/consumers?q=…) by consumer number, start of a name and mobile;
- reports: each staff report page (the summary-backed ones, and those read live: arrears, active customers,
  push, complaints, and a defaulters list), what the summary-backed ones would cost computed live (live=True: one
  month of bills and of collections), and the summaries' rebuild of one month (what the periodic task does);
- run: the region's cycle (RUN_REGION: a tenth of the connections) billed by Huey consumers through Redis
  (--redis-url, db 9 by default), with one consumer and then with two, in processes of their own: accounts per
  second and the ratio two / one. The bills are deleted afterwards, so the database stays as seeded.

Any statement that took over --slow-ms (50) is printed with EXPLAIN (ANALYZE, BUFFERS).
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.auth.passwords import hash_password  # noqa: E402
from app.billing.compose import Cycle  # noqa: E402
from app.db import today_in_india, utcnow  # noqa: E402
from app.demo.seed import STAFF, DemoCalendar, _ensure_user  # noqa: E402
from app.extensions import db  # noqa: E402
from app.reports import figures, summaries  # noqa: E402
from app.reports.months import MonthRange, first_of, shifted  # noqa: E402
from bench.common import bench_app, bench_database, database_arguments  # noqa: E402
from bench.scale_seed import PASSWORD, REGIONS, RUN_REGION, Seeder  # noqa: E402
from config import normalise_database_url  # noqa: E402

BIN = Path(sys.executable).parent
ADMIN = "admin@demo.dtech.in"  # the demo's head-office administrator (app/demo/seed.py STAFF)
CUSTOMER_PAGES = ("/", "/bills", "/bills/<id>", "/usage", "/pay", "/payments", "/notifications")
BIG_TABLE = 10_000  # rows: a sequential scan of a larger table on a customer page is reported
QUEUE = "dtech-scale-bench"
SUMMARY_MONTHS = 13  # the reports' default range (twelve months) and the month before: the nightly task does 36


# --- the database ------------------------------------------------------------------------------------------------

def admin_url(url: str) -> str:
    return make_url(normalise_database_url(url)).set(database="postgres").render_as_string(False)


def seeded_with(url: str, name: str) -> dict | None:
    """What the database's comment says about its seed ({"connections": N, …}), or None."""
    from sqlalchemy import create_engine
    engine = create_engine(admin_url(url))
    with engine.connect() as connection:
        comment = connection.scalar(text("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                                         "WHERE datname = :name"), {"name": name})
    engine.dispose()
    try:
        return json.loads(comment) if comment else None
    except ValueError:
        return None


def drop_database(url: str, name: str) -> None:
    """Our own database only (the benchmark's name), and whoever is connected to it."""
    assert name.startswith("dtech_bench"), name
    from sqlalchemy import create_engine
    engine = create_engine(admin_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def seed(app, args, name: str) -> dict:
    today = today_in_india()
    started = time.perf_counter()
    with app.app_context():
        db.create_all()
        seeder = Seeder(db.engine, args.connections, utcnow(), log)
        tariff_ids = seeder.tariffs()
        schema = seeder.deferred_schema()
        seeder.helpers(tariff_ids)
        seeder.load(hash_password(PASSWORD))
        seeder.restore(schema)
        seeder.finish()
        for staff_name, email, role, office in STAFF:
            _ensure_user(staff_name, password=PASSWORD, email=email, role=role, office=office)
        db.session.commit()
        load_seconds = time.perf_counter() - started
        rebuilt = time.perf_counter()
        rebuild_summaries(app, today)
        rebuild_seconds = time.perf_counter() - rebuilt
        facts = {"connections": args.connections, "seeded_on": today.isoformat(),
                 "seed_seconds": round(load_seconds), "summaries_seconds": round(rebuild_seconds),
                 "steps": [[step, round(seconds, 1)] for step, seconds in seeder.steps]}
        comment = json.dumps(facts).replace("'", "''")
        db.session.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'"))
        db.session.commit()
    return facts


def rebuild_summaries(app, today) -> None:
    """The reports' summaries of the last SUMMARY_MONTHS months, two months at a time (the periodic task rebuilds
    one after another; here the seed uses both cores)."""
    def rebuild(month) -> None:
        with app.app_context():
            summaries.rebuild_month(month)
            db.session.commit()

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(rebuild, [shifted(first_of(today), -n) for n in range(SUMMARY_MONTHS)]))


def log(line: str) -> None:
    print(line, flush=True)


# --- statements: which ran, how long, their plans ----------------------------------------------------------------

class Statements:
    """Every statement the app's engine runs while `watching` is set, with its parameters and milliseconds."""

    def __init__(self, engine):
        self.watching: list | None = None
        self.local = threading.local()
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _connection, _cursor, _statement, _parameters, _context, _executemany):
        self.local.started = time.perf_counter()

    def _after(self, _connection, _cursor, statement, parameters, _context, executemany):
        if self.watching is not None and not executemany:
            self.watching.append((statement, parameters, (time.perf_counter() - self.local.started) * 1000))

    def watch(self) -> list:
        self.watching = []
        return self.watching


def plan(statement: str, parameters, analyze: bool = False) -> list[str] | dict:
    options = "ANALYZE, BUFFERS" if analyze else "FORMAT JSON"
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN ({options}) {statement}", parameters).all()
        connection.rollback()
    return [row[0] for row in rows] if analyze else rows[0][0][0]


def seq_scans(node: dict) -> list[str]:
    found = [node["Relation Name"]] if node.get("Node Type") == "Seq Scan" else []
    for child in node.get("Plans", []):
        found += seq_scans(child)
    return found


def is_read(statement: str) -> bool:
    return statement.lstrip().upper().startswith(("SELECT", "WITH"))


def print_slow(slow: list[tuple[str, str, object, float]], limit: int = 6) -> None:
    """The slowest distinct statements (over the threshold), each with its plan as it runs now."""
    seen = set()
    for where, statement, parameters, ms in sorted(slow, key=lambda item: -item[3]):
        if statement in seen or len(seen) >= limit or not is_read(statement):
            continue
        seen.add(statement)
        log(f"\n  slow statement ({ms:.0f} ms, {where}):\n    " + " ".join(statement.split())[:600])
        for line in plan(statement, parameters, analyze=True)[:40]:
            log(f"    | {line[:240]}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def signed_in(app, login: str):
    client = app.test_client()
    response = client.post("/login", data={"login": login, "password": PASSWORD})
    assert response.status_code == 302, (login, response.status_code)
    return client


def timed_get(client, path: str, watched: Statements, where: str, slow: list, slow_ms: float) -> tuple[float, int]:
    statements = watched.watch()
    started = time.perf_counter()
    response = client.get(path)
    ms = (time.perf_counter() - started) * 1000
    watched.watching = None
    assert response.status_code == 200, (path, response.status_code)
    slow += [(where, s, p, t) for s, p, t in statements if t > slow_ms]
    return ms, len(statements)


# --- (a) customer pages ------------------------------------------------------------------------------------------

def customer_pages(app, watched: Statements, args) -> None:
    rng = random.Random(14)
    customers = rng.sample(range(1, args.connections + 1, 7), args.customers + 1)  # users: one connection in 7
    times, counts, slow = defaultdict(list), defaultdict(list), []
    for number, user_id in enumerate(customers):
        client = signed_in(app, f"{8000000000 + user_id}")
        with app.app_context():
            bill_id = db.session.scalar(text("SELECT max(b.id) FROM bills b JOIN account_links l "
                                             "ON l.account_id = b.account_id WHERE l.user_id = :u"), {"u": user_id})
        for page in CUSTOMER_PAGES:
            ms, count = timed_get(client, page.replace("<id>", str(bill_id)), watched, page, slow, args.slow_ms)
            if number:  # the first customer warms the process up (templates, tariffs parsed)
                times[page].append(ms)
                counts[page].append(count)
    log(f"\n(a) customer pages, {args.customers} random customers signed in (in-process test client):")
    log("| page | p50 ms | p95 ms | max ms | SQL statements |\n|---|---|---|---|---|")
    for page in CUSTOMER_PAGES:
        log(f"| {page} | {percentile(times[page], .5):.1f} | {percentile(times[page], .95):.1f} | "
            f"{max(times[page]):.1f} | {statistics.median(counts[page]):.0f} |")
    check_plans(app, watched, customers[1:4])
    with app.app_context():
        print_slow(slow)


def check_plans(app, watched: Statements, customers: list[int]) -> None:
    """The plan of every statement the customer pages run (recorded for a few customers): a sequential scan of a
    big table is reported."""
    recorded: dict[str, object] = {}
    for user_id in customers:
        client = signed_in(app, f"{8000000000 + user_id}")
        with app.app_context():
            bill_id = db.session.scalar(text("SELECT max(b.id) FROM bills b JOIN account_links l "
                                             "ON l.account_id = b.account_id WHERE l.user_id = :u"), {"u": user_id})
        for page in CUSTOMER_PAGES:
            statements = watched.watch()
            client.get(page.replace("<id>", str(bill_id)))
            watched.watching = None
            for statement, parameters, _ms in statements:
                if is_read(statement):
                    recorded.setdefault(statement, parameters)
    with app.app_context():
        sizes = dict(db.session.execute(text("SELECT relname, reltuples FROM pg_class WHERE relkind = 'r'")).all())
        problems = []
        for statement, parameters in recorded.items():
            for table in seq_scans(plan(statement, parameters)["Plan"]):
                if sizes.get(table, 0) > BIG_TABLE:
                    problems.append((table, " ".join(statement.split())[:300]))
    log(f"plans of the {len(recorded)} distinct statements the customer pages ran: "
        + ("every one reads big tables through an index" if not problems else
           f"{len(problems)} sequential scans of big tables:"))
    for table, statement in problems:
        log(f"  seq scan on {table}: {statement}")


# --- (b) staff consumer search -----------------------------------------------------------------------------------

def consumer_number(account_id: int) -> str:
    return f"{REGIONS[(account_id - 1) % 10][3]}{account_id:08d}"


def search(app, watched: Statements, args) -> None:
    rng = random.Random(41)
    client = signed_in(app, ADMIN)
    with app.app_context():
        names = db.session.execute(text("SELECT id, holder_name FROM accounts WHERE id = ANY(:ids)"),
                                   {"ids": rng.sample(range(1, args.connections + 1), args.searches)}).all()
    queries = {
        "consumer number": [consumer_number(rng.randint(1, args.connections)) for _ in range(args.searches)],
        "start of a name": [f"{holder.split()[0]} {holder.split()[1][:3]}" for _id, holder in names],
        "mobile number": [f"{7000000000 + a}" for a in rng.sample(range(1, args.connections + 1), args.searches * 2)
                          if a % 5 != 4][:args.searches],
    }
    timed_get(client, "/staff/consumers?q=" + queries["consumer number"][0], watched, "warm-up", [], 1e9)
    slow = []
    log(f"\n(b) staff consumer search (/staff/consumers?q=…, head office), {args.searches} searches each:")
    log("| search by | p50 ms | p95 ms | max ms |\n|---|---|---|---|")
    for label, texts in queries.items():
        times = [timed_get(client, f"/staff/consumers?q={q}", watched, f"search: {label}", slow, args.slow_ms)[0]
                 for q in texts]
        log(f"| {label} | {percentile(times, .5):.1f} | {percentile(times, .95):.1f} | {max(times):.1f} |")
    with app.app_context():
        print_slow(slow)


# --- (c) reports -------------------------------------------------------------------------------------------------

def reports(app, watched: Statements, args) -> None:
    from app.staff.reports import REPORTS
    client = signed_in(app, ADMIN)
    slow = []
    log("\n(c) staff reports (head office, every region, the default twelve months; pages: the median of 3, live: "
        "once):")
    log("| report | reads | page ms |\n|---|---|---|")
    today = today_in_india()
    for slug, kind in REPORTS.items():
        repeat = 3 if kind.summarised else 1  # a live report at scale takes seconds: once
        page = statistics.median(timed_get(client, f"/staff/reports/{slug}", watched, f"report {slug}", slow,
                                           args.slow_ms)[0] for _ in range(repeat))
        log(f"| {slug} | {'summaries' if kind.summarised else 'live tables'} | {page:.0f} |")
    ms, _count = timed_get(client, "/staff/reports/defaulters/90+", watched, "defaulters 90+", slow, args.slow_ms)
    log(f"| defaulters/90+ (the connections behind a band) | live tables | {ms:.0f} |")
    with app.app_context():
        # The five summary-backed reports computed live instead (live=True) all sum the same two things per month:
        # one month of each, once (a report over twelve months costs twelve times as much).
        month = shifted(first_of(today), -2)
        for name, work in (("bills and bills due", figures.billing_by_month),
                           ("collections", figures.collection_by_month)):
            started = time.perf_counter()
            work(MonthRange(month, month), None, live=True)
            log(f"computed live for one month ({month:%Y-%m}), {name}: {(time.perf_counter() - started):.1f} s")
            db.session.rollback()
        started = time.perf_counter()
        summaries.rebuild_month(shifted(first_of(today), -1))
        db.session.commit()
        log(f"summaries of one month rebuilt (the periodic task does 3 every 15 minutes, {summaries.MONTHS_KEPT} "
            f"nightly): {time.perf_counter() - started:.1f} s")
        print_slow(slow)


# --- (d) bill runs by Huey consumers -----------------------------------------------------------------------------

def forget_runs(cycle: str) -> None:
    """Everything a benchmark run of `cycle` wrote (its bills, lines, ledger entries, notices, the run itself).
    Foreign-key triggers are off meanwhile (replica role): every row that points at these goes too, and checking
    each deleted bill against unindexed referencing columns (bills.revises_id) would take minutes."""
    db.session.execute(text("SET LOCAL session_replication_role = replica"))
    # Every condition on an indexed column, or one scan: the planner, whose statistics know no bill of this cycle,
    # would otherwise scan a big table once per bill.
    runs = "(SELECT min(started_at) FROM bill_runs WHERE cycle = :cycle)"
    for statement in (
            "DELETE FROM notification_deliveries WHERE notification_id IN (SELECT id FROM notifications "
            f"WHERE kind = 'bill_issued' AND created_at >= {runs})",
            f"DELETE FROM notifications WHERE kind = 'bill_issued' AND created_at >= {runs}",
            "DELETE FROM ledger_entries WHERE kind IN ('bill', 'late_fee') AND bill_id IN "
            "(SELECT id FROM bills WHERE cycle = :cycle)",
            "DELETE FROM bill_lines WHERE bill_id IN (SELECT id FROM bills WHERE cycle = :cycle)",
            "DELETE FROM bills WHERE cycle = :cycle",
            "DELETE FROM bill_run_errors WHERE run_id IN (SELECT id FROM bill_runs WHERE cycle = :cycle)",
            "DELETE FROM bill_run_chunks WHERE run_id IN (SELECT id FROM bill_runs WHERE cycle = :cycle)",
            "DELETE FROM audit_log WHERE action LIKE 'bill_run.%'",
            "DELETE FROM bill_runs WHERE cycle = :cycle"):
        db.session.execute(text(statement), {"cycle": cycle})
    db.session.commit()


def consumers(count: int, env: dict, workdir: Path) -> list[subprocess.Popen]:
    """`count` task workers as production runs them (`flask jobs worker`, deployment.md), one thread each and no
    periodic tasks, started and ready."""
    started = []
    for n in range(count):
        output = workdir / f"worker-{count}-{n}.log"
        started.append((subprocess.Popen([str(BIN / "flask"), "jobs", "worker", "--workers", "1", "--no-periodic"],
                                         cwd=ROOT, env=env, stdout=output.open("wb"), stderr=subprocess.STDOUT),
                        output))
    deadline = time.monotonic() + 90
    while not all("consumer started" in output.read_text() for _process, output in started):
        if time.monotonic() > deadline:
            raise RuntimeError("the task workers did not start: " + " ".join(str(o) for _p, o in started))
        time.sleep(0.2)
    return [process for process, _output in started]


def chunk_profile(cycle: Cycle, args) -> None:
    """One chunk's bills composed in this process (nothing written): how much of it is SQL, and which statements."""
    from app.billing.runs import CHUNK_SIZE, compose_for
    watched = Statements(db.engine)
    ids = db.session.scalars(text("SELECT id FROM accounts WHERE region = :region ORDER BY id LIMIT :size"),
                             {"region": RUN_REGION, "size": CHUNK_SIZE}).all()
    compose_for(cycle, ids, today_in_india())  # warm: tariffs parsed, caches filled
    statements = watched.watch()
    started = time.perf_counter()
    composed, errors = compose_for(cycle, ids, today_in_india())
    ms = (time.perf_counter() - started) * 1000
    watched.watching = None
    sql = sum(t for _s, _p, t in statements)
    log(f"\n(d) one chunk of {len(ids)} connections composed in this process: {ms:.0f} ms, of which SQL {sql:.0f} ms "
        f"in {len(statements)} statements ({len(composed)} bills, {len(errors)} errors)")
    for statement, _parameters, t in sorted(statements, key=lambda item: -item[2])[:4]:
        log(f"  {t:6.1f} ms  " + " ".join(statement.split())[:140])
    print_slow([("chunk", s, p, t) for s, p, t in statements if t > args.slow_ms], limit=2)
    db.session.rollback()


def bill_run(args, url: str, workdir: Path) -> None:
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()  # our own db number: an empty queue
    app = bench_app(args, REDIS_URL=args.redis_url, TASKS_IMMEDIATE=False, TASK_QUEUE_NAME=QUEUE)
    from app.billing.runs import run_result, start_run
    from app.billing.tasks import bill_run as bill_run_task
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis_url, "DTECH_QUEUE_NAME": QUEUE,
           "DTECH_ENV": "development", "FLASK_APP": "wsgi", "DTECH_INSTANCE_DIR": str(workdir),
           "DTECH_MESSAGE_SENDER": "console"}
    cycle = DemoCalendar(today_in_india()).latest
    results = {}
    with app.app_context():
        forget_runs(str(cycle))
        chunk_profile(cycle, args)
        for count in (1, 2):
            processes = consumers(count, env, workdir)
            try:
                run = start_run(cycle, RUN_REGION, issued_on=today_in_india())
                db.session.commit()
                run_id, total = run.id, run.total
                started = time.perf_counter()
                bill_run_task(run_id)  # plans the chunks, and queues them for every consumer
                status = "running"
                while status == "running":
                    time.sleep(0.2)
                    status = db.session.scalar(text("SELECT status FROM bill_runs WHERE id = :id"), {"id": run_id})
                    db.session.rollback()
                seconds = time.perf_counter() - started
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    process.wait(timeout=60)
            run = db.session.get(type(run), run_id)
            result = run_result(run)
            errors = db.session.scalars(text("SELECT reason FROM bill_run_errors WHERE run_id = :id"),
                                        {"id": run_id}).all()
            results[count] = (status, total, result, seconds, errors)
            forget_runs(str(cycle))
    log(f"\nbill run of {RUN_REGION}'s cycle {cycle} by Huey consumers (Redis, one worker thread each):")
    log("| consumers | status | connections | bills | errors | seconds | connections/s |\n"
        "|---|---|---|---|---|---|---|")
    for count, (status, total, result, seconds, errors) in results.items():
        log(f"| {count} | {status} | {total:,} | {result.bills:,} | {len(errors)} | {seconds:.1f} | "
            f"{total / seconds:,.0f} |")
        for reason in sorted(set(errors))[:3]:
            log(f"    error: {reason}")
    same = results[1][2] == results[2][2]
    log(f"ratio two / one: {results[1][3] / results[2][3]:.2f}; the same bills (count, units, amount): {same}")


# --- main --------------------------------------------------------------------------------------------------------

def database_size(app) -> str:
    with app.app_context():
        return db.session.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=1_000_000)
    parser.add_argument("--reseed", action="store_true", help="seed again even if the database has this size")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--searches", type=int, default=40)
    parser.add_argument("--slow-ms", type=float, default=50)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--phases", default="seed,pages,search,reports,run")
    database_arguments(parser, "dtech_bench_scale")
    args = parser.parse_args()
    if not (args.database_url or "").startswith(("postgres://", "postgresql")):
        sys.exit("--database-url postgresql://… (or DATABASE_URL) is needed: the scale benchmark is for PostgreSQL")
    phases = set(args.phases.split(","))

    name = args.database_name
    facts = seeded_with(args.database_url, name)
    if "seed" in phases and (args.reseed or not facts or facts.get("connections") != args.connections):
        drop_database(args.database_url, name)
        url = bench_database(args.database_url, name)
        log(f"seeding {args.connections:,} connections into {name} …")
        facts = seed(bench_app(args), args, name)
    elif not facts:
        sys.exit(f"{name} is not seeded: run with the seed phase")
    url = bench_database(args.database_url, name)
    # Sign-ins from one address: the benchmark signs in hundreds of customers from this process.
    app = bench_app(args, LOGIN_LIMIT_PER_IP=(1_000_000, timedelta(minutes=15)))
    log(f"database {name}: {facts['connections']:,} connections, seeded on {facts['seeded_on']} in "
        f"{facts['seed_seconds']} s (+ report summaries {facts['summaries_seconds']} s); size {database_size(app)}")
    for step, seconds in facts["steps"]:
        if seconds >= 1 or "(all)" in step:  # the rest: the comment on the database holds every step
            log(f"  {step}: {seconds} s")
    with app.app_context():
        counts = {table: db.session.scalar(text(f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'"))
                  for table in ("readings", "bills", "bill_lines", "ledger_entries", "payments", "notifications")}
    log("  rows: " + ", ".join(f"{table} {count:,}" for table, count in counts.items()))
    with app.app_context():
        watched = Statements(db.engine)
    if "pages" in phases:
        customer_pages(app, watched, args)
    if "search" in phases:
        search(app, watched, args)
    if "reports" in phases:
        reports(app, watched, args)
    if "run" in phases:
        bill_run(args, url, Path(tempfile.mkdtemp(prefix="dtech-scale-")))


if __name__ == "__main__":
    main()
