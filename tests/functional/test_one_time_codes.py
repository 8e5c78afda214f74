"""app.auth.codes on its own: a code works once, only for its user, purpose and subject; wrong ones are counted
against the guesser (user and address), never against anyone else."""

from datetime import timedelta

import pytest

from app.auth import codes
from app.auth.codes import Outcome, Purpose
from app.extensions import db
from tests import factories


def other(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_code_works_once_and_only_for_what_it_was_sent_for(app):
    user, someone = factories.make_user(), factories.make_user()
    code = codes.issue(user, Purpose.LINK, "7").code
    assert len(code) == 6 and code.isdigit()
    assert codes.check(someone, Purpose.LINK, "7", code, "1.1.1.1") is Outcome.EXPIRED
    assert codes.check(user, Purpose.LINK, "8", code, "1.1.1.1") is Outcome.EXPIRED
    assert codes.check(user, Purpose.VERIFY, "7", code, "1.1.1.1") is Outcome.EXPIRED
    assert codes.check(user, Purpose.LINK, "7", code, "1.1.1.1") is Outcome.ACCEPTED
    assert codes.check(user, Purpose.LINK, "7", code, "1.1.1.1") is Outcome.EXPIRED  # used


def test_wrong_codes_from_one_address_are_throttled_but_not_those_of_another(app, monkeypatch):
    monkeypatch.setitem(app.config, "CODE_WRONG_PER_IP", (3, timedelta(minutes=15)))
    guesser, holder = factories.make_user(), factories.make_user()
    code = codes.issue(guesser, Purpose.LINK, "7").code
    for _ in range(3):
        assert codes.check(guesser, Purpose.LINK, "7", other(code), "6.6.6.6") is Outcome.WRONG
    with pytest.raises(codes.TooSoon):
        codes.check(guesser, Purpose.LINK, "7", code, "6.6.6.6")
    mine = codes.issue(holder, Purpose.LINK, "7").code
    assert codes.check(holder, Purpose.LINK, "7", mine, "10.0.0.1") is Outcome.ACCEPTED


def test_old_codes_are_pruned(app, clock):
    from sqlalchemy import func, select

    from app.auth.models import OneTimeCode
    from app.auth.tasks import prune_security_records
    from app.db import utcnow

    user = factories.make_user()
    codes.issue(user, Purpose.VERIFY, "mobile")
    db.session.commit()
    clock.move_to(utcnow() + timedelta(hours=23), tick=False)
    prune_security_records.call_local()
    assert db.session.scalar(select(func.count(OneTimeCode.id))) == 1  # expired, but kept a day for the record
    clock.move_to(utcnow() + timedelta(hours=2), tick=False)
    assert "1 one-time codes removed" in prune_security_records.call_local()
    db.session.rollback()  # a fresh look, after the task's own transaction
    assert db.session.scalar(select(func.count(OneTimeCode.id))) == 0
