from datetime import date
from decimal import Decimal as D
from pathlib import Path

from app.billing import tariff as engine
from app.billing.projection import SlabCrossing, SlabWarning, project, slab_crossing, slab_warning

TARIFFS = Path(__file__).resolve().parents[2] / "app" / "billing" / "tariffs"
MSEDCL = engine.parse_tariff((TARIFFS / "msedcl-lt1b-2024-25.json").read_text())


def test_projection_extends_the_daily_rate_and_prices_it():
    # 110 units in the first 15 days of a 30-day period → 220 units projected.
    p = project(MSEDCL, D("110"), date(2024, 11, 6), date(2024, 11, 20), 30, D("3"), "single", frozenset(), {})
    assert (p.days_so_far, p.projected_units) == (15, D("220"))
    expected = engine.quote(MSEDCL, engine.QuoteInput(units=D("220"), period_from=date(2024, 11, 6),
                                                      period_to=date(2024, 12, 5), load_kw=D("3")))
    assert p.projected_amount == expected.total


def test_slab_steps_are_scaled_to_the_period():
    steps = engine.slab_steps(MSEDCL, engine.QuoteInput(units=D("90"), days=31, load_kw=D("3")))
    assert [s.upto for s in steps] == [D("103"), D("309"), D("515"), None]  # 100 × 1.03, rounded
    assert steps[0].rate == D("4.71") and steps[1].rate == D("10.29")


def test_slab_warning_when_close_below_a_dearer_slab():
    steps = [engine.SlabStep(D("100"), D("4.71")), engine.SlabStep(D("300"), D("10.29")),
             engine.SlabStep(None, D("14.55"))]
    assert slab_warning(steps, D("82")) == SlabWarning(D("18"), D("4.71"), D("10.29"))
    assert slab_warning(steps, D("50")) is None  # far away
    assert slab_warning(steps, D("120")) is None  # already past it; the next is 180 away
    assert slab_warning(steps, D("290")) == SlabWarning(D("10"), D("10.29"), D("14.55"))
    assert slab_warning([engine.SlabStep(None, D("5"))], D("40")) is None


def test_a_warning_for_the_example_in_the_dashboard():
    p = project(MSEDCL, D("41"), date(2024, 11, 6), date(2024, 11, 20), 30, D("3"), "single", frozenset(), {})
    assert p.projected_units == D("82")
    assert p.slab_warning == SlabWarning(D("18"), D("4.71"), D("10.29"))


def test_a_slab_crossing_when_the_projection_passes_a_dearer_slab_not_yet_reached():
    steps = [engine.SlabStep(D("100"), D("4.71")), engine.SlabStep(D("300"), D("10.29")),
             engine.SlabStep(None, D("14.55"))]
    assert slab_crossing(steps, D("60"), D("140")) == SlabCrossing(D("100"), D("4.71"), D("10.29"))
    assert slab_crossing(steps, D("120"), D("320")) == SlabCrossing(D("300"), D("10.29"), D("14.55"))
    assert slab_crossing(steps, D("60"), D("100")) is None  # exactly at the boundary: not past it
    assert slab_crossing(steps, D("110"), D("200")) is None  # already in that slab
    cheaper = [engine.SlabStep(D("100"), D("5")), engine.SlabStep(None, D("4"))]
    assert slab_crossing(cheaper, D("60"), D("140")) is None
    p = project(MSEDCL, D("60"), date(2024, 11, 6), date(2024, 11, 20), 30, D("3"), "single", frozenset(), {})
    assert p.projected_units == D("120") and p.crossing == SlabCrossing(D("100"), D("4.71"), D("10.29"))
