"""Units a meter (or a chain of replaced meters) recorded between two readings. Pure: plain values in and out."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.i18n import N_

# Why readings describe no possible consumption, by code (the text says it in English; explained() in the reader's
# language, from the code and parameters kept beside it).
PROBLEMS = {
    "below_earlier": N_("meter %(meter)s: reading %(value)s on %(read_on)s is below %(earlier)s on %(earlier_on)s "
                        "and is not marked as a rollover"),
    "beyond_register": N_("meter %(meter)s: an advance of %(step)s units is more than the register holds"),
}


def plain(params: dict) -> dict:
    """Parameters as JSON keeps them: a day as its ISO text, a number as its text."""
    return {name: value.isoformat() if isinstance(value, date) else str(value) if isinstance(value, Decimal)
            else value for name, value in params.items()}


class ConsumptionError(ValueError):
    """The readings do not describe a possible consumption (a fall with no rollover, say)."""

    def __init__(self, code: str, **params):
        self.code, self.params = code, plain(params)
        super().__init__(PROBLEMS[code] % self.params)


@dataclass(frozen=True)
class RegisterRead:
    meter_id: int
    read_on: object  # a date; ordered with the id below for two reads of one day
    order: int  # the reading's id: on one day the later row is the later read
    value: Decimal
    rollover: bool = False  # the register passed zero since the meter's previous read
    rollover_at: Decimal = Decimal("100000")  # 10 ** digits
    multiplying_factor: Decimal = Decimal("1")


def register_advance(reads: Sequence[RegisterRead]) -> Decimal:
    """Units recorded across `reads` (all meters of one connection, from the opening read to the closing one).

    Each meter contributes the sum of its consecutive advances times its multiplying factor, so a meter
    replaced in the period adds its old register's run to the final read and the new one's from its first.
    """
    by_meter: dict[int, list[RegisterRead]] = defaultdict(list)
    for read in sorted(reads, key=lambda r: (r.read_on, r.order)):
        by_meter[read.meter_id].append(read)
    total = Decimal(0)
    for meter_reads in by_meter.values():
        for earlier, later in zip(meter_reads, meter_reads[1:], strict=False):
            total += _advance(earlier, later) * later.multiplying_factor
    return total


def _advance(earlier: RegisterRead, later: RegisterRead) -> Decimal:
    step = later.value - earlier.value
    if later.rollover:
        step += later.rollover_at
    if step < 0:
        raise ConsumptionError("below_earlier", meter=later.meter_id, value=later.value, read_on=later.read_on,
                               earlier=earlier.value, earlier_on=earlier.read_on)
    if step >= later.rollover_at:
        raise ConsumptionError("beyond_register", meter=later.meter_id, step=step)
    return step
