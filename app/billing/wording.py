"""Bill lines in the customer's language: one list for the bill page and the PDF.

Tariffs word their lines in English ("Electricity duty 16%"). English pages keep the tariff's own words; other
languages name known line codes from the catalogue and keep any rate the tariff states. Unknown codes keep the
tariff's words in every language.
"""

import re
from collections.abc import Callable
from decimal import Decimal

from app.billing.statement import SlabRow
from app.i18n import N_

LINE_NAMES = {
    "energy": N_("Energy charges"),
    "fixed": N_("Fixed charges"),
    "duty": N_("Electricity duty"),
    "fac": N_("Fuel adjustment charge"),
    "wheeling": N_("Wheeling charges"),
    "subsidy": N_("Government subsidy"),
    "rounding": N_("Rounding"),
    "ppac": N_("Power purchase cost adjustment (PPAC)"),
    "surcharge": N_("Surcharge"),
    "pension": N_("Pension trust surcharge"),
    "meter_rent": N_("Meter rent"),
    "minimum": N_("Minimum charge"),
}
PERCENT = re.compile(r"\d+(?:\.\d+)?\s?%")


def translated_line_label(code: str, tariff_label: str, translate: Callable[[str], str]) -> str:
    """The line's name through `translate` (a gettext), with the tariff's rate if it states one."""
    name = LINE_NAMES.get(code)
    if name is None:
        return tariff_label
    percent = PERCENT.search(tariff_label)  # "Electricity duty 16%": keep the rate the tariff states
    return f"{translate(name)} {percent.group()}" if percent else translate(name)


# A slab's range of units, as Indian bills print it: "up to 100 units", "101–300 units", "above 500 units".
UP_TO = N_("up to %(upto)s units")
BETWEEN = N_("%(first)s–%(upto)s units")
ABOVE = N_("above %(above)s units")


def slab_range(row: SlabRow, number: Callable[[Decimal], str], translate: Callable[[str], str]) -> str | None:
    """The range of the slab a row charges, in words; None for a flat charge (one open slab) or a row that does
    not know its range. Units are counted from above the lower bound: the slab above 100 starts at 101 when
    bounds are whole units."""
    if row.above is None or (row.above == 0 and row.upto is None):
        return None
    if row.upto is None:
        return translate(ABOVE) % {"above": number(row.above)}
    if row.above == 0:
        return translate(UP_TO) % {"upto": number(row.upto)}
    first = row.above + 1 if row.above == row.above.to_integral_value() else row.above
    return translate(BETWEEN) % {"first": number(first), "upto": number(row.upto)}
