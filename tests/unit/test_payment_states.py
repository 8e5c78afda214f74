"""The payment state machine: every allowed move, and every other one refused."""

from itertools import product

import pytest

from app.payments.models import PaymentState as S
from app.payments.states import ALLOWED, TransitionRefused, can_move, check_transition

EXPECTED_ALLOWED = {
    (S.CREATED, S.PENDING), (S.CREATED, S.CAPTURED), (S.CREATED, S.FAILED), (S.CREATED, S.HELD),
    (S.PENDING, S.CAPTURED), (S.PENDING, S.FAILED), (S.PENDING, S.HELD),
    (S.FAILED, S.CAPTURED), (S.FAILED, S.HELD),  # late authorisation
    (S.CAPTURED, S.REFUNDED), (S.CAPTURED, S.BOUNCED),
    (S.HELD, S.CAPTURED),
    (S.REFUNDED, S.CAPTURED),  # a refund that failed at the gateway
    (S.CREATED, S.CLEARING), (S.CLEARING, S.CAPTURED), (S.CLEARING, S.BOUNCED),  # a cheque or draft
}
ALL_PAIRS = list(product(S, S))


def test_every_state_has_a_rule():
    assert set(ALLOWED) == set(S)


@pytest.mark.parametrize(("current", "wanted"), sorted(EXPECTED_ALLOWED), ids=lambda s: s.value)
def test_allowed(current, wanted):
    assert can_move(current, wanted)
    check_transition(current, wanted)


@pytest.mark.parametrize(("current", "wanted"), [pair for pair in ALL_PAIRS if pair not in EXPECTED_ALLOWED],
                         ids=lambda s: s.value)
def test_refused(current, wanted):
    assert not can_move(current, wanted)
    with pytest.raises(TransitionRefused, match=f"a {current.value} payment cannot become {wanted.value}"):
        check_transition(current, wanted)


def test_nothing_leaves_bounced_and_money_never_goes_back_to_waiting():
    assert ALLOWED[S.BOUNCED] == frozenset()
    for credited in (S.CAPTURED, S.REFUNDED, S.CLEARING):
        assert not ALLOWED[credited] & {S.CREATED, S.PENDING, S.FAILED, S.HELD}
