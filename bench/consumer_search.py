"""Staff consumer search on many connections: the search as the page runs it (a UNION of one indexed query per
meaning) against the single OR over every column it replaced, in the same run.

    python bench/consumer_search.py [--accounts 300000] [--database-url URL] [--database-name NAME]

Builds N connections, each with a meter, a holder's name and a registered mobile, in a database of its own (a
PostgreSQL server of --database-url / DATABASE_URL; a temporary SQLite file without one, where the OR is not
slower: SQLite is for small sites), runs ANALYZE, then times one results page (20 rows, as the page asks) for a
consumer number, its start, a meter serial, a mobile number, part of a name and a search matching nothing, several
times each. Prints the median milliseconds of both and the ratio old / new, and the plan of the slowest new one.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, or_, select, text  # noqa: E402

from app.accounts.models import Account  # noqa: E402
from app.db import utcnow  # noqa: E402
from app.extensions import db  # noqa: E402
from app.metering.models import Meter  # noqa: E402
from app.staff.consumers import PER_PAGE, matches  # noqa: E402
from bench.common import bench_app, database_arguments  # noqa: E402

FIRST_NAMES = ["Asha", "Ravi", "Meena", "Suresh", "Lakshmi", "Arjun", "Fatima", "Joseph", "Kavita", "Imran"]
LAST_NAMES = ["Patil", "Kumar", "Nair", "Sharma", "Iyer", "Khan", "Das", "Reddy", "Singh", "Joshi"]
BATCH = 20_000


def build(n: int) -> None:
    now = utcnow()
    for start in range(0, n, BATCH):
        rows = range(start, min(start + BATCH, n))
        db.session.execute(insert(Account.__table__), [
            {"consumer_number": f"17{i:010d}", "holder_name": f"{FIRST_NAMES[i % 10]} {LAST_NAMES[i // 10 % 10]} {i}",
             "address": f"{i}, Bench Nagar", "region": ("Pune", "Kochi", "Delhi", "Chennai")[i % 4],
             "category": "LT-I(B) Residential", "sanctioned_load_kw": 3, "phase": "single",
             "billing_cycle": "monthly", "paperless": False, "registered_mobile": f"+9190{i:08d}",
             "connected_on": now.date(),
             "created_at": now} for i in rows])
    db.session.commit()
    ids = db.session.execute(select(Account.id, Account.consumer_number)).all()
    for start in range(0, len(ids), BATCH):
        db.session.execute(insert(Meter.__table__), [
            {"account_id": account_id, "serial": f"MSE{number[2:]}", "digits": 6, "multiplying_factor": 1,
             "installed_on": now.date()} for account_id, number in ids[start:start + BATCH]])
    db.session.commit()


def old_matches(query: str):
    """The search as it was: one OR over every column (kept here only to measure against)."""
    compact = query.replace(" ", "")
    meters = select(Meter.account_id).where(Meter.serial.istartswith(compact))
    return or_(Account.consumer_number.startswith(compact), Account.id.in_(meters),
               Account.holder_name.icontains(query), Account.registered_mobile == f"+91{compact}")


def page(condition) -> list:
    return db.session.execute(select(Account.id).where(condition).order_by(Account.consumer_number)
                              .limit(PER_PAGE)).all()


def median_ms(work, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=5)
    database_arguments(parser, "dtech_bench_search")
    args = parser.parse_args()

    app = bench_app(args)
    with app.app_context():
        db.drop_all()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            db.session.commit()
        db.create_all()
        started = time.perf_counter()
        build(args.accounts)
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        print(f"database: {db.engine.dialect.name}; {args.accounts:,} connections and meters built in "
              f"{time.perf_counter() - started:.0f} s")
        middle = args.accounts // 2
        searches = {"consumer number": f"17{middle:010d}", "number start": f"17{middle:010d}"[:9],
                    "meter serial": f"MSE{middle:010d}", "mobile": f"90{middle:08d}",
                    "part of a name": f"Kavita Joshi {middle}"[:14], "nothing": "Zzyzx"}
        totals = [0.0, 0.0]
        slowest = (0.0, "")
        print(f"{'search':16} {'new ms':>8} {'old ms':>8}")
        for label, query in searches.items():
            new = median_ms(lambda q=query: page(matches(q)), args.repeat)
            old = median_ms(lambda q=query: page(old_matches(q)), args.repeat)
            totals[0] += new
            totals[1] += old
            slowest = max(slowest, (new, query))
            print(f"{label:16} {new:8.1f} {old:8.1f}")
        print(f"ratio old / new (all searches): {totals[1] / totals[0]:.1f}")
        if db.engine.dialect.name == "postgresql":
            statement = select(Account.id).where(matches(slowest[1])).order_by(Account.consumer_number).limit(20)
            compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
            print(f"plan of the slowest ({slowest[1]!r}):")
            print("\n".join(db.session.scalars(text(f"EXPLAIN ANALYZE {compiled}"))))
        db.session.remove()
        db.drop_all()


if __name__ == "__main__":
    main()
