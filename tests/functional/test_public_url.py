"""Links sent away from the site (reset and invite links) carry its configured address, never the Host header a
client sent: a forged Host on someone else's reset request must not put the forger's address in a real link."""

import re

import pytest

from app.auth.management import invite_staff
from app.auth.models import Role
from app.extensions import db
from tests import factories

SITE = "https://bills.utility.example"


@pytest.fixture
def public_url(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", SITE)


def link_in(message) -> str:
    return re.search(r"\S+/reset\?token=[\w-]+", message.body).group(0)


def test_a_reset_asked_with_a_forged_host_links_to_the_site(client, outbox, public_url):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    client.post("/forgot", data={"login": "9811111111"}, headers={"Host": "evil.example"})
    assert link_in(outbox[-1]).startswith(f"{SITE}/reset?token=")
    assert "evil.example" not in outbox[-1].body


def test_a_staff_invite_links_to_the_site_whatever_host_the_admin_used(app, outbox, public_url):
    admin = factories.make_user(role="admin")
    with app.test_request_context("/staff/users", base_url="http://10.0.0.5:8000"):
        invite_staff(admin, "Kiran Rao", Role.SUPPORT, None, email="kiran@utility.example")
        db.session.commit()
    assert link_in(outbox[-1]).startswith(f"{SITE}/reset?token=")


def test_without_the_setting_links_follow_the_address_asked(client, outbox):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    client.post("/forgot", data={"login": "9811111111"}, headers={"Host": "bills.local:8000"})
    assert link_in(outbox[-1]).startswith("http://bills.local:8000/reset?token=")


def test_a_sign_up_warning_to_a_registered_number_links_to_the_site(client, outbox, public_url):
    """Someone signs up with a registered number and a forged Host: the real holder's warning names the site."""
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    client.post("/register", data={"name": "Someone", "mobile": "9811111111", "password": "monsoon-meter-42",
                                   "confirm": "monsoon-meter-42", "consent": "y"}, headers={"Host": "evil.example"})
    warning = outbox[-1].body
    assert f"{SITE}/forgot" in warning and "evil.example" not in warning
