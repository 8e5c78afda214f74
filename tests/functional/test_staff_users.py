"""/staff/users: head-office admins manage staff (created with a one-time link to choose their password, role
and office changed, switched off) and customers (locked, unlocked, their sign-ins seen)."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditLog
from app.auth.models import Role, SignIn, User
from app.auth.sign_ins import device_summary, network_of
from app.extensions import db
from app.messaging.kinds import MessageKind
from tests import factories

GOOD_PASSWORD = "a-long-new-password"
ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Mobile Safari/537.36")


def second_client(app):
    return app.test_client()


def login(client, login, password=factories.PASSWORD, **environ):
    return client.post("/login", data={"login": login, "password": password}, environ_base=environ)


def invite_link(outbox) -> str:
    match = re.search(r"http://localhost(/reset\?token=[\w-]+)", outbox[-1].body)
    assert match, outbox[-1].body
    return match.group(1)


@pytest.mark.parametrize("role", ["support", "billing"])
def test_only_admins_open_the_people_audit_and_system_pages(client, login_as, role):
    login_as(role)
    for path in ("/staff/users", "/staff/audit", "/staff/system"):
        assert client.get(path).status_code == 403


def test_an_admin_of_an_office_is_refused_and_not_shown_the_links(client, login_as):
    login_as("admin", office="Pune")
    for path in ("/staff/users", "/staff/audit", "/staff/system", "/staff/users/1"):
        assert client.get(path).status_code == 403
    page = client.get("/staff").get_data(as_text=True)
    assert "/staff/users" not in page and "/staff/audit" not in page


def test_a_head_office_admin_sees_staff_with_role_office_and_last_sign_in(client, login_as):
    admin = login_as("admin")
    factories.make_user("billing", name="Meera Billing", email="meera@dtech.example", office="Pune")
    db.session.commit()
    page = client.get("/staff/users").get_data(as_text=True)
    assert "Meera Billing" in page and "meera@dtech.example" in page and "Billing officer" in page
    assert "Pune" in page and "Never" in page
    assert admin.name in page


def test_a_new_staff_member_chooses_a_password_through_a_link_that_works_once(client, login_as, outbox, app):
    admin = login_as("admin")
    factories.make_account(region="Pune")
    db.session.commit()
    response = client.post("/staff/users", data={"name": "Asha Support", "email": "Asha@DTech.example",
                                                  "role": "support", "office": "Pune"})
    assert response.status_code == 303
    asha = db.session.scalar(select(User).where(User.email == "asha@dtech.example"))
    assert (asha.role, asha.office, asha.active) == (Role.SUPPORT, "Pune", True)
    assert outbox[-1].to == "asha@dtech.example" and outbox[-1].kind == MessageKind.STAFF_INVITE
    created = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.created"))
    assert created.actor_id == admin.id and created.details["after"]["office"] == "Pune"

    newcomer = second_client(app)
    path = invite_link(outbox)
    assert newcomer.get(path).status_code == 200
    done = newcomer.post(path, data={"password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD})
    assert done.headers["Location"] == "/login"
    assert login(newcomer, "asha@dtech.example", GOOD_PASSWORD).headers["Location"] == "/staff"
    newcomer.post("/logout")
    again = newcomer.post(path, data={"password": "another-good-one", "confirm": "another-good-one"})
    assert again.headers["Location"] == "/forgot"
    assert login(newcomer, "asha@dtech.example", "another-good-one").status_code == 422


def test_the_first_password_link_expires(client, login_as, outbox, app, clock):
    login_as("admin")
    client.post("/staff/users", data={"name": "Late Larry", "mobile": "98765 43210", "role": "support",
                                      "office": ""})
    path = invite_link(outbox)
    assert outbox[-1].to == "+919876543210"
    clock.move_to(db.session.scalar(select(User.created_at).where(User.name == "Late Larry"))
                  + app.config["STAFF_INVITE_TTL"] + timedelta(minutes=1))
    newcomer = second_client(app)
    assert newcomer.get(path).headers["Location"] == "/forgot"
    newcomer.post(path, data={"password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD})
    assert login(newcomer, "9876543210", GOOD_PASSWORD).status_code == 422


def test_a_new_staff_member_needs_a_contact_and_a_known_office(client, login_as):
    login_as("admin")
    no_contact = client.post("/staff/users", data={"name": "Nobody", "role": "support", "office": ""})
    assert no_contact.status_code == 422
    unknown_office = client.post("/staff/users", data={"name": "X", "email": "x@dtech.example", "role": "support",
                                                        "office": "Atlantis"})
    assert unknown_office.status_code == 422
    customer_role = client.post("/staff/users", data={"name": "X", "email": "x@dtech.example", "role": "customer",
                                                       "office": ""})
    assert customer_role.status_code == 422
    assert db.session.scalar(select(User).where(User.name.in_(["Nobody", "X"]))) is None


def test_changing_role_and_office_is_audited_with_before_and_after(client, login_as):
    admin = login_as("admin")
    factories.make_account(region="Nagpur")
    member = factories.make_user("support")
    db.session.commit()
    client.post(f"/staff/users/{member.id}/role", data={"role": "billing", "office": "Nagpur"})
    db.session.refresh(member)
    assert (member.role, member.office) == (Role.BILLING, "Nagpur")
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.role_changed"))
    assert entry.actor_id == admin.id and entry.object_id == str(member.id)
    assert entry.details["before"] == {"role": "support", "office": None, "active": True}
    assert entry.details["after"] == {"role": "billing", "office": "Nagpur", "active": True}


def test_the_last_head_office_admin_cannot_be_demoted_or_switched_off(client, login_as):
    admin = login_as("admin")
    client.post(f"/staff/users/{admin.id}/role", data={"role": "support", "office": ""})
    client.post(f"/staff/users/{admin.id}/deactivate")
    db.session.refresh(admin)
    assert (admin.role, admin.active) == (Role.ADMIN, True)  # nobody changes themselves

    from app.auth import management

    other = factories.make_user("admin")
    db.session.commit()
    # Another admin demotes the first; then the first (now the only one) cannot be demoted by anyone.
    management.change_role_and_office(other, admin, Role.SUPPORT, None)
    with pytest.raises(management.ManagementRefused, match="last active head-office admin"):
        management.change_role_and_office(admin, other, Role.SUPPORT, None)
    with pytest.raises(management.ManagementRefused, match="last active head-office admin"):
        management.set_active(admin, other, False)
    with pytest.raises(management.ManagementRefused, match="last active head-office admin"):
        management.change_role_and_office(admin, other, Role.ADMIN, "Pune")  # an office admin cannot manage


def test_an_admin_switched_off_by_another_is_signed_out(client, login_as):
    login_as("admin")
    last = factories.make_user("admin", name="Last Admin")
    db.session.commit()
    from app.auth import management

    me = db.session.scalar(select(User).where(User.role == Role.ADMIN, User.name != "Last Admin"))
    management.set_active(last, me, False)  # another admin switches the signed-in one off: their session ends
    db.session.commit()
    assert client.get("/staff/users").status_code == 302  # signed out


def test_switching_staff_off_ends_their_open_session(client, login_as, app):
    login_as("admin")
    member = factories.make_user("support")
    db.session.commit()
    theirs = second_client(app)
    assert login(theirs, member.mobile).status_code == 302
    assert theirs.get("/staff").status_code == 200

    assert client.post(f"/staff/users/{member.id}/deactivate").status_code == 303
    assert theirs.get("/staff").headers["Location"].startswith("/login")
    refused = login(theirs, member.mobile)
    assert refused.status_code == 422 and "This account is locked" in refused.get_data(as_text=True)
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.object_id == str(member.id))) == \
        "user.deactivated"

    client.post(f"/staff/users/{member.id}/activate")
    assert login(theirs, member.mobile).status_code == 302


def test_a_locked_customer_cannot_sign_in_and_is_told_so(client, login_as, app):
    login_as("admin")
    customer = factories.make_user(name="Ravi Kumar", mobile="+919811111111")
    db.session.commit()
    theirs = second_client(app)
    assert login(theirs, "9811111111").status_code == 302

    found = client.get("/staff/users?q=98111 11111").get_data(as_text=True)
    assert "Ravi Kumar" in found
    assert "Ravi Kumar" in client.get("/staff/users?q=ravi").get_data(as_text=True)
    client.post(f"/staff/users/{customer.id}/deactivate")

    assert theirs.get("/connections").headers["Location"].startswith("/login")
    refused = login(theirs, "9811111111")
    assert refused.status_code == 422
    assert "This account is locked. Call or visit our office" in refused.get_data(as_text=True)
    wrong = login(theirs, "9811111111", "not-the-password")  # a guesser learns nothing from it
    assert "This account is locked" not in wrong.get_data(as_text=True)
    assert "user.locked" in [e.action for e in db.session.scalars(select(AuditLog))]

    client.post(f"/staff/users/{customer.id}/activate")
    assert login(theirs, "9811111111").status_code == 302


def test_a_customers_page_shows_their_sign_ins_with_device_and_network_only(client, login_as, app):
    login_as("admin")
    customer = factories.make_user(name="Ravi Kumar", mobile="+919811111111")
    db.session.commit()
    login(app.test_client(), "9811111111", REMOTE_ADDR="203.0.113.57", HTTP_USER_AGENT=ANDROID_CHROME)
    stored = db.session.scalar(select(SignIn).where(SignIn.user_id == customer.id))
    assert (stored.network, stored.device) == ("203.0.113.0/24", "Chrome on Android")
    page = client.get(f"/staff/users/{customer.id}").get_data(as_text=True)
    assert "Chrome on Android" in page and "203.0.113.0/24" in page and "203.0.113.57" not in page
    assert "Lock the account" in page


def test_sign_in_summaries():
    assert device_summary(ANDROID_CHROME) == "Chrome on Android"
    assert device_summary("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1") == "Safari on iOS"
    assert device_summary("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                          "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0") == "Edge on Windows"
    assert device_summary(None) == "Unknown browser"
    assert network_of("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert network_of("unknown") is None


def test_old_sign_ins_are_pruned(app, clock):
    from app.auth import sign_ins
    from app.auth.tasks import prune_security_records

    user = factories.make_user()
    with app.test_request_context():
        sign_ins.record(user, "198.51.100.1", ANDROID_CHROME)
    db.session.commit()
    clock.move_to(db.session.scalar(select(SignIn.created_at)) + app.config["KEEP"]["sign_ins"] + timedelta(hours=1))
    assert "1 sign-ins" in prune_security_records.call_local()
    db.session.commit()  # the task ran in a session of its own
    assert db.session.scalar(select(SignIn)) is None


def test_the_erase_removes_sign_in_history(client):
    user = factories.make_user(mobile="+919811111111")
    db.session.commit()
    login(client, "9811111111")
    assert db.session.scalar(select(SignIn)) is not None
    from app.auth.services import erase_user

    erase_user(db.session.get(User, user.id), factories.PASSWORD)
    db.session.commit()
    assert db.session.scalar(select(SignIn)) is None


def test_the_user_pages_need_csrf(app, login_as, client):
    admin = login_as("admin")
    member = factories.make_user("support")
    db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"/staff/users/{member.id}/deactivate").status_code == 400
        db.session.refresh(member)
        assert member.active and admin.active
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_unknown_user_is_404(client, login_as):
    login_as("admin")
    assert client.get("/staff/users/999999").status_code == 404
    assert client.post("/staff/users/999999/deactivate").status_code == 404

