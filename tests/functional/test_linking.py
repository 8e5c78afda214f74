"""Linking a connection: a one-time code to its registered mobile number, or (no registered mobile) the latest bill's
amount and a staff approval. Guessers are throttled per user and address, never the connection's holder."""

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from app.accounts.models import AccountLink, LinkFactor, LinkRequest, LinkRequestStatus
from app.audit.models import AuditLog
from app.auth.models import OneTimeCode
from app.db import utcnow
from app.extensions import db
from tests import factories

HOLDER = "+919812345678"


def start(client, number):
    return client.post("/connections/link", data={"consumer_number": number})


def enter(client, code):
    return client.post("/connections/link/code", data={"code": code})


def resend(client):
    return client.post("/connections/link/code/resend")


def codes_to(outbox, mobile) -> list[str]:
    return [re.match(r"(\d{6}) is the code", m.body).group(1) for m in outbox
            if m.to == mobile and re.match(r"\d{6} is the code", m.body)]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def links() -> list[AccountLink]:
    return db.session.scalars(select(AccountLink)).all()


def holder_account(**fields):
    account = factories.make_account(registered_mobile=HOLDER, **fields)
    db.session.commit()
    return account


# --- by a code sent to the registered mobile


def test_link_by_a_code_sent_to_the_registered_mobile(client, login_as, outbox):
    user = login_as("customer")
    account = holder_account()
    response = start(client, account.consumer_number.lower())
    assert response.status_code == 302 and response.headers["Location"] == "/connections/link/code"
    [code] = codes_to(outbox, HOLDER)  # to the connection's mobile, not the user's
    assert account.consumer_number in outbox[-1].body
    assert links() == []  # knowing the consumer number is not enough

    page = client.get("/connections/link/code").get_data(as_text=True)
    assert "+91\u00a098XXXXX678" in page
    assert "9812345678" not in page and "12345678" not in page

    done = enter(client, f" {code} ")
    assert done.status_code == 302 and done.headers["Location"] == "/"
    [stored] = links()
    assert (stored.user_id, stored.account_id, stored.linked_by) == (user.id, account.id, LinkFactor.MOBILE)
    assert "account.linked" in db.session.scalars(select(AuditLog.action)).all()
    assert f'id="conn-title">{account.consumer_number}<' in client.get("/").get_data(as_text=True)


def test_the_holder_is_told_of_the_link(client, login_as, outbox):
    login_as("customer")
    account = holder_account()
    start(client, account.consumer_number)
    enter(client, codes_to(outbox, HOLDER)[-1])
    notice = outbox[-1]
    assert notice.to == HOLDER
    assert notice.body == (f"Your electricity connection {account.consumer_number} was linked to a D-Tech account on "
                           "18 Nov 2026. If this was not you, call 1912.")


def test_the_code_is_stored_only_as_a_keyed_hash(client, login_as, outbox):
    login_as("customer")
    account = holder_account()
    start(client, account.consumer_number)
    [code] = codes_to(outbox, HOLDER)
    row = db.session.scalar(select(OneTimeCode))
    assert code not in (row.code_hash, row.subject) and len(row.code_hash) == 64
    import hashlib
    assert hashlib.sha256(code.encode()).hexdigest() != row.code_hash  # keyed: a table copy gives nothing away


def test_a_wrong_code_gets_a_clear_error_and_the_right_one_still_works(client, login_as, outbox):
    login_as("customer")
    account = holder_account()
    start(client, account.consumer_number)
    [code] = codes_to(outbox, HOLDER)
    response = enter(client, wrong(code))
    assert response.status_code == 422
    assert "That code is not right" in response.get_data(as_text=True)
    assert enter(client, "12ab56").status_code == 422  # not six digits: the form says so
    assert links() == []
    assert enter(client, code).status_code == 302
    assert len(links()) == 1


def test_an_expired_code_is_refused_and_a_new_one_works(client, login_as, outbox, clock):
    login_as("customer")
    account = holder_account()
    start(client, account.consumer_number)
    [old] = codes_to(outbox, HOLDER)
    clock.move_to(utcnow() + timedelta(minutes=10, seconds=1), tick=False)
    response = enter(client, old)
    assert response.status_code == 422 and "This code has expired" in response.get_data(as_text=True)
    assert resend(client).headers["Location"] == "/connections/link/code"
    new = codes_to(outbox, HOLDER)[-1]
    assert enter(client, old).status_code == 422  # replaced
    assert enter(client, new).status_code == 302
    assert len(links()) == 1


def test_a_code_dies_after_five_wrong_tries(client, login_as, outbox, clock):
    login_as("customer")
    account = holder_account()
    start(client, account.consumer_number)
    [code] = codes_to(outbox, HOLDER)
    for _ in range(4):
        assert "That code is not right. Check the SMS" in enter(client, wrong(code)).get_data(as_text=True)
    assert "it was the last try for it" in enter(client, wrong(code)).get_data(as_text=True)
    assert "This code has expired" in enter(client, code).get_data(as_text=True)  # even the right one, now
    assert links() == []
    clock.move_to(utcnow() + timedelta(minutes=1), tick=False)
    resend(client)
    assert enter(client, codes_to(outbox, HOLDER)[-1]).status_code == 302


def test_a_new_code_waits_for_the_cool_down(client, login_as, outbox, clock):
    login_as("customer")
    account = holder_account()
    start(client, account.consumer_number)
    start(client, account.consumer_number)  # going back and starting again sends no second code
    assert len(codes_to(outbox, HOLDER)) == 1
    page = client.get(resend(client).headers["Location"]).get_data(as_text=True)
    assert "You can ask for a new code after 10:31 IST, 18 Nov 2026" in page
    assert 'action="/connections/link/code/resend"' not in page  # no button until then
    assert len(codes_to(outbox, HOLDER)) == 1
    clock.move_to(utcnow() + timedelta(seconds=61), tick=False)
    assert 'action="/connections/link/code/resend"' in client.get("/connections/link/code").get_data(as_text=True)
    resend(client)
    assert len(codes_to(outbox, HOLDER)) == 2


def test_codes_sent_per_user_are_limited(client, login_as, outbox, clock):
    login_as("customer")
    account = holder_account()
    start(client, account.consumer_number)
    for _ in range(6):
        clock.move_to(utcnow() + timedelta(seconds=61), tick=False)
        resend(client)
    assert len(codes_to(outbox, HOLDER)) == 5  # nobody's phone is flooded


def test_another_user_cannot_use_someone_elses_code(app, login_as, client, outbox):
    login_as("customer")
    account = holder_account()
    start(client, account.consumer_number)
    [code] = codes_to(outbox, HOLDER)

    other = app.test_client()
    stranger = factories.make_user()
    db.session.commit()
    other.post("/login", data={"login": stranger.mobile, "password": factories.PASSWORD})
    assert enter(other, code).headers["Location"] == "/connections/link"  # not linking anything yet
    start(other, account.consumer_number)
    response = enter(other, code)
    assert response.status_code == 422 and "That code is not right" in response.get_data(as_text=True)
    assert links() == []
    assert enter(client, code).status_code == 302  # the code still works for the one it was sent for


def test_guessers_cannot_lock_the_holder_out(app, client, login_as, outbox, clock):
    account = holder_account()
    guesser = app.test_client()
    user = factories.make_user()
    db.session.commit()
    guesser.post("/login", data={"login": user.mobile, "password": factories.PASSWORD})
    start(guesser, account.consumer_number)
    for _ in range(2):
        for _try in range(5):
            enter(guesser, "000000" if codes_to(outbox, HOLDER)[-1] != "000000" else "000001")
        clock.move_to(utcnow() + timedelta(seconds=61), tick=False)
        resend(guesser)
    response = enter(guesser, codes_to(outbox, HOLDER)[-1])
    assert response.status_code == 429 and "Too many wrong codes" in response.get_data(as_text=True)
    for attempt in range(3):  # three fresh accounts each trying wrong numbers and codes
        other = app.test_client()
        someone = factories.make_user(mobile=None, email=f"g{attempt}@example.com")
        db.session.commit()
        other.post("/login", data={"login": someone.email, "password": factories.PASSWORD})
        for _try in range(6):
            start(other, "000000000000")
    outbox.clear()

    login_as("customer")  # the holder
    assert start(client, account.consumer_number).status_code == 302
    assert enter(client, codes_to(outbox, HOLDER)[-1]).status_code == 302
    assert len(links()) == 1


def test_an_unknown_consumer_number_is_said_plainly_and_probing_is_throttled(client, login_as, outbox):
    login_as("customer")
    account = holder_account()
    response = start(client, "000000000000")
    assert response.status_code == 422
    assert "We found no connection with that consumer number" in response.get_data(as_text=True)
    for _ in range(4):
        start(client, "000000000000")
    response = start(client, account.consumer_number)
    assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)
    assert outbox == []


def test_steps_are_not_reachable_without_the_first_one(client, login_as):
    login_as("customer")
    holder_account()
    assert client.get("/connections/link/code").headers["Location"] == "/connections/link"
    assert client.get("/connections/link/bill").headers["Location"] == "/connections/link"
    assert resend(client).headers["Location"] == "/connections/link"


def test_a_connection_can_be_linked_by_several_users(client, login_as, outbox):
    account = holder_account()
    factories.link(factories.make_user(), account)
    db.session.commit()
    login_as("customer")
    start(client, account.consumer_number)
    assert enter(client, codes_to(outbox, HOLDER)[-1]).status_code == 302
    assert len(links()) == 2


def test_linking_twice_is_harmless(client, login_as, outbox):
    user = login_as("customer")
    account = holder_account()
    factories.link(user, account)
    db.session.commit()
    response = start(client, account.consumer_number)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert len(links()) == 1 and outbox == []


# --- by the bill amount and a staff approval (no registered mobile)


def unregistered_billed_account(amount="1234.50"):
    account = factories.make_account(tariff=factories.make_tariff(), registered_mobile=None,
                                     holder_name="Sunita Deshmukh", address="14, Lotus Colony, Pune")
    factories.make_bill(account, "999.00")
    factories.make_bill(account, amount, period_start=date(2026, 11, 1))
    db.session.commit()
    return account


def ask_by_bill(client, account, amount):
    start(client, account.consumer_number)
    return client.post("/connections/link/bill", data={"amount": amount})


def test_no_registered_mobile_asks_for_the_bill_amount_then_waits_for_staff(client, login_as, outbox):
    user = login_as("customer")
    account = unregistered_billed_account()
    assert start(client, account.consumer_number).headers["Location"] == "/connections/link/bill"
    assert ask_by_bill(client, account, "₹999.00").status_code == 422  # an older bill
    for not_it in ("1" * 40, "1.2345e3", "-1234.50"):  # no amount, so no match (and no error page)
        assert client.post("/connections/link/bill", data={"amount": not_it}).status_code == 422
    response = client.post("/connections/link/bill", data={"amount": "₹1,234.50"})
    assert response.status_code == 302 and response.headers["Location"] == "/connections"
    request = db.session.scalar(select(LinkRequest))
    assert (request.user_id, request.account_id, request.status) == (user.id, account.id, LinkRequestStatus.PENDING)
    assert links() == []  # nothing to see until staff approve

    page = client.get("/connections").get_data(as_text=True)
    assert "Waiting for approval" in page and account.consumer_number in page
    assert "Sunita" not in page and "Lotus Colony" not in page
    assert client.get("/").headers["Location"] == "/connections/link"
    assert "Waiting for approval" in client.get("/connections/link").get_data(as_text=True)
    ask_by_bill(client, account, "1234.50")  # asking again adds no second request
    assert db.session.scalar(select(func.count(LinkRequest.id))) == 1


def test_staff_approve_a_request_and_the_customer_is_linked(app, client, login_as, outbox):
    customer = login_as("customer")
    account = unregistered_billed_account()
    ask_by_bill(client, account, "1234.50")
    request = db.session.scalar(select(LinkRequest))

    staff = app.test_client()
    officer = factories.make_user(role="support", email="officer@example.com")
    db.session.commit()
    staff.post("/login", data={"login": "officer@example.com", "password": factories.PASSWORD})
    page = staff.get("/staff/link-requests").get_data(as_text=True)
    assert account.consumer_number in page and "Sunita Deshmukh" in page and customer.name in page
    assert "Link requests waiting: 1" in staff.get("/staff").get_data(as_text=True)

    assert staff.post(f"/staff/link-requests/{request.id}/approve").headers["Location"] == "/staff/link-requests"
    db.session.refresh(request)
    assert request.status is LinkRequestStatus.APPROVED and request.decided_by == officer.id
    [stored] = links()
    assert (stored.user_id, stored.linked_by) == (customer.id, LinkFactor.BILL_AMOUNT)
    actions = db.session.execute(select(AuditLog.action, AuditLog.actor_id)).all()
    assert ("link_request.approved", officer.id) in actions and ("account.linked", officer.id) in actions
    assert outbox[-1].to == customer.mobile and "is approved" in outbox[-1].body
    assert f'id="conn-title">{account.consumer_number}<' in client.get("/").get_data(as_text=True)

    again = staff.post(f"/staff/link-requests/{request.id}/reject")
    assert "already decided" in staff.get(again.headers["Location"]).get_data(as_text=True)
    assert len(links()) == 1
    assert staff.post("/staff/link-requests/999999/approve").status_code == 404


def test_staff_reject_a_request(app, client, login_as, outbox):
    customer = login_as("customer")
    account = unregistered_billed_account()
    ask_by_bill(client, account, "1234.50")
    request = db.session.scalar(select(LinkRequest))
    staff = app.test_client()
    factories.make_user(role="admin", email="admin@example.com")
    db.session.commit()
    staff.post("/login", data={"login": "admin@example.com", "password": factories.PASSWORD})
    staff.post(f"/staff/link-requests/{request.id}/reject")
    db.session.refresh(request)
    assert request.status is LinkRequestStatus.REJECTED and links() == []
    assert outbox[-1].to == customer.mobile and "was not approved" in outbox[-1].body
    assert "Waiting for approval" not in client.get("/connections").get_data(as_text=True)


def test_customers_cannot_decide_requests(client, login_as):
    login_as("customer")
    account = unregistered_billed_account()
    ask_by_bill(client, account, "1234.50")
    request = db.session.scalar(select(LinkRequest))
    assert client.post(f"/staff/link-requests/{request.id}/approve").status_code == 403
    assert links() == []


def test_a_connection_with_a_registered_mobile_takes_no_bill_amount(client, login_as, outbox):
    login_as("customer")
    account = factories.make_account(tariff=factories.make_tariff(), registered_mobile=HOLDER)
    factories.make_bill(account, "1234.50", period_start=date(2026, 11, 1))
    db.session.commit()
    start(client, account.consumer_number)
    response = client.post("/connections/link/bill", data={"amount": "1234.50"})
    assert response.headers["Location"] == "/connections/link"
    assert db.session.scalar(select(LinkRequest)) is None


def test_wrong_bill_amounts_are_throttled(client, login_as):
    login_as("customer")
    account = unregistered_billed_account()
    for _ in range(5):
        ask_by_bill(client, account, "1.00")
    response = client.post("/connections/link/bill", data={"amount": "1234.50"})
    assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)
    assert db.session.scalar(select(LinkRequest)) is None


def test_a_zero_bill_is_no_second_factor(client, login_as):
    login_as("customer")
    account = factories.make_account(tariff=factories.make_tariff(), registered_mobile=None)
    factories.make_bill(account, "0.00")
    db.session.commit()
    assert ask_by_bill(client, account, "0").status_code == 422


def test_a_cancelled_bill_is_no_second_factor(client, login_as):
    from app.billing.bills import cancel_bill

    login_as("customer")
    account = factories.make_account(tariff=factories.make_tariff(), registered_mobile=None)
    factories.make_bill(account, "999.00")
    cancelled = factories.make_bill(account, "1234.50", period_start=date(2026, 11, 1))
    cancel_bill(cancelled, "wrong reading")
    db.session.commit()
    assert ask_by_bill(client, account, "1234.50").status_code == 422
    assert client.post("/connections/link/bill", data={"amount": "999.00"}).status_code == 302


def test_an_erased_users_requests_go_with_them(client, login_as):
    login_as("customer")
    account = unregistered_billed_account()
    ask_by_bill(client, account, "1234.50")
    client.post("/profile/erase", data={"password": factories.PASSWORD, "understood": "y"})
    assert db.session.scalar(select(LinkRequest)) is None


# --- choosing, naming and removing linked connections


def test_several_connections_and_switching_between_them(client, login_as):
    user = login_as("customer")
    home, shop = factories.make_account(), factories.make_account()
    factories.link(user, home)
    factories.link(user, shop)
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert f"id=\"conn-title\">{home.consumer_number}<" in page
    assert client.post(f"/connections/{shop.id}/select").status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert f"id=\"conn-title\">{shop.consumer_number}<" in page


def test_someone_elses_connection_cannot_be_selected_or_unlinked(client, login_as):
    login_as("customer")
    theirs = factories.make_account()
    factories.link(factories.make_user(), theirs)
    db.session.commit()
    assert client.post(f"/connections/{theirs.id}/select").status_code == 404
    assert client.post(f"/connections/{theirs.id}/unlink").status_code == 404
    assert theirs.consumer_number not in client.get("/connections").get_data(as_text=True)


def test_unlink_removes_only_the_link(client, login_as):
    user = login_as("customer")
    account = factories.make_account()
    factories.link(user, account)
    db.session.commit()
    assert client.post(f"/connections/{account.id}/unlink").status_code == 302
    assert db.session.scalar(select(AccountLink)) is None
    assert client.get("/").headers["Location"] == "/connections/link"  # nothing linked: go link one


def test_a_customer_names_connections_and_the_switcher_shows_the_names(client, login_as):
    user = login_as("customer")
    home = factories.make_account(holder_name="Asha Patil")
    shop = factories.make_account(holder_name="Asha Patil")
    factories.link(user, home)
    factories.link(user, shop)
    db.session.commit()
    assert client.post(f"/connections/{shop.id}/name", data={"nickname": "  Shop   on MG Road "}).status_code == 302
    page = client.get("/connections").get_data(as_text=True)
    assert "<strong>Shop on MG Road</strong>" in page and "<strong>Asha Patil</strong>" in page
    dashboard = client.get("/").get_data(as_text=True)
    assert f"Shop on MG Road <span class=\"pill-sub\">…{shop.consumer_number[-4:]}</span>" in dashboard
    client.post(f"/connections/{shop.id}/name", data={"nickname": ""})
    assert "<strong>Shop on MG Road</strong>" not in client.get("/connections").get_data(as_text=True)
    too_long = client.post(f"/connections/{shop.id}/name", data={"nickname": "x" * 31})
    assert too_long.status_code == 302 and "x" * 31 not in client.get("/connections").get_data(as_text=True)
    other = factories.make_account()
    db.session.commit()
    assert client.post(f"/connections/{other.id}/name", data={"nickname": "Mine now"}).status_code == 404
