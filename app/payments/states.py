"""The payment state machine: the one place that says which state may follow which.

    created ──► pending ──► captured ──► refunded      (refunded in full; a partial refund stays captured)
       │           │  ▲         │
       │           ▼  │         └──────► bounced       (a cheque or draft returned by the bank)
       ├──► clearing ──► captured | bounced            (a cheque or draft: credited subject to clearing)
       ├─────────► failed ──► captured                 (late authorisation: the bank confirms after all)
       └──► held ◄─┘  (amount differs from ours) ──► captured (staff accept it)
    refunded ──► captured   (the gateway reports that a refund failed)

Pure: no Flask, no database.
"""

from app.payments.models import PaymentState as S

ALLOWED: dict[S, frozenset[S]] = {
    S.CREATED: frozenset({S.PENDING, S.CLEARING, S.CAPTURED, S.FAILED, S.HELD}),
    S.CLEARING: frozenset({S.CAPTURED, S.BOUNCED}),  # the bank cleared it, or returned it
    S.PENDING: frozenset({S.CAPTURED, S.FAILED, S.HELD}),
    S.FAILED: frozenset({S.CAPTURED, S.HELD}),  # late authorisation
    S.CAPTURED: frozenset({S.REFUNDED, S.BOUNCED}),
    S.HELD: frozenset({S.CAPTURED}),  # staff accept the amount received (a refund, if any, follows)
    S.REFUNDED: frozenset({S.CAPTURED}),  # the gateway reports that the refund failed: the money stayed with us
    S.BOUNCED: frozenset(),
}

# States in which the ledger has the payment's PAYMENT entry (a clearing cheque is credited subject to clearing).
CREDITED = frozenset({S.CLEARING, S.CAPTURED, S.REFUNDED})
# States in which we are still waiting for the gateway, the bank or a person.
OPEN = frozenset({S.CREATED, S.PENDING, S.HELD})


class TransitionRefused(ValueError):
    def __init__(self, current: S, wanted: S) -> None:
        super().__init__(f"a {current.value} payment cannot become {wanted.value}")
        self.current, self.wanted = current, wanted


def can_move(current: S, wanted: S) -> bool:
    return wanted in ALLOWED[current]


def check_transition(current: S, wanted: S) -> None:
    """Raise TransitionRefused unless `current` may become `wanted` (staying in the same state is not a move)."""
    if not can_move(current, wanted):
        raise TransitionRefused(current, wanted)
