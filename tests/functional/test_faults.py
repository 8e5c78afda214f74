"""Faults a production site meets, on a real gunicorn (tests/served.py) and the test's database: a worker killed
with SIGKILL in the middle of taking money, then the request sent again, loses nothing and doubles nothing; the
database going away answers 503 with the error page and the app recovers by itself when it comes back."""

import contextlib
import select as selectors
import socket
import threading
import time
from decimal import Decimal

import psycopg
import pytest
import requests
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.billing.models import LedgerEntry, LedgerKind
from app.extensions import db
from app.payments import cash_books
from app.payments.models import CashBook, Payment, PaymentEvent, PaymentState
from tests import factories
from tests.conftest import SUITE_NOW
from tests.functional.test_payment_helpers import attempt_with_order, billed_account, sandbox
from tests.served import Served


@pytest.fixture
def serve(app, tmp_path):
    """serve(database_url=None) → the app under gunicorn on this test's database (or through another address)."""
    started: list[Served] = []

    def start(database_url: str | None = None) -> Served:
        url = database_url or make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=False)
        served = Served(url, app.config["SECRET_KEY"], SUITE_NOW, tmp_path / f"server-{len(started)}.log")
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


class RowHeld:
    """Another connection holding a row's lock, so that a request that needs it waits in mid-transaction: on
    PostgreSQL `SELECT … FOR UPDATE` of that row, on SQLite the database's write lock (BEGIN IMMEDIATE)."""

    def __init__(self, table: str, row_id: int) -> None:
        self.table, self.row_id = table, row_id
        url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
        self.postgres = url.get_backend_name() == "postgresql"
        if self.postgres:
            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.connection = psycopg.connect(dsn)
            self.connection.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", (row_id,))
        else:
            import sqlite3

            self.connection = sqlite3.connect(url.database, isolation_level=None, timeout=30)
            self.connection.execute("BEGIN IMMEDIATE")

    def wait_until_blocking(self, served: Served, path: str) -> None:
        """Until the request for `path` waits for this lock: PostgreSQL shows the waiting backend; SQLite shows
        nothing, so the request must have reached the app and had a moment to reach its first write."""
        served.wait_until_entered(path)
        if not self.postgres:
            time.sleep(1)
            return
        deadline = time.monotonic() + 30
        with psycopg.connect(self.connection.info.dsn, autocommit=True) as watcher:
            while time.monotonic() < deadline:
                waiting = watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                          "AND query ILIKE %s", (f"%{self.table}%",)).fetchone()[0]
                if waiting:
                    return
                time.sleep(0.05)
        raise AssertionError(f"no request waited for the lock on {self.table}")

    def release(self) -> None:
        self.connection.rollback() if self.postgres else self.connection.execute("ROLLBACK")
        self.connection.close()


def send_in_background(method: str, url: str, **kwargs) -> threading.Thread:
    """Send a request whose answer never comes (its worker is killed): the connection just ends."""

    def send() -> None:
        with contextlib.suppress(requests.RequestException):
            requests.request(method, url, timeout=60, **kwargs)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def paid_to(account_id: int) -> list[LedgerEntry]:
    db.session.commit()  # see what the server's processes committed
    return db.session.scalars(select(LedgerEntry).where(LedgerEntry.account_id == account_id,
                                                        LedgerEntry.kind == LedgerKind.PAYMENT)).all()


def test_a_worker_killed_in_the_middle_of_a_webhook_loses_and_doubles_nothing(serve):
    gateway = sandbox()
    account, _bill = billed_account(total="900.00")
    payment, order_id = attempt_with_order(account, "900.00", state=PaymentState.PENDING)
    body = gateway.event_body("payment.captured", {"payment": gateway.payment_entity(gateway.pay(order_id, "succeed"))})
    headers = {**gateway.webhook_headers(body, "evt_killed_midway"), "Content-Type": "application/json"}
    db.session.commit()
    served = serve()

    held = RowHeld("payments", payment.id)
    request = send_in_background("POST", served.url("/payments/webhook"), data=body, headers=headers)
    held.wait_until_blocking(served, "/payments/webhook")
    served.kill_worker()  # the event row is written, the payment not yet: the transaction dies with the worker
    held.release()
    request.join(timeout=60)
    assert paid_to(account.id) == []
    assert db.session.scalar(select(func.count(PaymentEvent.id))) == 0

    retried = requests.post(served.url("/payments/webhook"), data=body, headers=headers, timeout=60)
    again = requests.post(served.url("/payments/webhook"), data=body, headers=headers, timeout=60)
    assert retried.status_code == 200 and again.status_code == 200, (retried.text, again.text)
    assert again.json()["status"] == "already processed"
    [entry] = paid_to(account.id)
    assert entry.amount == Decimal("-900.00")
    db.session.refresh(payment)
    assert payment.state == PaymentState.CAPTURED


def test_a_worker_killed_in_the_middle_of_a_counter_payment_loses_and_doubles_nothing(serve):
    account, _bill = billed_account(total="750.00", terms={"due_days": 15})
    cashier = factories.make_user(role="support")
    book = cash_books.book_for_entry(cashier)  # today's cash book, opened before, as after the day's first payment
    db.session.commit()
    served = serve()
    counter = requests.Session()
    credentials = {"login": cashier.email or cashier.mobile, "password": factories.PASSWORD}
    signed_in = counter.post(served.url("/login"), data=credentials, allow_redirects=False, timeout=60)
    assert signed_in.status_code == 302, signed_in.text[-1500:]
    form = {"consumer_number": account.consumer_number, "method": "cash", "amount": "750",
            "idempotency_key": "counter-fault-key-0001", "confirmed": "yes"}

    held = RowHeld(CashBook.__tablename__, book.id)
    request = send_in_background("POST", served.url("/staff/payments/counter"), data=form,
                                 cookies=counter.cookies, allow_redirects=False)
    held.wait_until_blocking(served, "/staff/payments/counter")
    served.kill_worker()  # the connection is locked, the payment not yet written
    held.release()
    request.join(timeout=60)
    assert paid_to(account.id) == []

    retried = counter.post(served.url("/staff/payments/counter"), data=form, allow_redirects=False, timeout=60)
    again = counter.post(served.url("/staff/payments/counter"), data=form, allow_redirects=False, timeout=60)
    assert retried.status_code == 303 and again.status_code == 303, retried.text
    assert retried.headers["Location"] == again.headers["Location"]
    [entry] = paid_to(account.id)
    assert entry.amount == Decimal("-750.00")
    [payment] = db.session.scalars(select(Payment)).all()
    assert payment.state == PaymentState.CAPTURED and payment.cash_book_id == book.id


class CuttableLink:
    """A TCP relay to the database that can be cut (every connection dropped, new ones closed at once, as while
    PostgreSQL restarts) and mended, without stopping the server the rest of the suite uses."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut_off = False
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off:
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self.lock:
                self.pairs.append((client, server))
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    @staticmethod
    def _relay(client: socket.socket, server: socket.socket) -> None:
        ends = {client: server, server: client}
        try:
            while True:
                ready, _, _ = selectors.select(list(ends), [], [], 1)
                for end in ready:
                    data = end.recv(65536)
                    if not data:
                        return
                    ends[end].sendall(data)
        except OSError:
            return
        finally:
            client.close()
            server.close()

    def cut(self) -> None:
        self.cut_off = True
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for client, server in pairs:
            for end in (client, server):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def mend(self) -> None:
        self.cut_off = False

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_the_database_going_away_answers_503_with_the_error_page_and_the_app_recovers_by_itself(app, serve):
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql":
        pytest.skip("a database server's outage: PostgreSQL only")
    link = CuttableLink(url.host or "127.0.0.1", url.port or 5432)
    try:
        customer = factories.make_user()
        account, _bill = billed_account(customer, total="640.00")
        served = serve(url.set(host="127.0.0.1", port=link.port).render_as_string(hide_password=False))
        phone = requests.Session()
        assert phone.post(served.url("/login"), data={"login": customer.mobile, "password": factories.PASSWORD},
                          allow_redirects=False, timeout=60).status_code == 302
        assert phone.get(served.url("/"), timeout=60).status_code == 200
        worker = served.worker_pid()

        link.cut()  # a restart while nobody asks: the pooled connections are dead when the next request comes
        link.mend()
        assert phone.get(served.url("/"), timeout=60).status_code == 200  # pool_pre_ping found them dead

        link.cut()
        for _ in range(3):  # the pooled connection is found dead, and a new one cannot be made
            during = phone.get(served.url("/"), timeout=60)
            assert during.status_code == 503
            assert "text/html" in during.headers["Content-Type"] and "briefly unavailable" in during.text
        assert requests.get(served.url("/readyz"), timeout=60).status_code == 503
        assert requests.get(served.url("/healthz"), timeout=60).status_code == 200

        link.mend()  # the first request afterwards is answered
        after = phone.get(served.url("/"), timeout=60)
        assert after.status_code == 200 and account.consumer_number in after.text
        assert served.worker_pid() == worker and "was sent" not in served.log.read_text()  # no worker crashed
    finally:
        link.close()


def test_a_session_that_cannot_close_leaves_the_answer_as_the_app_chose_it(client, monkeypatch):
    """While the database is away even closing the request's session fails (it rolls back): that must not escape
    the teardown, where gunicorn would replace the app's page with its own bare 500."""

    def close_on_a_dead_connection(_session):
        raise OperationalError("ROLLBACK", {}, Exception("server closed the connection unexpectedly"))

    with monkeypatch.context() as patched:
        patched.setattr(Session, "close", close_on_a_dead_connection)
        response = client.get("/login")
    assert response.status_code == 200 and "Sign in" in response.get_data(as_text=True)
