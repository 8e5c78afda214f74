from sqlalchemy import select

from app.accounts.models import AccountLink, LinkFactor
from app.audit.models import AuditLog
from app.extensions import db
from tests import factories


def link(client, number, answer, factor="mobile"):
    return client.post("/connections/link", data={"consumer_number": number, "factor": factor, "answer": answer})


def test_link_by_registered_mobile(client, login_as):
    user = login_as("customer")
    account = factories.make_account(registered_mobile="+919812345678")
    db.session.commit()
    response = link(client, account.consumer_number, "98123 45678")
    assert response.status_code == 302
    stored = db.session.scalar(select(AccountLink))
    assert (stored.user_id, stored.account_id, stored.linked_by) == (user.id, account.id, LinkFactor.MOBILE)
    assert db.session.scalar(select(AuditLog.action)) == "account.linked"
    assert account.consumer_number in client.get("/").get_data(as_text=True)


def test_link_by_latest_bill_amount_as_printed(client, login_as):
    login_as("customer")
    account = factories.make_account(tariff=factories.make_tariff())
    factories.make_bill(account, "999.00")
    factories.make_bill(account, "1234.50", period_start=account.connected_on.replace(year=2026, month=11))
    db.session.commit()
    assert link(client, account.consumer_number, "₹999.00", "bill_amount").status_code == 422  # an older bill
    for not_it in ("1" * 40, "1.2345e3", "-1234.50"):  # no amount, so no match (and no error page)
        assert link(client, account.consumer_number, not_it, "bill_amount").status_code == 422
    assert link(client, account.consumer_number, "₹1,234.50", "bill_amount").status_code == 302


def test_wrong_factor_gets_a_clear_error_and_links_nothing(client, login_as):
    login_as("customer")
    account = factories.make_account(registered_mobile="+919812345678")
    db.session.commit()
    response = link(client, account.consumer_number, "9800000000")
    assert response.status_code == 422
    assert "do not match our records" in response.get_data(as_text=True)
    unknown = link(client, "000000000000", "9812345678")
    assert unknown.status_code == 422
    assert "do not match our records" in unknown.get_data(as_text=True)  # same words: nothing to probe
    assert db.session.scalar(select(AccountLink)) is None


def test_linking_is_throttled_after_five_wrong_answers(client, login_as):
    login_as("customer")
    account = factories.make_account(registered_mobile="+919812345678")
    db.session.commit()
    for _ in range(5):
        link(client, account.consumer_number, "9800000000")
    response = link(client, account.consumer_number, "9812345678")  # right, but too late
    assert "Too many attempts" in response.get_data(as_text=True)
    assert db.session.scalar(select(AccountLink)) is None


def test_new_sign_ups_cannot_keep_guessing_one_connection(app, login_as):
    account = factories.make_account(registered_mobile="+919812345678")
    db.session.commit()
    for _ in range(3):
        guesser = app.test_client()
        factories.make_user(mobile=None, email=f"g{_}@example.com")
        db.session.commit()
        guesser.post("/login", data={"login": f"g{_}@example.com", "password": factories.PASSWORD})
        for _attempt in range(4):
            link(guesser, account.consumer_number, "9800000000")
    owner = app.test_client()
    factories.make_user(email="owner@example.com")
    db.session.commit()
    owner.post("/login", data={"login": "owner@example.com", "password": factories.PASSWORD})
    response = link(owner, account.consumer_number, "9812345678")
    assert "Too many attempts" in response.get_data(as_text=True)  # ten guesses a day per connection


def test_a_zero_bill_is_no_second_factor(client, login_as):
    login_as("customer")
    account = factories.make_account(tariff=factories.make_tariff())
    factories.make_bill(account, "0.00")
    db.session.commit()
    assert link(client, account.consumer_number, "0", "bill_amount").status_code == 422


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


def test_a_connection_can_be_linked_by_several_users(app, client, login_as):
    account = factories.make_account(registered_mobile="+919812345678")
    factories.link(factories.make_user(), account)
    db.session.commit()
    login_as("customer")
    assert link(client, account.consumer_number, "9812345678").status_code == 302
    assert len(db.session.scalars(select(AccountLink)).all()) == 2


def test_linking_twice_is_harmless(client, login_as):
    login_as("customer")
    account = factories.make_account(registered_mobile="+919812345678")
    db.session.commit()
    link(client, account.consumer_number, "9812345678")
    assert link(client, account.consumer_number, "9812345678").status_code == 302
    assert len(db.session.scalars(select(AccountLink)).all()) == 1


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


def test_a_cancelled_bill_is_no_second_factor(client, login_as):
    from datetime import date

    from app.billing.bills import cancel_bill

    login_as("customer")
    account = factories.make_account(tariff=factories.make_tariff())
    factories.make_bill(account, "999.00")
    cancelled = factories.make_bill(account, "1234.50", period_start=date(2026, 11, 1))
    cancel_bill(cancelled, "wrong reading")
    db.session.commit()
    assert link(client, account.consumer_number, "1234.50", "bill_amount").status_code == 422
    assert link(client, account.consumer_number, "999.00", "bill_amount").status_code == 302


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
