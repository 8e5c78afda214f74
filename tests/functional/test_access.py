"""Every URL declares who may open it, and the declaration holds. A new view without one fails here."""

import re

import pytest

from app import create_app
from app.auth.access import PUBLIC
from app.auth.models import Role
from config import TestingConfig

_listing_app = create_app(TestingConfig())
RULES = sorted((r for r in _listing_app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)
NON_PUBLIC = [r for r in RULES if _listing_app.view_functions[r.endpoint].access_policy is not PUBLIC]


def example_url(rule) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: "1" if "int" in m.group(0) or "id" in m.group(1) else "x",
                  rule.rule)


def method_of(rule) -> str:
    return "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS", "HEAD"})[0]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.endpoint)
def test_every_view_declares_an_access_policy(rule):
    policy = getattr(_listing_app.view_functions[rule.endpoint], "access_policy", None)
    assert policy is not None, f"{rule.endpoint} has no @public/@signed_in/@customer_only/@staff_only/@admin_only"


@pytest.mark.parametrize("rule", NON_PUBLIC, ids=lambda r: r.endpoint)
def test_signed_out_visitors_are_sent_to_sign_in(client, rule):
    response = client.open(example_url(rule), method=method_of(rule))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(("rule", "role"), [
    (rule, role) for rule in NON_PUBLIC for role in Role
    if role not in _listing_app.view_functions[rule.endpoint].access_policy
], ids=lambda value: getattr(value, "endpoint", str(value)))
def test_other_roles_are_refused(client, login_as, rule, role):
    login_as(role)
    response = client.open(example_url(rule), method=method_of(rule))
    assert response.status_code == 403


@pytest.mark.parametrize(("rule", "role"), [
    (rule, role) for rule in NON_PUBLIC for role in _listing_app.view_functions[rule.endpoint].access_policy
    if method_of(rule) == "GET"
], ids=lambda value: getattr(value, "endpoint", str(value)))
def test_allowed_roles_get_in(client, login_as, rule, role):
    login_as(role)
    response = client.get(example_url(rule))
    assert response.status_code in (200, 302, 404), response.status_code  # 404: the example id does not exist


def test_a_view_without_a_policy_is_refused_even_if_registered(app):
    from flask import Flask

    from app.auth.access import enforce_access

    bare = Flask(__name__)
    bare.before_request(enforce_access)
    bare.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    assert bare.test_client().get("/forgotten").status_code == 403


def test_staff_pages_are_listed_for_each_role(client, login_as):
    login_as("support")
    assert client.get("/styleguide").status_code == 200
    assert client.get("/").headers["Location"] == "/staff"


# The rule that a decorator alone does not say: support looks up everything, bill runs and corrections
# included, but never starts, resumes or releases a run, nor proposes or decides a correction.
SUPPORT_LOOKS_AT = ("staff_bill_runs.index", "staff_bill_runs.run", "staff_bill_runs.not_billed",
                    "staff_corrections.index")
SUPPORT_NEVER_DOES = ("staff_bill_runs.start", "staff_bill_runs.resume", "staff_bill_runs.release",
                      "staff_corrections.propose", "staff_corrections.approve", "staff_corrections.reject")


def test_support_looks_at_bill_runs_and_corrections_read_only():
    def policy(endpoint):
        return _listing_app.view_functions[endpoint].access_policy

    assert [e for e in SUPPORT_LOOKS_AT if Role.SUPPORT not in policy(e)] == []
    assert [e for e in SUPPORT_NEVER_DOES if Role.SUPPORT in policy(e)] == []
    assert all(Role.BILLING in policy(e) for e in SUPPORT_LOOKS_AT + SUPPORT_NEVER_DOES[:4])
