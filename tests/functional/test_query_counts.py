"""Each customer page runs a few SQL statements, and the same number for a customer with two years of history as
for a new one: nothing on a page loads the history row by row, and nothing loads it all where one row is needed."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from app.extensions import db
from app.payments import services as payments
from app.payments.models import PaymentMethod
from tests import factories
from tests.conftest import SUITE_NOW

# The most statements a page may run (the sign-in check, the page's own queries, the unread badge).
BUDGET = 20
PAGES = ["/", "/bills", "/bills/{bill}", "/bills/{bill}.pdf", "/usage", "/pay", "/payments", "/payments/{payment}",
         "/notifications", "/complaints", "/readings/new"]


def month_start(months_back: int) -> date:
    index = 2026 * 12 + 9 - months_back  # October 2026, then back month by month
    return date(index // 12, index % 12 + 1, 1)


def customer_with_history(app, clock, months: int):
    """A signed-in client of a customer whose connection has `months` monthly bills, readings and payments (each
    paid at the counter a few days after its bill)."""
    user, cashier = factories.make_user(), factories.make_user(role="support")
    account = factories.make_account(factories.make_tariff())
    meter = factories.make_meter(account)
    newest = None
    for back in reversed(range(months)):
        start = month_start(back)
        end = month_start(back - 1) - timedelta(days=1)
        newest = factories.make_bill(account, "640.00", period_start=start, period_end=end, cycle=f"{end:%Y-%m}",
                                     issued_on=end + timedelta(days=1), due_date=end + timedelta(days=16))
        factories.make_reading(meter, end, 1000 + 150 * (months - back))
        clock.move_to(datetime.combine(end + timedelta(days=5), time(6), tzinfo=UTC))
        paid = payments.record_counter_payment(account.id, PaymentMethod.CASH, Decimal("640.00"), cashier,
                                               f"history-{months}-{back:04d}-key")
    clock.move_to(SUITE_NOW)
    factories.link(user, account)
    db.session.commit()
    client = app.test_client()
    assert client.post("/login", data={"login": user.mobile, "password": factories.PASSWORD}).status_code == 302
    return client, {"bill": newest.id, "payment": paid.id}


def statements(client, path: str) -> int:
    seen = []

    def count(*_args) -> None:
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200, path
    return len(seen)


@pytest.fixture
def counts(app, clock):
    def of(months: int) -> dict[str, int]:
        client, ids = customer_with_history(app, clock, months)
        return {page: statements(client, page.format(**ids)) for page in PAGES}

    return of


def test_customer_pages_run_few_statements_whatever_the_history(counts):
    new, long = counts(2), counts(48)
    assert long == new, (new, long)
    assert max(new.values()) <= BUDGET, new
