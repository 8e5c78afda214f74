"""Push fan-out benchmark: how much faster do pooled workers deliver web push than one message at a time?

    python bench/push_fanout.py [--notifications 10000] [--senders 32] [--batch 500] [--latency-ms 5] [--baseline 1000]

Builds N customers, each with one push subscription, in a database of its own (a temporary SQLite file, or a
`dtech_bench_push` database on the PostgreSQL server of --database-url / DATABASE_URL). A local push endpoint in
another process answers each message 201 after --latency-ms, as a push service across a network would. Then,
in the same run:

- the pool: `push_to_users` for --batch customers at a time, each batch one transaction, its messages sent by a
  pool of --senders threads that keep their connections to the push service alive; all N notifications.
- one at a time: `push_to_user` for one customer after another, each in a transaction of its own (as one
  delivery task runs), for the first --baseline customers.

Prints deliveries per second for both and the ratio pool / one at a time (the aim: at least 10).
"""

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import create_app  # noqa: E402
from app.auth.models import User  # noqa: E402
from app.db import utcnow  # noqa: E402
from app.extensions import db  # noqa: E402
from app.notifications.models import PushSubscription  # noqa: E402
from app.notifications.push import new_vapid_key, push_to_user, push_to_users  # noqa: E402
from config import TestingConfig, normalise_database_url, sqlite_url  # noqa: E402
from tests.webpush import Browser  # noqa: E402

PAYLOAD = {"title": "बिल की नियत तारीख़ कल है", "body": "₹1,234.50 देय, 2 दिसंबर तक", "url": "/bills/7",
           "tag": "due-7"}


def bench_database(url: str | None, name: str) -> str:
    if not url:
        return sqlite_url(Path(tempfile.mkdtemp()) / "bench.sqlite3")
    from tests.conftest import ensure_postgres_database

    bench_url = make_url(normalise_database_url(url)).set(database=name).render_as_string(False)
    ensure_postgres_database(bench_url)
    return bench_url


def serve_push_endpoint(port: int, latency: float, ready) -> None:
    """A push service stand-in in a process of its own: reads the message, waits `latency`, answers 201. asyncio
    (aiohttp, which pywebpush brings), so that it keeps up with many connections on little CPU."""
    import asyncio

    from aiohttp import web

    async def receive(request):
        await request.read()
        await asyncio.sleep(latency)
        return web.Response(status=201)

    async def serve():
        app = web.Application()
        app.router.add_post("/{tail:.*}", receive)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(serve())


def build(n: int, endpoint_base: str) -> list[int]:
    """N customers, each with one subscription (the same browser keys: encryption costs the same for any)."""
    browser = Browser(endpoint_base)
    db.session.execute(insert(User.__table__), [
        {"name": f"Bench {i}", "mobile": f"+9199{i:08d}", "role": "customer", "password_hash": "x",
         "locale": "hi_IN", "session_version": 0, "created_at": utcnow()} for i in range(n)])
    ids = db.session.scalars(select(User.id).order_by(User.id)).all()
    db.session.execute(insert(PushSubscription.__table__), [
        {"user_id": user_id, "endpoint": f"{endpoint_base}/{user_id}", "p256dh": browser.p256dh,
         "auth": "A" * 22, "created_at": utcnow()} for user_id in ids])
    db.session.commit()
    return ids


def deliver_batch(app, user_ids: list[int], senders: int) -> None:
    with app.app_context():
        retries = push_to_users(dict.fromkeys(user_ids, PAYLOAD), ttl=86400, urgency="normal", senders=senders)
        assert not retries, retries
        db.session.commit()
        db.session.remove()


def deliver(app, user_id: int) -> None:
    """One delivery as the task runs it: its own app context, one transaction."""
    with app.app_context():
        push_to_user(user_id, PAYLOAD, ttl=86400, urgency="normal")
        db.session.commit()
        db.session.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=32, help="threads sending at once in the pool")
    parser.add_argument("--batch", type=int, default=500, help="customers per fan-out transaction in the pool")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="how long the push endpoint takes to answer")
    parser.add_argument("--baseline", type=int, default=1_000, help="notifications sent one at a time")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="a PostgreSQL server; the benchmark creates and empties its own database there")
    parser.add_argument("--database-name", default="dtech_bench_push", help="the benchmark's own database on it")
    args = parser.parse_args()

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ready = multiprocessing.Event()
    endpoint = multiprocessing.Process(target=serve_push_endpoint, args=(port, args.latency_ms / 1000, ready),
                                       daemon=True)
    endpoint.start()
    ready.wait(10)

    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = bench_database(args.database_url, args.database_name)
    config.VAPID_PRIVATE_KEY = new_vapid_key()
    config.VAPID_SUBJECT = "mailto:bench@localhost.localdomain"
    app = create_app(config)
    try:
        with app.app_context():
            db.drop_all()
            db.create_all()
            dialect = db.engine.dialect.name
            ids = build(args.notifications, f"http://127.0.0.1:{port}/push")

        started = time.perf_counter()
        for start in range(0, len(ids), args.batch):
            deliver_batch(app, ids[start:start + args.batch], args.senders)
        pool_seconds = time.perf_counter() - started

        baseline = ids[:args.baseline]
        started = time.perf_counter()
        for user_id in baseline:
            deliver(app, user_id)
        single_seconds = time.perf_counter() - started

        with app.app_context():
            delivered = db.session.scalar(select(func.count(PushSubscription.id))
                                          .where(PushSubscription.last_success_at.is_not(None)))
            assert delivered == len(ids), f"{delivered} of {len(ids)} delivered"
            db.session.remove()  # its read would hold up DROP TABLE on PostgreSQL
            db.drop_all()
    finally:
        endpoint.terminate()

    pool_rate, single_rate = len(ids) / pool_seconds, len(baseline) / single_seconds
    print(f"database: {dialect}; a push endpoint answering after {args.latency_ms:g} ms")
    print(f"pool ({args.senders} senders): {len(ids):6d} in {pool_seconds:7.2f} s  {pool_rate:8.0f} deliveries/s")
    print(f"one at a time:       {len(baseline):6d} in {single_seconds:7.2f} s  {single_rate:8.0f} deliveries/s")
    print(f"ratio pool / one at a time: {pool_rate / single_rate:.1f} (aim: at least 10)")


if __name__ == "__main__":
    main()
