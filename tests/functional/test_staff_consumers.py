"""Staff find a consumer by number, name, mobile or meter serial, open one page with everything about the
connection, and see only their own office's connections (head office: all)."""

from datetime import date
from decimal import Decimal

import pytest

from app.accounts.models import LinkRequest, LinkRequestStatus
from app.billing import ledger
from app.billing.models import LedgerKind
from app.extensions import db
from tests import factories


@pytest.fixture
def town():
    """Three connections in Pune and one in Kochi, with meters and a linked customer."""
    tariff = factories.make_tariff()
    made = {
        "asha": factories.make_account(tariff, consumer_number="170000000001", holder_name="Asha Patil",
                                       registered_mobile="+919876500001"),
        "ravi": factories.make_account(tariff, consumer_number="170000000002", holder_name="Ravi Patil-Deshmukh"),
        "percent": factories.make_account(tariff, consumer_number="170000000003", holder_name="100% Power Works"),
        "kochi": factories.make_account(tariff, consumer_number="115500000001", holder_name="Meera Patil",
                                        region="Kochi"),
    }
    factories.make_meter(made["ravi"], serial="MSE-4455")
    customer = factories.make_user(name="Kiran", mobile="+919811100099")
    factories.link(customer, made["percent"])
    db.session.commit()
    return made


def found(client, query: str, **headers) -> str:
    response = client.get("/staff/consumers", query_string={"q": query}, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize(("query", "expected", "not_expected"), [
    ("170000000001", {"170000000001"}, {"170000000002"}),  # the whole number
    ("1700", {"170000000001", "170000000002", "170000000003"}, set()),  # its start
    ("asha", {"170000000001"}, {"170000000002"}),  # first name, any case
    ("Patil", {"170000000001", "170000000002", "115500000001"}, {"170000000003"}),  # a surname
    ("98765 00001", {"170000000001"}, {"170000000002"}),  # the registered mobile, as people type it
    ("+91 98111 00099", {"170000000003"}, {"170000000001"}),  # the mobile of a customer who linked it
    ("mse-4455", {"170000000002"}, {"170000000001"}),  # a meter serial
    ("100%", {"170000000003"}, {"170000000001", "170000000002"}),  # % is a letter here, not a wildcard
])
def test_a_consumer_is_found_by_number_name_mobile_or_meter(client, login_as, town, query, expected, not_expected):
    login_as("support")
    page = found(client, query)
    for number in expected:
        assert number in page
    for number in not_expected:
        assert number not in page


def test_a_query_too_short_or_matching_nothing_says_so(client, login_as, town):
    login_as("support")
    assert "Type at least two letters or digits." in found(client, "a")
    assert "No connection matches “Zebra”." in found(client, "Zebra")


def test_htmx_gets_only_the_results_and_a_plain_form_the_whole_page(client, login_as, town):
    login_as("billing")
    fragment = found(client, "Patil", **{"HX-Request": "true"})
    assert "<h1>" not in fragment and "170000000001" in fragment
    assert "<h1>Consumers</h1>" in found(client, "Patil")


def test_results_come_in_pages(client, login_as):
    tariff = factories.make_tariff()
    for n in range(25):
        factories.make_account(tariff, consumer_number=f"6001{n:08d}", holder_name=f"Singh {n}")
    db.session.commit()
    login_as("admin")
    first = found(client, "6001")
    assert "25 connections found." in first and "600100000019" in first and "600100000020" not in first
    second = client.get("/staff/consumers?q=6001&page=2").get_data(as_text=True)
    assert "600100000020" in second and "600100000024" in second and "600100000019" not in second
    assert client.get("/staff/consumers?q=6001&page=3").status_code == 404


def test_staff_of_an_office_find_and_open_only_its_connections(client, login_as, town):
    bill = factories.make_bill(town["kochi"], "500.00")
    db.session.commit()
    login_as("support", office="Pune")
    page = found(client, "Patil")
    assert "170000000001" in page and "115500000001" not in page
    assert client.get(f"/staff/consumers/{town['kochi'].id}").status_code == 404
    assert client.get(f"/bills/{bill.id}").status_code == 404  # every object through `viewable`
    assert client.get(f"/staff/consumers/{town['asha'].id}").status_code == 200


def test_head_office_staff_see_every_office(client, login_as, town):
    login_as("support")
    assert "115500000001" in found(client, "Patil")
    assert client.get(f"/staff/consumers/{town['kochi'].id}").status_code == 200


def test_a_consumers_page_has_the_connection_its_people_and_its_money(client, login_as, town):
    account = town["ravi"]
    customer = factories.make_user(name="Ravi Deshmukh", mobile="+919811100077")
    factories.link(customer, account)
    meter = factories.make_meter(account, serial="MSE-9000", installed_on=date(2024, 1, 1))
    factories.make_reading(meter, date(2026, 10, 5), "1400")
    bill = factories.make_bill(account, "1200.50")
    ledger.post(account.id, LedgerKind.PAYMENT, Decimal("-1000.00"), date(2026, 11, 10), "Counter payment")
    db.session.commit()
    login_as("billing")
    page = client.get(f"/staff/consumers/{account.id}").get_data(as_text=True)
    for text in ("Ravi Patil-Deshmukh", "Ravi Deshmukh", "+919811100077", "MSE-4455", "MSE-9000", "1,400",
                 bill.number):
        assert text in page
    # The ledger, newest first, with the balance after each entry: 1,200.50 after the bill, 200.50 after paying.
    assert page.index("₹200.50") < page.index("₹1,200.50")


def test_an_office_collects_and_decides_for_its_own_connections_only(client, login_as, town):
    kochi = town["kochi"]
    requester = factories.make_user(name="Meera")
    request = LinkRequest(user_id=requester.id, account_id=kochi.id, bill_amount=Decimal("500.00"))
    db.session.add(request)
    db.session.commit()
    login_as("support", office="Pune")
    counter = client.post("/staff/payments/counter", data={
        "consumer_number": kochi.consumer_number, "amount": "500", "method": "cash", "idempotency_key": "k" * 32})
    assert "There is no connection with this number." in counter.get_data(as_text=True)
    assert kochi.consumer_number not in client.get("/staff/link-requests").get_data(as_text=True)
    assert client.post(f"/staff/link-requests/{request.id}/approve").status_code == 404
    db.session.refresh(request)
    assert request.status is LinkRequestStatus.PENDING


@pytest.mark.parametrize("query", ["170000000", "Asha Pat", "MSE1234", "98765 00001"])
def test_every_meaning_of_a_search_is_looked_up_on_an_index(app, query):
    """On a million connections a search must never read the whole table: with sequential scans priced out,
    PostgreSQL's plan for each meaning (number, name, serial, mobile) is index scans only. (SQLite, for small
    installs, matches the same connections: the tests above.)"""
    from sqlalchemy import select, text

    from app.accounts.models import Account
    from app.staff.consumers import matches

    statement = select(Account.id).where(matches(query))
    if db.engine.dialect.name != "postgresql":
        assert db.session.execute(statement).all() == []  # nothing seeded here: the query runs
        return
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(db.session.scalars(text(f"EXPLAIN {compiled}")))
    db.session.rollback()
    assert "Seq Scan" not in plan, plan
