import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.auth.contacts import normalise_mobile
from app.auth.models import PasswordResetToken, PendingSignUp, PrivacyConsent, Role, ThrottleCounter, User
from app.db import utcnow
from app.extensions import db
from tests import factories

GOOD_PASSWORD = "monsoon-meter-42"


def register(client, **fields):
    data = {"name": "Asha Patil", "mobile": "", "password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD, "consent": "y"}
    return client.post("/register", data={**data, **fields})


def sign_up_code(outbox) -> str:
    match = re.match(r"(\d{6}) is your code to confirm your D-Tech account", outbox[-1].body)
    assert match, outbox[-1].body
    return match.group(1)


def sign_up(client, outbox, mobile="9876543210", **fields):
    """Register and type the code: a new, signed-in customer."""
    assert register(client, mobile=mobile, **fields).headers["Location"] == "/register/confirm"
    response = client.post("/register/confirm", data={"code": sign_up_code(outbox)})
    assert response.status_code == 302 and response.headers["Location"] == "/connections/link", response.data
    return db.session.scalar(select(User).where(User.mobile == normalise_mobile(mobile)))


def login(client, login, password=factories.PASSWORD, **environ):  # environ: e.g. REMOTE_ADDR
    return client.post("/login", data={"login": login, "password": password}, environ_base=environ)


def signed_in(client) -> bool:
    return client.get("/connections").status_code == 200


# --- registration


def test_register_then_the_code_makes_the_account_and_signs_in(client, outbox):
    response = register(client, mobile="+91 98765 43210")
    assert response.status_code == 302 and response.headers["Location"] == "/register/confirm"
    assert db.session.scalar(select(User)) is None  # nothing until the number is proved
    pending = db.session.scalar(select(PendingSignUp))
    assert pending.mobile == "+919876543210" and pending.password_hash.startswith("$argon2id$")
    assert [m.to for m in outbox] == ["+919876543210"]
    page = client.get("/register/confirm").get_data(as_text=True)
    assert "We sent a code to +91\u00a098XXXXX210" in page

    response = client.post("/register/confirm", data={"code": sign_up_code(outbox)})
    assert response.status_code == 302 and response.headers["Location"] == "/connections/link"
    user = db.session.scalar(select(User))
    assert user.mobile == "+919876543210" and user.email is None and user.role is Role.CUSTOMER
    assert user.is_verified and user.password_hash == pending.password_hash
    assert signed_in(client)
    client.post("/logout")
    assert login(client, "09876543210", GOOD_PASSWORD).status_code == 302
    assert signed_in(client)


@pytest.mark.parametrize(("fields", "message"), [
    ({}, "Please fill this in."),
    ({"mobile": "12345"}, "Enter a 10-digit Indian mobile number"),
    ({"mobile": "9876543210", "password": "short", "confirm": "short"}, "Use at least 8 characters."),
    ({"mobile": "9876543210", "password": "iloveyou1", "confirm": "iloveyou1"}, "too common"),
    ({"mobile": "9876543210", "confirm": "something-else"}, "The two passwords differ."),
    ({"mobile": "9876543210", "consent": ""}, "Tick the box to agree to the privacy notice."),
])
def test_registration_refuses_bad_input_with_a_clear_message(client, outbox, fields, message):
    response = register(client, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(PendingSignUp)) is None and outbox == []


def _without_the_number(page: str) -> str:
    """The page, less what differs by design: the number typed (its hint) and the session's CSRF token."""
    page = re.sub(r"\+91\u00a0\d\dXXXXX\d{3}", "NUMBER", page)
    return re.sub(r"[\w-]{20,}\.[\w-]+\.[\w-]+", "TOKEN", page)


def test_a_registered_number_gets_the_same_answer_and_its_holder_a_warning(app, client, outbox):
    holder = factories.make_user(mobile="+919876543210", locale="hi_IN")
    db.session.commit()
    stranger = app.test_client()
    registered = register(client, mobile="9876543210")
    new = register(stranger, mobile="9811111111")
    assert (registered.status_code, registered.headers["Location"], registered.data) == \
        (new.status_code, new.headers["Location"], new.data)
    pages = [_without_the_number(c.get("/register/confirm").get_data(as_text=True)) for c in (client, stranger)]
    assert pages[0] == pages[1]

    warning, code = outbox  # the holder is warned, in their language; the new number gets its code
    assert warning.to == holder.mobile and warning.kind == "sign_up_warning"
    assert "http://localhost/forgot" in warning.body and not re.search(r"\d{6}", warning.body)
    assert code.to == "+919811111111" and sign_up_code([code])
    assert warning.body != code.body and "D-Tech Power" in warning.body

    # No code completes the sign-up of a registered number: every one is "not right", as a wrong guess is.
    wrong = client.post("/register/confirm", data={"code": "123456"})
    assert wrong.status_code == 422 and "That code is not right" in wrong.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_a_sign_up_request_runs_the_same_sql_for_a_registered_number_and_a_new_one(app, monkeypatch):
    """Mirrors the /forgot test below: the request stores the sign-up and enqueues the task, the same statements
    either way; only the task (after the response) looks the number up."""
    from sqlalchemy import event

    from app.auth import services

    factories.make_user(mobile="+919811111111")
    db.session.commit()
    enqueued = []
    monkeypatch.setattr(services, "after_commit", enqueued.append)

    def statements_for(mobile: str) -> list[str]:
        seen = []

        def keep(_conn, _cursor, statement, *_args):
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            with app.test_request_context("/register", method="POST"):
                services.start_sign_up("Asha", mobile, GOOD_PASSWORD, "en_IN", f"203.0.113.{len(enqueued) + 1}",
                                       "http://localhost/")
                db.session.flush()
                db.session.rollback()
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
        return seen

    registered, new = statements_for("9811111111"), statements_for("9899999999")
    assert registered == new and any("pending_sign_ups" in statement for statement in registered)
    assert all("FROM users" not in statement for statement in registered)
    assert len(enqueued) == 2


def test_a_wrong_or_expired_sign_up_code_is_refused_and_a_new_one_can_be_sent(client, outbox, clock):
    register(client, mobile="9876543210")
    code = sign_up_code(outbox)
    wrong = client.post("/register/confirm", data={"code": f"{(int(code) + 1) % 1_000_000:06d}"})
    assert wrong.status_code == 422 and "That code is not right" in wrong.get_data(as_text=True)
    too_soon = client.get(client.post("/register/resend").headers["Location"]).get_data(as_text=True)
    assert "You can ask for a new code after" in too_soon and len(outbox) == 1
    clock.move_to(utcnow() + timedelta(minutes=11), tick=False)
    expired = client.post("/register/confirm", data={"code": code})
    assert expired.status_code == 422 and "This code has expired" in expired.get_data(as_text=True)
    client.post("/register/resend")
    assert len(outbox) == 2
    assert client.post("/register/confirm", data={"code": sign_up_code(outbox)}).status_code == 302
    assert db.session.scalar(select(User.mobile)) == "+919876543210"


def test_two_sign_ups_of_one_number_make_one_account(app, client, outbox):
    other = app.test_client()
    register(client, mobile="9876543210")
    first = sign_up_code(outbox)
    register(other, mobile="9876543210", name="Someone Else")
    second = sign_up_code(outbox)
    assert client.post("/register/confirm", data={"code": first}).status_code == 302
    refused = other.post("/register/confirm", data={"code": second})
    assert refused.status_code == 422 and "already registered" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_the_unique_mobile_constraint_holds_in_the_database(app):
    factories.make_user(mobile="+919876543210")
    db.session.commit()
    with pytest.raises(IntegrityError):
        factories.make_user(mobile="+919876543210")
    db.session.rollback()


def test_sign_up_records_the_consent_to_the_privacy_notice(client, outbox):
    user = sign_up(client, outbox)
    consent = db.session.scalar(select(PrivacyConsent).where(PrivacyConsent.user_id == user.id))
    assert consent.version == client.application.config["PRIVACY_NOTICE_VERSION"]


# --- signing in


def test_sign_in_by_email_and_by_mobile(client):
    factories.make_user(email="ravi@example.com", mobile="+919811111111")
    db.session.commit()
    assert login(client, "RAVI@example.com").status_code == 302
    client.post("/logout")
    assert login(client, "+91 98111 11111").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    wrong_password = login(client, "9811111111", "not-the-password")
    unknown_user = login(client, "9822222222", "not-the-password")
    for response in (wrong_password, unknown_user):
        assert response.status_code == 422
        assert "The mobile number, email or password is not right." in response.get_data(as_text=True)
    assert not signed_in(client)


@pytest.mark.parametrize("target", ["//evil.example/x", "/\t/evil.example", "/\n/evil.example", "/\\evil.example",
                                    "https://evil.example/", "javascript:alert(1)"])
def test_sign_in_never_redirects_off_site(client, target):
    from urllib.parse import quote

    factories.make_user(mobile="+919811111111")
    db.session.commit()
    response = client.post(f"/login?next={quote(target, safe='')}",
                           data={"login": "9811111111", "password": factories.PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_sign_in_redirects_only_to_local_pages(client):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    response = client.post("/login?next=//evil.example/x", data={"login": "9811111111",
                                                                   "password": factories.PASSWORD})
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=/connections", data={"login": "9811111111",
                                                              "password": factories.PASSWORD})
    assert response.headers["Location"] == "/connections"


def test_account_locks_after_five_failures_and_says_when_to_retry(client):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    for _ in range(5):
        assert login(client, "9811111111", "wrong-password").status_code == 422
    locked = login(client, "9811111111")  # even the right password is refused while locked
    assert locked.status_code == 429
    assert re.search(r"Too many failed attempts. Try again after \d\d:\d\d IST", locked.get_data(as_text=True))
    assert not signed_in(client)


def test_a_guesser_cannot_lock_the_owner_out_of_a_phone_that_signed_in_before(app, client):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    assert login(client, "9811111111").status_code == 302  # the owner's phone: known from now on
    client.post("/logout")
    guesser = app.test_client()
    for _ in range(5):
        assert login(guesser, "9811111111", "wrong-password").status_code == 422
    assert login(guesser, "9811111111").status_code == 429  # the guesser is locked out, right password or not
    assert login(client, "9811111111").status_code == 302  # the owner is not
    assert signed_in(client)


def test_a_known_phone_is_limited_too_but_apart(app, client):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    login(client, "9811111111")
    client.post("/logout")
    for _ in range(5):
        assert login(client, "9811111111", "wrong-password").status_code == 422
    assert login(client, "9811111111").status_code == 429  # a stolen phone cannot guess without end
    assert login(app.test_client(), "9811111111").status_code == 302  # the account itself is not locked


def test_a_forged_known_device_cookie_counts_for_nothing(app, client):
    from app.auth.devices import COOKIE

    factories.make_user(mobile="+919811111111")
    db.session.commit()
    for _ in range(5):
        login(client, "9811111111", "wrong-password")
    client.set_cookie(COOKIE, "WzFd.forged-signature")
    assert login(client, "9811111111").status_code == 429


def test_lock_expires_after_the_window(client):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    for _ in range(5):
        login(client, "9811111111", "wrong-password")
    assert "Too many failed attempts" in login(client, "9811111111").get_data(as_text=True)
    db.session.execute(update(ThrottleCounter).values(window_start=utcnow() - timedelta(minutes=16)))
    db.session.commit()
    assert login(client, "9811111111").status_code == 302


def test_success_clears_the_account_failures(client):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    for _ in range(4):
        login(client, "9811111111", "wrong-password")
    assert login(client, "9811111111").status_code == 302
    client.post("/logout")
    for _ in range(4):
        login(client, "9811111111", "wrong-password")
    assert login(client, "9811111111").status_code == 302


def test_one_ip_trying_many_accounts_is_throttled(client):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    for n in range(100):
        login(client, f"98000000{n:02d}", "guess-password", REMOTE_ADDR="203.0.113.9")
    response = login(client, "9811111111", REMOTE_ADDR="203.0.113.9")
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert login(client, "9811111111", REMOTE_ADDR="203.0.113.10").status_code == 302


def test_throttle_counts_live_in_the_database_not_in_a_worker(client):
    login(client, "9811111111", "wrong-password")
    assert db.session.scalar(select(ThrottleCounter.count).where(ThrottleCounter.scope == "login")) == 1
    stored = db.session.scalars(select(ThrottleCounter.key_hash)).all()
    assert all(len(k) == 64 and "981111" not in k for k in stored)  # hashed, no phone numbers


# --- sessions


def test_logout_ends_the_session_even_for_a_copied_cookie(app, client):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    login(client, "9811111111")
    copied = client.get_cookie("session").value
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/connections").status_code == 302


def test_logout_needs_a_post(client, login_as):
    login_as("customer")
    assert client.get("/logout").status_code == 405
    assert signed_in(client)


def test_change_password_signs_out_other_devices(app, client):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    other_device = app.test_client()
    login(other_device, "9811111111")
    login(client, "9811111111")
    wrong = client.post("/password", data={"current": "nope-nope", "password": GOOD_PASSWORD,
                                           "confirm": GOOD_PASSWORD})
    assert "Your current password is not right." in wrong.get_data(as_text=True)
    ok = client.post("/password", data={"current": factories.PASSWORD, "password": GOOD_PASSWORD,
                                        "confirm": GOOD_PASSWORD})
    assert ok.status_code == 302
    assert signed_in(client)
    assert not signed_in(other_device)
    client.post("/logout")
    assert login(client, "9811111111", GOOD_PASSWORD).status_code == 302


# --- password reset


def reset_link(outbox) -> str:
    match = re.search(r"http://localhost(/reset\?token=[\w-]+)", outbox[-1].body)
    assert match, outbox[-1].body
    return match.group(1)


def test_password_reset_by_mobile_works_once(client, outbox):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    response = client.post("/forgot", data={"login": "98111 11111"})
    assert response.status_code == 302
    assert len(outbox) == 1 and outbox[0].to == "+919811111111"
    path = reset_link(outbox)
    assert db.session.scalar(select(PasswordResetToken.token_hash)) not in path  # only a hash is stored

    assert client.get(path).status_code == 200
    done = client.post(path, data={"password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert login(client, "9811111111", GOOD_PASSWORD).status_code == 302
    client.post("/logout")

    again = client.post(path, data={"password": "another-good-one", "confirm": "another-good-one"})
    assert again.headers["Location"] == "/forgot"
    assert login(client, "9811111111", "another-good-one").status_code == 422


def test_a_reset_lets_the_owner_in_on_a_new_phone_after_a_guesser_locked_the_account(app, client, outbox):
    """Regression (review): after 5 wrong guesses elsewhere, the owner's reset on a new phone still met 429."""
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    guesser = app.test_client()
    for _ in range(5):
        login(guesser, "9811111111", "wrong-password")
    assert login(client, "9811111111").status_code == 429  # a new phone: locked like the guesser
    client.post("/forgot", data={"login": "9811111111"})
    path = reset_link(outbox)
    client.post(path, data={"password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD})
    assert login(client, "9811111111", GOOD_PASSWORD).status_code == 302
    for _ in range(5):  # the guesser comes back: the owner's phone, proven by the link, stays in
        login(guesser, "9811111111", "wrong-password")
    client.post("/logout")
    assert login(client, "9811111111", GOOD_PASSWORD).status_code == 302


def test_password_reset_by_email_goes_to_the_email(client, outbox):
    factories.make_user(email="ravi@example.com", mobile="+919811111111")
    db.session.commit()
    client.post("/forgot", data={"login": "ravi@example.com"})
    assert outbox[-1].to == "ravi@example.com"


def test_expired_reset_link_is_refused(client, outbox):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    client.post("/forgot", data={"login": "9811111111"})
    path = reset_link(outbox)
    db.session.execute(update(PasswordResetToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.get(path).headers["Location"] == "/forgot"
    response = client.post(path, data={"password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD})
    assert response.headers["Location"] == "/forgot"
    assert login(client, "9811111111", GOOD_PASSWORD).status_code == 422


def test_a_new_password_voids_the_other_reset_links(client, outbox):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    client.post("/forgot", data={"login": "9811111111"})
    first = reset_link(outbox)
    client.post("/forgot", data={"login": "9811111111"})
    second = reset_link(outbox)
    client.post(second, data={"password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD})
    assert client.get(first).headers["Location"] == "/forgot"


def test_reset_request_for_an_unknown_login_looks_the_same_and_sends_nothing(client, outbox):
    response = client.post("/forgot", data={"login": "9899999999"}, follow_redirects=True)
    assert "If that number or email is registered" in response.get_data(as_text=True)
    assert outbox == []


def test_a_reset_request_does_the_same_work_for_a_registered_number_and_an_unknown_one(app, monkeypatch):
    """Its time must not tell whether a number is registered: the request counts the attempt and enqueues the
    task, the same statements either way; the task (after the response) looks the number up."""
    from sqlalchemy import event

    from app.auth import services

    factories.make_user(mobile="+919811111111")
    db.session.commit()
    enqueued = []
    monkeypatch.setattr(services, "after_commit", enqueued.append)

    def statements_for(login: str) -> list[str]:
        seen = []

        def keep(_conn, _cursor, statement, *_args):
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            with app.test_request_context("/forgot", method="POST"):
                services.request_password_reset(login, f"203.0.113.{len(enqueued) + 1}", "http://localhost/")
                db.session.flush()
                db.session.rollback()
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
        return seen

    registered, unknown = statements_for("9811111111"), statements_for("9899999999")
    assert registered == unknown and len(registered) >= 1
    assert [work.args for work in enqueued] == [("9811111111", "http://localhost/"),
                                                ("9899999999", "http://localhost/")]


def test_reset_requests_are_throttled_per_ip(client, outbox):
    for _ in range(10):
        client.post("/forgot", data={"login": "9899999999"})
    assert client.post("/forgot", data={"login": "9899999999"}).status_code == 429


# --- CSRF


def test_every_form_post_needs_the_csrf_token(app, client):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = login(client, "9811111111")
        assert refused.status_code == 400
        assert "This form has expired" in refused.get_data(as_text=True)
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert f'"X-CSRFToken": "{token}"' in page  # htmx sends it as a header on every request
        accepted = client.post("/login", data={"login": "9811111111", "password": factories.PASSWORD,
                                               "csrf_token": token})
        assert accepted.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_registrations_from_one_address_are_throttled(client, outbox):
    for n in range(20):
        assert register(client, mobile=f"98000000{n:02d}").status_code == 302
    response = register(client, mobile="9811111111")
    assert response.status_code == 429
    assert "Too many sign-ups from this network" in response.get_data(as_text=True)


def test_wrong_current_passwords_are_throttled(client, login_as):
    login_as("customer")
    for _ in range(5):
        client.post("/password", data={"current": "wrong-guess-1", "password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD})
    response = client.post("/password", data={"current": factories.PASSWORD, "password": GOOD_PASSWORD,
                                              "confirm": GOOD_PASSWORD})
    assert response.status_code == 429


def test_reset_links_per_person_are_limited_silently(client, outbox):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    for n in range(5):
        response = client.post("/forgot", data={"login": "9811111111"}, environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
        assert response.status_code == 302  # same answer every time
    assert len(outbox) == 3


def test_parallel_sign_ins_all_succeed_and_parallel_guesses_stay_within_the_limit(app):
    """Two people signing in at once must not get an error page (SQLite writers queue, PostgreSQL locks)."""
    from concurrent.futures import ThreadPoolExecutor

    mobiles = [factories.make_user(mobile=f"+9198111111{n:02d}").mobile for n in range(8)]
    factories.make_user(mobile="+919822222222")
    db.session.commit()

    def sign_in(mobile):
        with app.test_client() as own:
            return own.post("/login", data={"login": mobile, "password": factories.PASSWORD}).status_code

    def guess(n):
        with app.test_client() as own:
            return own.post("/login", data={"login": "+919822222222", "password": f"guess-{n}"}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(sign_in, mobiles)) == [302] * 8
        statuses = list(pool.map(guess, range(16)))
    assert set(statuses) <= {422, 429}
    db.session.commit()
    counted = db.session.scalar(select(ThrottleCounter.count).where(ThrottleCounter.scope == "login"))
    assert counted == 5 and statuses.count(422) == 5  # only five guesses were ever checked against the password


def test_the_sign_in_page_warns_about_fraud_once(client):
    page = client.get("/login").get_data(as_text=True)
    assert page.count("We never send links to pay elsewhere") == 1
    assert "Disconnection threats by SMS or WhatsApp are fraud." in page


@pytest.mark.parametrize("attempts, limit", [(60, 5), (200, 100)])
def test_parallel_attempts_never_overrun_a_limit(app, attempts, limit):
    """Counted by one atomic statement before the attempt is tried: however many arrive at once, exactly the
    limit's number go ahead (counting first and checking later let 12 of 60 through a limit of 5)."""
    from concurrent.futures import ThreadPoolExecutor

    from app.auth import throttle
    from app.db import begin_write

    guard = [("test", "203.0.113.50", throttle.Limit(limit, timedelta(minutes=15)))]

    def one(_n) -> bool:
        with app.app_context():
            begin_write(db.session)
            allowed = throttle.attempt(guard) is None
            db.session.commit()
            return allowed

    with ThreadPoolExecutor(max_workers=16) as pool:
        allowed = list(pool.map(one, range(attempts)))
    assert allowed.count(True) == limit


def test_parallel_sign_ups_of_one_number_make_one_account(app, outbox):
    """Five sign-ups of one number, each with its right code, confirmed at the same moment: one account."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    clients, codes = [], []
    for n in range(5):  # CODE_SENDS_PER_USER: five codes an hour per number
        own = app.test_client()
        register(own, mobile="9876543210", name=f"Asha {n}")
        clients.append(own)
        codes.append(sign_up_code(outbox))
    start = threading.Barrier(len(clients))

    def confirm(index: int) -> int:
        start.wait()
        return clients[index].post("/register/confirm", data={"code": codes[index]}).status_code

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        statuses = sorted(pool.map(confirm, range(len(clients))))
    assert statuses == [302] + [422] * (len(clients) - 1)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User).where(User.mobile == "+919876543210")) == 1
