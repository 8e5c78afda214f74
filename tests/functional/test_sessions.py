"""A sign-in ends after a while without use (idle) and after a fixed time whatever happens (absolute): shorter for
staff than for customers. A session is not bound to the browser's User-Agent (a phone's browser updates itself)."""

from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db

SIGNED_IN_AT = datetime(2026, 2, 28, 18, 25, tzinfo=UTC)  # 23:55 in India on 28 Feb: the limits cross a month end


def page(client, url):
    return client.get(url, headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/140"})


@pytest.mark.parametrize("role, home, idle", [("customer", "/notifications", timedelta(days=30)),
                                              ("support", "/staff", timedelta(hours=1))])
def test_a_session_ends_after_its_idle_time_without_a_request(client, login_as, clock, role, home, idle):
    clock.move_to(SIGNED_IN_AT, tick=False)
    login_as(role)
    clock.shift(idle)  # exactly the idle time: still in
    assert page(client, home).status_code == 200
    clock.shift(idle + timedelta(seconds=1))
    response = page(client, home)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out after a while without use" in login_page
    assert page(client, home).status_code == 302  # and it stays ended


@pytest.mark.parametrize("role, home, every, longest", [
    ("support", "/staff", timedelta(minutes=50), timedelta(hours=12)),
    ("customer", "/notifications", timedelta(days=20), timedelta(days=90)),
])
def test_a_session_in_use_ends_at_its_absolute_limit(client, login_as, clock, role, home, every, longest):
    clock.move_to(SIGNED_IN_AT, tick=False)
    login_as(role)
    used = timedelta(0)
    while used + every <= longest:
        clock.shift(every)
        used += every
        assert page(client, home).status_code == 200, used
    clock.move_to(SIGNED_IN_AT + longest + timedelta(seconds=1), tick=False)
    assert page(client, home).status_code == 302


def test_the_users_language_survives_the_end_of_a_session(client, login_as, clock):
    clock.move_to(SIGNED_IN_AT, tick=False)
    login_as("customer", locale="hi_IN")
    clock.shift(timedelta(days=31))
    response = page(client, "/notifications")
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'lang="hi' in login_page


def test_a_changed_user_agent_does_not_end_a_session(client, login_as):
    login_as("customer")
    assert client.get("/notifications", headers={"User-Agent": "Chrome/140"}).status_code == 200
    assert client.get("/notifications", headers={"User-Agent": "Chrome/141 (updated)"}).status_code == 200


def test_signing_out_everywhere_still_ends_every_session(client, login_as):
    user = login_as("customer")
    user.session_version += 1  # as "sign out everywhere" or a new password does
    db.session.commit()
    assert client.get("/notifications").status_code == 302
