"""The `dtech-tariff/1` engine: read and validate a tariff document, quote a bill from it.

The package: model (the parsed tariff, quote input and output), quote (one period),
split (a period across two versions), parse (reading and validating a document).

Pure Python on purpose (no Flask, no database): the CLI, the admin pages and the bill run share it,
and it must be testable on its own. The format is specified in TARIFF_FORMAT.md; every rule below
cites it. Money is Decimal throughout, never float.
"""

from app.billing.tariff.model import (
    FORMAT,
    NAME,
    NUMBER,
    PHASES,
    Detail,
    LateSurcharge,
    Line,
    Param,
    PaymentTerms,
    PeriodRule,
    PhaseRate,
    Quote,
    QuoteInput,
    Rounding,
    Step,
    Tariff,
    TariffError,
    inclusive_days,
    round_to,
)
from app.billing.tariff.parse import load_tariff, parse_tariff, stored_tariff
from app.billing.tariff.quote import (
    Bands,
    Component,
    Fixed,
    Minimum,
    Percent,
    Slabs,
    SlabStep,
    When,
    period_factor,
    quote,
    slab_steps,
)
from app.billing.tariff.split import SplitPart, quote_split, split_period

__all__ = [
    "FORMAT",
    "NAME",
    "NUMBER",
    "PHASES",
    "Bands",
    "Component",
    "Detail",
    "Fixed",
    "LateSurcharge",
    "Line",
    "Minimum",
    "Param",
    "PaymentTerms",
    "Percent",
    "PeriodRule",
    "PhaseRate",
    "Quote",
    "QuoteInput",
    "Rounding",
    "Slabs",
    "SlabStep",
    "SplitPart",
    "Step",
    "Tariff",
    "TariffError",
    "When",
    "inclusive_days",
    "load_tariff",
    "parse_tariff",
    "period_factor",
    "quote",
    "quote_split",
    "stored_tariff",
    "round_to",
    "slab_steps",
    "split_period",
]
