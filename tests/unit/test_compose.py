"""A connection's bill from plain facts: periods, settlement of estimates, version splits, late fees."""

from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from app.billing import tariff as engine
from app.billing.compose import BillingInputs, CannotBill, Cycle, PriorBill, TariffVersionFacts, compose_bill
from app.metering.consumption import RegisterRead

TARIFFS = Path(__file__).resolve().parents[2] / "app" / "billing" / "tariffs"
MSEDCL = engine.parse_tariff((TARIFFS / "msedcl-lt1b-2024-25.json").read_text())


def version(tariff=MSEDCL, version_id=1):
    return TariffVersionFacts(version_id, tariff)


def reads(*points):
    return [RegisterRead(1, day, n, D(value)) for n, (day, value) in enumerate(points, 1)]


def inputs(**fields) -> BillingInputs:
    base = dict(cycle=Cycle(2024, 11), issued_on=date(2024, 11, 12), versions=[version()], params={},
                load_kw=D("3"), phase="single", flags=frozenset(), prior=[],
                reads=reads((date(2024, 10, 5), "1000"), (date(2024, 11, 5), "1221")),
                balance=D("0.00"), paid_by_previous_due_date=D("0.00"))
    return BillingInputs(**{**base, **fields})


def bill_from(composed, cycle="2024-11", issued_on=date(2024, 11, 12)) -> PriorBill:
    return PriorBill(cycle=cycle, period_start=composed.period_start, period_end=composed.period_end,
                     units=composed.units, estimated=composed.estimated, carried_units=composed.carried_units,
                     opening_reading_id=composed.opening_reading_id, closing_reading_id=composed.closing_reading_id,
                     issued_on=issued_on, due_date=composed.due_date, current_charges=composed.current_charges,
                     total_due=composed.total_due)


def test_first_bill_runs_from_the_last_reading_before_the_cycle():
    bill = compose_bill(inputs())
    assert (bill.period_start, bill.period_end) == (date(2024, 10, 6), date(2024, 11, 5))
    assert bill.units == D("221") and not bill.estimated
    # The format document's example: 221 units over 31 days = 2,424.12
    assert bill.current_charges == D("2424.12")
    assert bill.total_due == D("2424.12") and bill.due_date == date(2024, 11, 27)
    assert sum(line.amount for line in bill.lines) == bill.current_charges


def test_arrears_and_payments_since_come_from_the_ledger():
    prior = [PriorBill("2024-10", date(2024, 9, 6), date(2024, 10, 5), D("200"), False, D("0"), None, 1,
                       date(2024, 10, 12), date(2024, 10, 27), D("2000.00"), D("2000.00"))]
    bill = compose_bill(inputs(prior=prior, balance=D("500.00"), paid_by_previous_due_date=D("1500.00")))
    assert bill.previous_balance == D("2000.00") and bill.payments_since == D("1500.00")
    assert bill.total_due == D("500.00") + bill.current_charges + bill.late_fee


def test_no_reading_gives_an_estimate_that_the_next_reading_settles():
    october = compose_bill(inputs(cycle=Cycle(2024, 10), issued_on=date(2024, 10, 12),
                                  reads=reads((date(2024, 9, 5), "800"), (date(2024, 10, 5), "1000"))))
    no_read = inputs(prior=[bill_from(october, "2024-10", date(2024, 10, 12))],
                     reads=reads((date(2024, 9, 5), "800"), (date(2024, 10, 5), "1000")))
    november = compose_bill(no_read)
    assert november.estimated and november.units == D("207")  # 200 units in 30 days → 206.67 in 31 days
    december = compose_bill(inputs(
        cycle=Cycle(2024, 12), issued_on=date(2024, 12, 12),
        prior=[bill_from(october, "2024-10", date(2024, 10, 12)), bill_from(november)],
        reads=reads((date(2024, 9, 5), "800"), (date(2024, 10, 5), "1000"), (date(2024, 12, 5), "1450"))))
    assert not december.estimated
    # The meter recorded 450 units since October's reading; November's estimate charged 200 of them.
    assert november.units + december.units == D("450")


def test_an_estimate_higher_than_the_meter_is_carried_not_charged_twice():
    october = compose_bill(inputs(cycle=Cycle(2024, 10), issued_on=date(2024, 10, 12),
                                  reads=reads((date(2024, 9, 5), "700"), (date(2024, 10, 5), "1000"))))
    november = compose_bill(inputs(prior=[bill_from(october, "2024-10")],
                                   reads=reads((date(2024, 9, 5), "700"), (date(2024, 10, 5), "1000"))))
    assert november.estimated and november.units == D("310")  # 300 in 30 days → 310 in 31
    december = compose_bill(inputs(
        cycle=Cycle(2024, 12), issued_on=date(2024, 12, 12), prior=[bill_from(october, "2024-10"), bill_from(november)],
        reads=reads((date(2024, 9, 5), "700"), (date(2024, 10, 5), "1000"), (date(2024, 12, 5), "1100"))))
    assert december.units == D("0") and december.carried_units == D("-210")  # recorded 100, charged 310


def test_a_tariff_change_inside_the_period_splits_it_by_days():
    newer = engine.load_tariff({**MSEDCL.document, "effective_from": "2024-10-21", "effective_to": None,
                                "components": [{"code": "energy", "label": "Energy charges", "type": "slabs",
                                                "slabs": [{"upto": None, "rate": "10"}]}]})
    older = engine.load_tariff({**MSEDCL.document, "effective_to": "2024-10-20"})
    bill = compose_bill(inputs(versions=[version(older, 1), version(newer, 2)]))
    assert bill.tariff_version_id == 2
    codes = [line.code for line in bill.lines]
    assert codes.count("energy") >= 1 and "fixed" in codes  # the older version's fixed charge for its days
    whole_old = compose_bill(inputs(versions=[version(engine.load_tariff({**MSEDCL.document,
                                                                         "effective_to": None}), 1)]))
    assert bill.current_charges != whole_old.current_charges


def test_no_version_in_force_is_a_reason_not_a_crash():
    with pytest.raises(CannotBill, match="no tariff version in force"):
        compose_bill(inputs(cycle=Cycle(2026, 11), issued_on=date(2026, 11, 12),
                            reads=reads((date(2026, 10, 5), "1000"), (date(2026, 11, 5), "1221"))))


def test_late_fee_when_the_previous_bill_was_not_paid_by_its_due_date():
    late_terms = engine.load_tariff({**MSEDCL.document, "payment_terms": {
        "due_days": 15, "late_surcharge": {"percent_per_month": "1.25", "on": "arrears"}}})
    prior = [PriorBill("2024-10", date(2024, 9, 6), date(2024, 10, 5), D("200"), False, D("0"), None, 1,
                       date(2024, 10, 12), date(2024, 10, 27), D("2000.00"), D("2000.00"))]
    unpaid = compose_bill(inputs(versions=[version(late_terms)], prior=prior, balance=D("2000.00")))
    assert unpaid.late_fee == D("25.00")  # 1.25% of 2,000 for one month
    paid_on_time = compose_bill(inputs(versions=[version(late_terms)], prior=prior, balance=D("0.00"),
                                       paid_by_previous_due_date=D("2000.00")))
    assert paid_on_time.late_fee == D("0.00")


def test_no_opening_reading():
    with pytest.raises(CannotBill, match="no opening reading"):
        compose_bill(inputs(reads=reads((date(2024, 11, 5), "1221"))))


def test_bimonthly_cycle_helpers():
    assert str(Cycle.parse("2026-01").shifted(-2)) == "2025-11"
    assert Cycle(2026, 2).day(31) == date(2026, 2, 28)
    with pytest.raises(ValueError):
        Cycle.parse("2026-13")
    assert replace(Cycle(2026, 1), month=3).last_day == date(2026, 3, 31)


def test_a_period_that_has_not_ended_is_not_billed():
    with pytest.raises(CannotBill, match="after the issue date"):
        compose_bill(inputs(issued_on=date(2024, 11, 4)))


def test_estimates_use_metered_daily_use_not_catch_up_bills():
    """An actual bill after an estimate charged few units but the meter ran the whole time: the next estimate
    follows the meter (750 units in 61 days), not that bill's 400."""
    prior = [
        PriorBill("2024-09", date(2024, 8, 6), date(2024, 9, 5), D("300"), False, D("0"), 1, 2,
                  date(2024, 9, 12), date(2024, 9, 27), D("1.00"), D("1.00")),
        PriorBill("2024-10", date(2024, 9, 6), date(2024, 10, 5), D("350"), True, D("0"), 2, None,
                  date(2024, 10, 12), date(2024, 10, 27), D("1.00"), D("1.00")),
        PriorBill("2024-11", date(2024, 10, 6), date(2024, 11, 5), D("400"), False, D("0"), 2, 3,
                  date(2024, 11, 12), date(2024, 11, 27), D("1.00"), D("1.00")),
    ]
    december = compose_bill(inputs(cycle=Cycle(2024, 12), issued_on=date(2024, 12, 12), prior=prior,
                                   reads=reads((date(2024, 8, 5), "0"), (date(2024, 9, 5), "300"),
                                               (date(2024, 11, 5), "1050"))))
    assert december.estimated
    # Metered: 300 in 31 days and 750 in 61 days = 1050 / 92 a day; × 30 days = 342.4 → 342
    assert december.units == D("342")


def test_late_fee_counts_each_started_month():
    late_terms = engine.load_tariff({**MSEDCL.document, "payment_terms": {
        "due_days": 15, "late_surcharge": {"percent_per_month": "1", "on": "arrears"}}})
    prior = [PriorBill("2024-10", date(2024, 9, 6), date(2024, 10, 5), D("200"), False, D("0"), None, 1,
                       date(2024, 10, 12), date(2024, 9, 28), D("1000.00"), D("1000.00"))]
    bill = compose_bill(inputs(versions=[version(late_terms)], prior=prior, balance=D("1000.00")))
    assert bill.late_fee == D("20.00")  # due 28 Sep, billed 12 Nov: 45 days, two started months


def test_a_connection_started_in_the_cycle_is_billed_from_its_installation_reading():
    """Connected 1 Nov with an installation reading of 100, read 250 on 30 Nov: November bills 150 units from
    1 Nov, and December runs on from the 250 reading."""
    installed = reads((date(2024, 11, 1), "100"), (date(2024, 11, 30), "250"))
    november = compose_bill(inputs(reads=installed, connected_on=date(2024, 11, 1), issued_on=date(2024, 12, 2)))
    assert (november.period_start, november.period_end) == (date(2024, 11, 1), date(2024, 11, 30))
    assert november.units == D("150") and not november.estimated
    assert (november.opening_reading_id, november.closing_reading_id) == (1, 2)
    assert isinstance(november.current_charges, D) and november.current_charges > 0

    december = compose_bill(inputs(cycle=Cycle(2024, 12), issued_on=date(2025, 1, 2), connected_on=date(2024, 11, 1),
                                   reads=[*installed, RegisterRead(1, date(2024, 12, 30), 3, D("400"))],
                                   prior=[bill_from(november, issued_on=date(2024, 12, 2))]))
    assert (december.period_start, december.opening_reading_id, december.units) == (date(2024, 12, 1), 2, D("150"))


def test_an_older_connection_without_an_earlier_reading_is_still_refused():
    in_cycle_only = reads((date(2024, 11, 1), "100"), (date(2024, 11, 30), "250"))
    with pytest.raises(CannotBill, match="no opening reading"):
        compose_bill(inputs(reads=in_cycle_only, connected_on=date(2015, 1, 1), issued_on=date(2024, 12, 2)))
    with pytest.raises(CannotBill, match="no opening reading"):  # only the installation reading: nothing to close on
        compose_bill(inputs(reads=reads((date(2024, 11, 1), "100")), connected_on=date(2024, 11, 1)))
