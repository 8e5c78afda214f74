"""Push fan-out benchmark: how much faster does the delivery task's thread pool send web push than one delivery at
a time?

    python bench/push_fanout.py [--notifications 10000] [--threads 16] [--latency-ms 5] [--baseline 1000]

Builds N customers, each with one push subscription and one notification waiting in the outbox (a push delivery),
in a database of its own (a temporary SQLite file, or a `dtech_bench_push` database on the PostgreSQL server of
--database-url / DATABASE_URL). A local push endpoint in another process answers each message 201 after
--latency-ms, as a push service across a network would. Then, in the same run, through the product's own path
(app.notifications.delivery: claim, renew the claim, read, encrypt and send, record the outcome):

- one at a time: `deliver_due([id])` for each of the first --baseline deliveries with one sending thread, as
  a delivery task enqueued for one notification runs;
- the pool: `deliver_all_due()` (the sweep) with NOTIFICATION_SEND_THREADS = --threads, for all the others.

Prints deliveries per second for both and the ratio pool / one at a time (the aim: at least 10).
"""

import argparse
import multiprocessing
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import time_machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402

from app import create_app  # noqa: E402
from app.auth.models import User  # noqa: E402
from app.db import utcnow  # noqa: E402
from app.extensions import db  # noqa: E402
from app.notifications import delivery  # noqa: E402
from app.notifications.models import (  # noqa: E402
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    PushSubscription,
)
from app.notifications.push import new_vapid_key  # noqa: E402
from bench.common import bench_database, database_arguments  # noqa: E402
from config import TestingConfig  # noqa: E402
from tests.webpush import Browser  # noqa: E402

TITLE, BODY = "बिल की नियत तारीख़ कल है", "₹1,234.50 देय, 2 दिसंबर तक"


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
    """N customers, each with one subscription (the same browser keys: encryption costs the same for any) and one
    notification with its push delivery due now. Returns the deliveries' ids."""
    browser = Browser(endpoint_base)
    now = utcnow()
    db.session.execute(insert(User.__table__), [
        {"name": f"Bench {i}", "mobile": f"+9199{i:08d}", "role": "customer", "password_hash": "x",
         "locale": "hi_IN", "session_version": 0, "created_at": now} for i in range(n)])
    ids = db.session.scalars(select(User.id).order_by(User.id)).all()
    db.session.execute(insert(PushSubscription.__table__), [
        {"user_id": user_id, "endpoint": f"{endpoint_base}/{user_id}", "p256dh": browser.p256dh,
         "auth": "A" * 22, "created_at": now} for user_id in ids])
    db.session.execute(insert(Notification.__table__), [
        {"user_id": user_id, "kind": "due_reminder", "title": TITLE, "body": BODY, "url": "/bills/7",
         "urgency": "normal", "created_at": now} for user_id in ids])
    notification_ids = db.session.scalars(select(Notification.id).order_by(Notification.id)).all()
    db.session.execute(insert(NotificationDelivery.__table__), [
        {"notification_id": notification_id, "channel": "push", "status": "pending", "attempts": 0,
         "next_attempt_at": now} for notification_id in notification_ids])
    db.session.commit()
    return db.session.scalars(select(NotificationDelivery.id).order_by(NotificationDelivery.id)).all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=16, help="NOTIFICATION_SEND_THREADS for the pool")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="how long the push endpoint takes to answer")
    parser.add_argument("--baseline", type=int, default=1_000, help="notifications sent one at a time")
    database_arguments(parser, "dtech_bench_push")
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
    config.NOTIFICATION_SEND_THREADS = 1
    app = create_app(config)
    # 11:30 in India, the clock still running: push is never sent in quiet hours (22:00-07:00), held till then.
    daytime = time_machine.travel(datetime(2026, 11, 20, 6, 0, tzinfo=UTC), tick=True)
    daytime.start()
    try:
        with app.app_context():
            db.drop_all()
            db.create_all()
            dialect = db.engine.dialect.name
            ids = build(args.notifications, f"http://127.0.0.1:{port}/push")

        baseline, rest = ids[:args.baseline], ids[args.baseline:]
        with app.app_context():
            started = time.perf_counter()
            for delivery_id in baseline:
                assert delivery.deliver_due([delivery_id]) == {DeliveryStatus.SENT: 1}
            single_seconds = time.perf_counter() - started

            app.config["NOTIFICATION_SEND_THREADS"] = args.threads
            started = time.perf_counter()
            outcomes = delivery.deliver_all_due(batches=len(rest))
            pool_seconds = time.perf_counter() - started
            assert outcomes == {DeliveryStatus.SENT: len(rest)}, outcomes

            delivered = db.session.scalar(select(func.count(PushSubscription.id))
                                          .where(PushSubscription.last_success_at.is_not(None)))
            assert delivered == len(ids), f"{delivered} of {len(ids)} delivered"
            db.session.remove()  # its read would hold up DROP TABLE on PostgreSQL
            db.drop_all()
    finally:
        daytime.stop()
        endpoint.terminate()

    pool_rate, single_rate = len(rest) / pool_seconds, len(baseline) / single_seconds
    print(f"database: {dialect}; a push endpoint answering after {args.latency_ms:g} ms")
    print(f"pool ({args.threads:2d} threads):   {len(rest):6d} in {pool_seconds:7.2f} s  {pool_rate:8.0f} deliveries/s")
    print(f"one at a time:       {len(baseline):6d} in {single_seconds:7.2f} s  {single_rate:8.0f} deliveries/s")
    print(f"ratio pool / one at a time: {pool_rate / single_rate:.1f} (aim: at least 10)")


if __name__ == "__main__":
    main()
