"""The reports' figures from the summaries (or, with live=True, straight from bills and the ledger: the same
numbers, slower). Each report is a `Report`: its columns, its rows (plain values: Decimal money, int counts) and
a chart drawn from them; the page shows the table, the CSV carries it, Plotly draws the chart."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.extensions import db
from app.reports import arrears, people, summaries
from app.reports.models import MonthlyBilling, MonthlyCollection
from app.reports.months import MonthRange
from app.support.forms import CATEGORY_LABELS

ZERO = Decimal(0)

LABELS = {
    "month": _l("Month"), "due_month": _l("Month due"), "billed": _l("Billed"), "collected": _l("Collected"),
    "efficiency": _l("Collection efficiency (%)"), "category": _l("Tariff category"), "units": _l("Units billed"),
    "bills": _l("Bills"), "channel": _l("Channel"), "payments": _l("Payments"), "share": _l("Share (%)"),
    "bills_due": _l("Bills due"), "paid_on_time": _l("Paid in full by the due date"),
    "on_time_rate": _l("On time (%)"), "estimated": _l("Estimated bills"),
    "estimated_share": _l("Estimated (%)"), "band": _l("Overdue for"), "connections": _l("Connections"),
    "owed": _l("Amount owed"), "monthly_active": _l("Monthly active customers"),
    "daily_active": _l("Daily active customers (average)"), "peak_daily": _l("Busiest day"),
    "stickiness": _l("Daily ÷ monthly (%)"), "region": _l("Region"), "customers": _l("Customers"),
    "opted_in": _l("With push notifications on"), "opt_in_rate": _l("Opted in (%)"),
    "complaint_category": _l("Complaint category"), "raised": _l("Raised"), "resolved": _l("Resolved"),
    "in_time": _l("Resolved within the time limit (%)"), "hours": _l("Average hours to resolve"),
}
CHANNELS = {"upi": _l("UPI"), "gateway": _l("Card or net banking"), "cash": _l("Cash at the counter"),
            "cheque": _l("Cheque"), "demand_draft": _l("Demand draft"), "card": _l("Card at the counter")}


def percent(part, whole) -> Decimal | None:
    """part / whole as a percentage to one decimal place (half up); None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Column:
    label: str
    kind: str  # text | month | money | count | units | percent | hours


@dataclass
class Report:
    columns: list[Column]
    rows: list[tuple]
    chart: dict = field(default_factory=dict)  # {"type": "bar"|"pie"|"stack", "x": [...], "series": [...]}


# --- the two summary tables, per month, read or computed ----------------------------------------------------

BILLING_FIELDS = ("bills", "estimated_bills", "units", "billed", "bills_due", "paid_on_time")


def _in_regions(query, column, regions: Iterable[str] | None):
    return query if regions is None else query.where(column.in_(list(regions)))


def billing_by_month(period: MonthRange, regions: Iterable[str] | None, live: bool = False) -> dict:
    """{(month, category): {field: total}} over the regions (None: all)."""
    totals: dict = defaultdict(lambda: dict.fromkeys(BILLING_FIELDS, 0))
    if live:
        for month in period.months:
            for row in summaries.bills_rows(month, regions) + summaries.due_rows(month, regions):
                for name in BILLING_FIELDS:
                    totals[month, row["category"]][name] += row.get(name, 0)
        return dict(totals)
    query = (select(MonthlyBilling.month, MonthlyBilling.category,
                    *(func.sum(getattr(MonthlyBilling, name)) for name in BILLING_FIELDS))
             .where(MonthlyBilling.month >= period.first, MonthlyBilling.month <= period.last)
             .group_by(MonthlyBilling.month, MonthlyBilling.category))
    for month, category, *values in db.session.execute(_in_regions(query, MonthlyBilling.region, regions)):
        totals[month, category] = dict(zip(BILLING_FIELDS, values, strict=True))
    return dict(totals)


def collection_by_month(period: MonthRange, regions: Iterable[str] | None, live: bool = False) -> dict:
    """{(month, channel): (payments, collected)} over the regions (None: all)."""
    totals: dict = defaultdict(lambda: (0, ZERO))
    if live:
        for month in period.months:
            for row in summaries.collection_rows(month, regions):
                payments, collected = totals[month, row["channel"]]
                totals[month, row["channel"]] = (payments + row["payments"], collected + row["collected"])
        return dict(totals)
    query = (select(MonthlyCollection.month, MonthlyCollection.channel, func.sum(MonthlyCollection.payments),
                    func.sum(MonthlyCollection.collected))
             .where(MonthlyCollection.month >= period.first, MonthlyCollection.month <= period.last)
             .group_by(MonthlyCollection.month, MonthlyCollection.channel))
    for month, channel, payments, collected in db.session.execute(
            _in_regions(query, MonthlyCollection.region, regions)):
        totals[month, channel] = (int(payments), collected)
    return dict(totals)


def _per_month(totals: dict, period: MonthRange, name: str) -> dict[date, Decimal]:
    """One field of billing_by_month summed over the categories, for every month of the period."""
    sums = dict.fromkeys(period.months, ZERO)
    for (month, _category), values in totals.items():
        sums[month] += Decimal(values[name] or 0)
    return sums


# --- the reports -----------------------------------------------------------------------------------------

def collection_efficiency(period: MonthRange, regions, live: bool = False) -> Report:
    billed = _per_month(billing_by_month(period, regions, live), period, "billed")
    collected = dict.fromkeys(period.months, ZERO)
    for (month, _channel), (_payments, amount) in collection_by_month(period, regions, live).items():
        collected[month] += Decimal(amount)
    rows = [(month, billed[month], collected[month], percent(collected[month], billed[month]))
            for month in period.months]
    return Report(
        [Column(LABELS["month"], "month"), Column(LABELS["billed"], "money"), Column(LABELS["collected"], "money"),
         Column(LABELS["efficiency"], "percent")], rows,
        {"type": "bar", "series": [{"name": LABELS["billed"], "column": 1},
                                   {"name": LABELS["collected"], "column": 2},
                                   {"name": LABELS["efficiency"], "column": 3, "line": True}]})


def units_by_category(period: MonthRange, regions, live: bool = False) -> Report:
    totals = billing_by_month(period, regions, live)
    rows = sorted((month, category, Decimal(values["units"] or 0), int(values["bills"] or 0))
                  for (month, category), values in totals.items() if values["bills"])
    return Report([Column(LABELS["month"], "month"), Column(LABELS["category"], "text"),
                   Column(LABELS["units"], "units"), Column(LABELS["bills"], "count")], rows,
                  {"type": "stack", "group": 1, "value": 2})


def channel_mix(period: MonthRange, regions, live: bool = False) -> Report:
    by_channel: dict = defaultdict(lambda: (0, ZERO))
    for (_month, channel), (payments, amount) in collection_by_month(period, regions, live).items():
        count, total = by_channel[channel]
        by_channel[channel] = (count + payments, total + Decimal(amount))
    whole = sum((total for _count, total in by_channel.values()), ZERO)
    rows = [(str(CHANNELS.get(channel, channel)), count, total, percent(total, whole))
            for channel, (count, total) in sorted(by_channel.items(), key=lambda item: -item[1][1])]
    return Report([Column(LABELS["channel"], "text"), Column(LABELS["payments"], "count"),
                   Column(LABELS["collected"], "money"), Column(LABELS["share"], "percent")], rows,
                  {"type": "pie", "label": 0, "value": 2})


def on_time_rate(period: MonthRange, regions, live: bool = False) -> Report:
    totals = billing_by_month(period, regions, live)
    due, on_time = _per_month(totals, period, "bills_due"), _per_month(totals, period, "paid_on_time")
    rows = [(month, int(due[month]), int(on_time[month]), percent(on_time[month], due[month]))
            for month in period.months]
    return Report([Column(LABELS["due_month"], "month"), Column(LABELS["bills_due"], "count"),
                   Column(LABELS["paid_on_time"], "count"), Column(LABELS["on_time_rate"], "percent")], rows,
                  {"type": "bar", "series": [{"name": LABELS["on_time_rate"], "column": 3, "line": True}]})


def estimated_share(period: MonthRange, regions, live: bool = False) -> Report:
    totals = billing_by_month(period, regions, live)
    bills, estimated = _per_month(totals, period, "bills"), _per_month(totals, period, "estimated_bills")
    rows = [(month, int(bills[month]), int(estimated[month]), percent(estimated[month], bills[month]))
            for month in period.months]
    return Report([Column(LABELS["month"], "month"), Column(LABELS["bills"], "count"),
                   Column(LABELS["estimated"], "count"), Column(LABELS["estimated_share"], "percent")], rows,
                  {"type": "bar", "series": [{"name": LABELS["estimated_share"], "column": 3}]})


def arrears_ageing(regions, today: date) -> Report:
    rows = [(label, count, owed) for _code, label, count, owed in arrears.ageing(arrears.debtors(regions, today))]
    return Report([Column(LABELS["band"], "text"), Column(LABELS["connections"], "count"),
                   Column(LABELS["owed"], "money")], rows,
                  {"type": "bar", "series": [{"name": LABELS["owed"], "column": 2}]})


def active_users(period: MonthRange, regions) -> Report:
    rows = [(month, monthly, average, peak, percent(average, monthly))
            for month, monthly, average, peak in people.active_users(period, regions)]
    return Report([Column(LABELS["month"], "month"), Column(LABELS["monthly_active"], "count"),
                   Column(LABELS["daily_active"], "units"), Column(LABELS["peak_daily"], "count"),
                   Column(LABELS["stickiness"], "percent")], rows,
                  {"type": "bar", "series": [{"name": LABELS["monthly_active"], "column": 1},
                                             {"name": LABELS["daily_active"], "column": 2, "line": True}]})


def push_opt_in(regions_shown: list[str]) -> Report:
    rows = [(region, customers, opted, percent(opted, customers))
            for region, customers, opted in people.push_opt_in(regions_shown)]
    return Report([Column(LABELS["region"], "text"), Column(LABELS["customers"], "count"),
                   Column(LABELS["opted_in"], "count"), Column(LABELS["opt_in_rate"], "percent")], rows,
                  {"type": "bar", "series": [{"name": LABELS["opt_in_rate"], "column": 3}]})


def complaints(period: MonthRange, regions) -> Report:
    found = people.complaints(period, regions)
    rows = []
    for category, label in CATEGORY_LABELS.items():
        raised, resolved, in_time, hours = found.get(category, (0, 0, 0, ZERO))
        average = (hours / resolved).quantize(Decimal("0.1"), ROUND_HALF_UP) if resolved else None
        rows.append((str(label), raised, resolved, percent(in_time, resolved), average))
    return Report([Column(LABELS["complaint_category"], "text"), Column(LABELS["raised"], "count"),
                   Column(LABELS["resolved"], "count"), Column(LABELS["in_time"], "percent"),
                   Column(LABELS["hours"], "hours")], rows,
                  {"type": "bar", "series": [{"name": LABELS["raised"], "column": 1},
                                             {"name": LABELS["resolved"], "column": 2}]})
