"""A customer whose account is not confirmed (made before sign-ups waited for their code, or with an email only)
confirms their mobile number (or email) with a one-time code before they can do anything else. New sign-ups
prove their number before the account exists (test_auth.py)."""

import re
from datetime import timedelta

from sqlalchemy import select

from app.auth.models import User
from app.db import utcnow
from app.extensions import db
from tests import factories
from tests.functional.test_auth import GOOD_PASSWORD, register, sign_up_code


def code_in(message) -> str:
    match = re.match(r"(\d{6}) is your code to confirm your D-Tech account", message.body)
    assert match, message.body
    return match.group(1)


def confirm(client, code):
    return client.post("/verify", data={"code": code})


def unconfirmed(client, **fields):
    """Sign in as a customer whose contact is not confirmed, and ask for the code."""
    if "email" not in fields:
        fields.setdefault("mobile", "+919876543210")
    user = factories.make_user(verified_at=None, password=GOOD_PASSWORD, **fields)
    db.session.commit()
    response = client.post("/login", data={"login": user.email or user.mobile, "password": GOOD_PASSWORD})
    assert response.status_code == 302
    assert client.post("/verify/resend").headers["Location"] == "/verify"
    return user


def other(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_an_unconfirmed_customer_gets_a_code_and_nothing_works_until_it_is_typed(client, outbox):
    user = unconfirmed(client)
    assert [m.to for m in outbox] == ["+919876543210"]
    code = code_in(outbox[0])

    page = client.get("/verify").get_data(as_text=True)
    assert "We sent a 6-digit code to +91\u00a098XXXXX210" in page
    for path in ("/", "/connections", "/connections/link", "/profile", "/pay", "/password"):
        assert client.get(path).headers["Location"] == "/verify", path
    assert client.post("/connections/link", data={"consumer_number": "1700000001"}).headers["Location"] == "/verify"

    wrong = confirm(client, other(code))
    assert wrong.status_code == 422 and "That code is not right" in wrong.get_data(as_text=True)
    done = confirm(client, code)
    assert done.status_code == 302 and done.headers["Location"] == "/connections/link"
    db.session.refresh(user)
    assert user.verified_at is not None
    assert client.get("/connections").status_code == 200
    assert client.get("/verify").headers["Location"] == "/"  # nothing left to confirm


def test_an_email_only_customer_gets_the_code_by_email(client, outbox):
    unconfirmed(client, email="asha@example.com")
    assert outbox[-1].to == "asha@example.com"
    assert "a…@example.com" in client.get("/verify").get_data(as_text=True)
    assert confirm(client, code_in(outbox[-1])).status_code == 302


def test_an_expired_code_is_refused_and_a_new_one_can_be_sent_after_the_cool_down(client, outbox, clock):
    unconfirmed(client)
    first = code_in(outbox[-1])
    page = client.get(client.post("/verify/resend").headers["Location"]).get_data(as_text=True)
    assert "You can ask for a new code after" in page and len(outbox) == 1
    clock.move_to(utcnow() + timedelta(minutes=11), tick=False)
    response = confirm(client, first)
    assert response.status_code == 422 and "This code has expired" in response.get_data(as_text=True)
    client.post("/verify/resend")
    assert len(outbox) == 2
    assert confirm(client, code_in(outbox[-1])).status_code == 302


def test_wrong_codes_are_limited(client, outbox, clock):
    unconfirmed(client)
    code = code_in(outbox[-1])
    for _ in range(4):
        confirm(client, other(code))
    assert "the last try for it" in confirm(client, other(code)).get_data(as_text=True)
    assert confirm(client, code).status_code == 422
    clock.move_to(utcnow() + timedelta(minutes=1), tick=False)
    client.post("/verify/resend")
    code = code_in(outbox[-1])
    for _ in range(5):
        confirm(client, other(code))
    response = confirm(client, code)
    assert response.status_code == 429 and "Too many wrong codes" in response.get_data(as_text=True)


def test_an_unverified_customer_may_sign_out_and_back_in_and_verify_later(client, outbox, clock):
    unconfirmed(client)
    assert client.post("/logout").headers["Location"] == "/login"
    login = client.post("/login", data={"login": "9876543210", "password": GOOD_PASSWORD})
    assert client.get(login.headers["Location"]).headers["Location"] == "/verify"
    clock.move_to(utcnow() + timedelta(minutes=11), tick=False)
    page = client.get("/verify").get_data(as_text=True)
    assert "Your account is not confirmed yet" in page  # the code sent earlier expired
    client.post("/verify/resend")
    assert confirm(client, code_in(outbox[-1])).status_code == 302


def test_staff_need_no_code(client, login_as):
    user = factories.make_user(role="admin", email="boss@example.com", verified_at=None)
    db.session.commit()
    client.post("/login", data={"login": user.email, "password": factories.PASSWORD})
    assert client.get("/staff").status_code == 200


def test_someone_signing_up_with_my_mobile_cannot_keep_me_out(app, client, outbox, clock):
    squatter = app.test_client()
    register(squatter, mobile="9876543210", password="squatters-pass-1", confirm="squatters-pass-1")
    assert squatter.post("/register/confirm", data={"code": "000000"}).status_code == 422  # the code is on my phone
    register(client, mobile="9876543210")  # my own sign-up is not blocked by theirs
    assert client.post("/register/confirm", data={"code": sign_up_code(outbox)}).status_code == 302
    assert client.get("/connections").status_code == 200
    refused = squatter.post("/register/confirm", data={"code": code_in(outbox[0])})
    assert refused.status_code == 422  # even with my first code, their sign-up makes no second account
    assert db.session.scalar(select(User.name)) == "Asha Patil"
