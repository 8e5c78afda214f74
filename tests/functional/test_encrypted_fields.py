"""Fields never searched (a connection's address, a complaint's subject and messages) are Fernet tokens in the
database and text in the app; a wrong key fails plainly and safely; `flask rotate-data-keys` moves everything to a
new key; what staff search (numbers, names, mobiles, emails) stays plain text and found."""

import logging

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select, text, update

from app.crypto import DataKeyError, EncryptedText, encrypted_columns, init_data_keys
from app.extensions import db
from app.support import services
from app.support.models import Ticket, TicketCategory
from tests import factories

ADDRESS = "Flat 12, Shanti Niwas, Karve Road, Pune 411004"
COMPLAINT = "No power since 8 am\nThe pole outside house 12 sparks."


def raw(sql: str, **params) -> str:
    """A value as the database holds it, read without the model's type."""
    return db.session.execute(text(sql), params).scalar_one()


@pytest.fixture
def keys(app, monkeypatch):
    """Change the app's data keys for one test (as DTECH_DATA_KEYS would), restored afterwards."""
    monkeypatch.setitem(app.extensions, "data_keys", app.extensions["data_keys"])
    monkeypatch.setitem(app.config, "DATA_KEYS", app.config["DATA_KEYS"])

    def use(*chosen: str) -> None:
        app.config["DATA_KEYS"] = chosen
        init_data_keys(app)
        db.session.expunge_all()  # objects read under the old keys are read again

    return use


@pytest.fixture
def complaint(login_as):
    user = login_as("customer")
    account = factories.make_account(address=ADDRESS, holder_name="Asha Patil", region="Pune")
    factories.link(user, account)
    ticket = services.raise_complaint(user, account, TicketCategory.NO_SUPPLY, COMPLAINT)
    db.session.commit()
    return user.id, account.id, ticket.id


def test_the_database_holds_tokens_and_the_app_shows_the_text(app, client, complaint):
    _user, account_id, ticket_id = complaint
    current = MultiFernet([Fernet(key) for key in app.config["DATA_KEYS"]])
    stored = {
        "address": raw("SELECT address FROM accounts WHERE id = :id", id=account_id),
        "subject": raw("SELECT subject FROM tickets WHERE id = :id", id=ticket_id),
        "body": raw("SELECT body FROM ticket_messages WHERE ticket_id = :id", id=ticket_id),
    }
    for value in stored.values():  # a token is URL-safe base64: never the spaces every one of these texts has
        assert value.startswith("gAAAAA") and " " not in value
    assert current.decrypt(stored["address"].encode()).decode() == ADDRESS
    assert current.decrypt(stored["subject"].encode()).decode() == "No power since 8 am"
    assert current.decrypt(stored["body"].encode()).decode() == COMPLAINT
    # The same text twice gives two different tokens: nothing can be learnt by comparing rows.
    other = factories.make_account(address=ADDRESS)
    db.session.commit()
    assert raw("SELECT address FROM accounts WHERE id = :id", id=other.id) != stored["address"]

    assert ADDRESS in client.get("/").get_data(as_text=True)
    page = client.get(f"/complaints/{ticket_id}").get_data(as_text=True)
    assert "The pole outside house 12 sparks." in page


def test_a_reply_is_encrypted_in_the_complaint_and_in_the_customers_inbox(client, complaint):
    user_id, _account_id, ticket_id = complaint
    staff = factories.make_user("support")
    reply = "An engineer will replace the fuse at house 12 by 2 pm."
    services.reply(db.session.get(Ticket, ticket_id), staff, reply, internal=False)
    db.session.commit()
    stored = [raw("SELECT body FROM ticket_messages WHERE ticket_id = :id ORDER BY id DESC LIMIT 1", id=ticket_id),
              raw("SELECT body FROM notifications WHERE user_id = :id", id=user_id)]
    assert all(value.startswith("gAAAAA") and " " not in value for value in stored)
    assert reply in client.get("/notifications").get_data(as_text=True)


def test_every_never_searched_field_is_encrypted_and_nothing_searched_is():
    encrypted = {(table.name, name) for table, name in encrypted_columns()}
    assert encrypted == {("accounts", "address"), ("tickets", "subject"), ("ticket_messages", "body"),
                         ("notifications", "body")}
    for table in db.metadata.sorted_tables:
        for index in table.indexes:
            assert not any(isinstance(column.type, EncryptedText) for column in index.columns), index.name


def test_staff_still_find_people_by_number_name_mobile_and_email(client, login_as):
    account = factories.make_account(consumer_number="170000000042", holder_name="Meera Kulkarni",
                                     registered_mobile="+919876512345", address=ADDRESS)
    factories.make_user(name="Meera Kulkarni", email="meera@example.in", mobile=None)
    db.session.commit()
    login_as("admin")
    for query in ("170000000042", "1700000", "kulkarni", "98765 12345"):
        page = client.get("/staff/consumers", query_string={"q": query}).get_data(as_text=True)
        assert account.consumer_number in page and ADDRESS in page, query
    page = client.get("/staff/users", query_string={"q": "meera@example.in"}).get_data(as_text=True)
    assert "Meera Kulkarni" in page
    # Those stay plain text in the database, where the indexes that find them are.
    assert raw("SELECT holder_name FROM accounts WHERE id = :id", id=account.id) == "Meera Kulkarni"
    assert raw("SELECT registered_mobile FROM accounts WHERE id = :id", id=account.id) == "+919876512345"


def test_a_wrong_key_is_a_plain_error_in_the_log_and_a_safe_page(client, complaint, keys, caplog):
    _user, _account_id, ticket_id = complaint
    keys(Fernet.generate_key().decode())
    with caplog.at_level(logging.CRITICAL, logger="app.web.errors"):
        response = client.get(f"/complaints/{ticket_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in page
    assert "Traceback" not in page and "InvalidToken" not in page and "DTECH_DATA_KEYS" not in page
    assert any("cannot be decrypted" in r.getMessage() and "DTECH_DATA_KEYS" in r.getMessage()
               for r in caplog.records)
    with pytest.raises(DataKeyError, match="DTECH_DATA_KEYS"):
        db.session.scalars(select(Ticket)).one().subject  # noqa: B018 - reading it is the test


def test_keys_are_rotated_to_the_new_one_and_the_old_one_can_go(app, client, complaint, keys):
    _user, account_id, ticket_id = complaint
    old = app.config["DATA_KEYS"][0]
    new = Fernet.generate_key().decode()
    updated_at = raw("SELECT updated_at FROM tickets WHERE id = :id", id=ticket_id)

    keys(new, old)  # the new key first: new values are written with it, old ones still read
    assert db.session.get(Ticket, ticket_id).subject == "No power since 8 am"
    fresh = factories.make_account(address="Plot 7, MIDC, Nashik")
    db.session.commit()
    Fernet(new).decrypt(raw("SELECT address FROM accounts WHERE id = :id", id=fresh.id).encode())

    result = app.test_cli_runner().invoke(args=["rotate-data-keys", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "accounts.address: 1 re-encrypted" in result.output  # the fresh one was under the new key already
    assert "tickets.subject: 1 re-encrypted" in result.output
    assert "ticket_messages.body: 1 re-encrypted" in result.output
    again = app.test_cli_runner().invoke(args=["rotate-data-keys"])
    assert again.exit_code == 0 and "accounts.address: 0 re-encrypted" in again.output

    keys(new)  # the old key removed: everything still reads
    db.session.commit()
    assert db.session.get(Ticket, ticket_id).messages[0].body == COMPLAINT
    assert ADDRESS in client.get("/").get_data(as_text=True)
    assert raw("SELECT updated_at FROM tickets WHERE id = :id", id=ticket_id) == updated_at  # not a change to it
    with pytest.raises(InvalidToken):
        Fernet(old).decrypt(raw("SELECT address FROM accounts WHERE id = :id", id=account_id).encode())


def test_rotation_stops_plainly_at_a_value_no_key_reads(app, complaint, keys):
    keys(Fernet.generate_key().decode())
    result = app.test_cli_runner().invoke(args=["rotate-data-keys"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Error: accounts.address of row" in result.output and "DTECH_DATA_KEYS" in result.output


def test_rotation_never_overwrites_a_value_the_site_changed_meanwhile(app, complaint, keys, monkeypatch):
    from app import crypto
    from app.accounts.models import Account

    _user, account_id, _ticket_id = complaint
    old = app.config["DATA_KEYS"][0]
    keys(Fernet.generate_key().decode(), old)
    real = crypto.data_keys()

    class SiteWritesFirst:
        """The site saves a new address between rotation's read of the row and its write."""

        def rotate(self, token):
            db.session.execute(update(Account).where(Account.id == account_id).values(address="Plot 7, Nashik"))
            return real.rotate(token)

        def __getattr__(self, name):  # encrypting and decrypting as the keys do
            return getattr(real, name)

    monkeypatch.setattr(crypto, "data_keys", SiteWritesFirst)
    assert sum(crypto.rotate_column(Account.__table__, "address")) == 0
    monkeypatch.setattr(crypto, "data_keys", lambda: real)
    db.session.expunge_all()
    assert db.session.get(Account, account_id).address == "Plot 7, Nashik"
