"""One transaction per request: a request commits once when its view answered, rolls back when it failed; the
error pages roll back before they render, and render in the app's design even when the database is gone."""

import pytest
from flask import abort, request
from sqlalchemy import func, select

from app import create_app
from app.auth.access import mark_public
from app.auth.models import User
from app.auth.passwords import hash_password
from app.extensions import db
from config import TestingConfig


def user_count() -> int:
    return db.session.scalar(select(func.count(User.id)))


@pytest.fixture(scope="module")
def probe_app(app):
    """An app on the suite's database with views that write and then succeed, refuse or fail."""
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
    probe = create_app(config, PROPAGATE_EXCEPTIONS=False)
    probe.test_client_class = app.test_client_class

    def add_user(mobile: str) -> None:
        db.session.add(User(name="Probe", mobile=mobile, password_hash=hash_password("x" * 12)))
        db.session.flush()

    def view(name, body):
        body.__name__ = name
        probe.add_url_rule(f"/probe/{name}", name, body, methods=["POST"])

    def ok():
        add_user("+919000000001")
        return "done"

    def refused():
        add_user("+919000000002")  # e.g. a failed attempt that must stay counted
        return "no", 422

    def crashes():
        add_user("+919000000003")
        raise RuntimeError("a bug after the write")

    def aborts():
        add_user("+919000000004")
        abort(404)

    def duplicate():
        add_user("+919000000005")
        add_user("+919000000005")  # the flush fails: a unique constraint
        return "never"

    def late_conflict():
        db.session.add(User(name="Probe", mobile="+919000000006", password_hash="x"))
        db.session.add(User(name="Probe", mobile="+919000000006", password_hash="x"))
        return "the commit after the view fails"

    for name, body in (("ok", ok), ("refused", refused), ("crashes", crashes), ("aborts", aborts),
                       ("duplicate", duplicate), ("late_conflict", late_conflict)):
        view(name, mark_public(body))
    return probe


def test_a_successful_request_commits_once_at_the_end(probe_app):
    response = probe_app.test_client().post("/probe/ok")
    assert response.status_code == 200 and user_count() == 1


def test_a_refusal_the_view_answers_is_kept(probe_app):
    assert probe_app.test_client().post("/probe/refused").status_code == 422
    assert user_count() == 1


@pytest.mark.parametrize(("path", "code"), [("crashes", 500), ("aborts", 404), ("duplicate", 500),
                                            ("late_conflict", 500)])
def test_a_failed_request_keeps_nothing_and_shows_the_designed_page(probe_app, path, code):
    response = probe_app.test_client().post(f"/probe/{path}")
    body = response.get_data(as_text=True)
    assert response.status_code == code
    assert 'class="topbar"' in body and f"Error {code}" in body  # the app's page, not a bare one
    assert user_count() == 0


def test_only_requests_tasks_and_commands_commit():
    """Views and services flush; the request (app/web/errors.py: commit_request), a task or a batch item
    (app/taskqueue.py) and a CLI command are the only places that commit."""
    from pathlib import Path

    allowed = {Path("app/web/errors.py"), Path("app/taskqueue.py")}
    offenders = [str(path) for path in Path("app").rglob("*.py")
                 if ".commit()" in path.read_text() and path not in allowed
                 and path.name != "cli.py" and "demo" not in path.parts]
    assert offenders == []


@pytest.fixture
def commits_per_request(app):
    """[what, commits of the request's own session] for each request. Requests may nest (the sandbox gateway
    posts its webhooks to us from inside a request); a task's session is not the request's."""
    from flask import request_finished, request_started
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    requests: list[list] = []
    open_requests: list[tuple] = []  # (session, record), innermost last

    def started(sender, **extra):
        record = [request.method + " " + request.path, 0]
        requests.append(record)
        open_requests.append((db.session(), record))

    def finished(sender, **extra):
        open_requests.pop()

    def committed(session):
        if open_requests and open_requests[-1][0] is session and not session.in_nested_transaction():  # no SAVEPOINT
            open_requests[-1][1][1] += 1

    request_started.connect(started, app)
    request_finished.connect(finished, app)
    event.listen(Session, "after_commit", committed)
    yield requests
    event.remove(Session, "after_commit", committed)
    request_finished.disconnect(finished, app)
    request_started.disconnect(started, app)


def test_a_whole_payment_journey_commits_once_per_request(client, login_as, commits_per_request):
    """Sign in, pay through the sandbox checkout (whose webhooks go out after the commit), land on the
    receipt: no request commits twice, none half-way."""
    from tests.functional.test_payment_helpers import billed_account, pay_in_full

    user = login_as("customer")
    billed_account(user, "1200.00")
    db.session.commit()
    payment, _landed = pay_in_full(client)
    assert payment.state.value == "captured"
    requests = commits_per_request
    assert any("sandbox-gateway/checkout" in what for what, _n in requests)
    assert [what for what, n in requests if n > 1] == []


@pytest.fixture
def database_gone(app):
    """The same app (same secret key) with a database that does not answer: connection refused at once."""
    config = TestingConfig()
    config.SECRET_KEY = app.config["SECRET_KEY"]
    config.SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://nobody@127.0.0.1:9/gone?connect_timeout=2"
    return create_app(config, PROPAGATE_EXCEPTIONS=False)


@pytest.mark.parametrize(("locale", "words"), [("en_IN", "briefly unavailable"), ("hi_IN", "कुछ देर")])
def test_the_error_page_renders_when_the_database_is_gone(client, login_as, database_gone, locale, words):
    login_as("customer", locale=locale)
    signed_in = database_gone.test_client()  # a signed-in customer's cookie: loading them needs the database
    signed_in.set_cookie("session", client.get_cookie("session").value)
    response = signed_in.get("/")
    body = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert 'class="topbar"' in body and words in body
    assert database_gone.test_client().get("/bills").status_code == 302  # signed out: to sign-in, no query
