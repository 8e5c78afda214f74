"""Staff: the reports, each a table with a chart (Plotly, loaded only on report pages, after the table has
painted) and a CSV download; and the connections behind each arrears band. Staff of an office see their office's
figures; head office sees all, or one region. Most figures come from the summaries a periodic task keeps fresh
(app/reports/summaries.py); arrears, people and complaints are read live."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import Blueprint, abort, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.accounts.offices import regions, regions_of
from app.auth.access import staff_only
from app.db import today_in_india
from app.i18n import chart_month_label, inr, month_label, quantity
from app.reports import arrears, figures, summaries
from app.reports.figures import Report
from app.reports.months import BadRange, MonthRange, default_range, month_range
from app.web.csv_export import csv_response
from app.web.templating import render

bp = Blueprint("staff_reports", __name__)

PER_PAGE = 50  # debtors on a page


@dataclass(frozen=True)
class Kind:
    title: str
    summary: str
    build: Callable  # (period, regions, today) -> Report
    monthly: bool = True  # takes a month range (else a snapshot as of today)
    summarised: bool = False  # read from the summary tables (else live)


REPORTS = {
    "collection": Kind(_l("Billed and collected"), _l("Billed and collected per month, and the collection "
                                                      "efficiency: collected as a share of billed."),
                       lambda period, scope, today: figures.collection_efficiency(period, scope), summarised=True),
    "units": Kind(_l("Units billed"), _l("Units billed per month and tariff category."),
                  lambda period, scope, today: figures.units_by_category(period, scope), summarised=True),
    "channels": Kind(_l("Payment channels"), _l("How customers paid: payments and amount per channel."),
                     lambda period, scope, today: figures.channel_mix(period, scope), summarised=True),
    "on-time": Kind(_l("On-time payment"), _l("Bills falling due each month that were paid in full by their "
                                              "due date."),
                    lambda period, scope, today: figures.on_time_rate(period, scope), summarised=True),
    "arrears": Kind(_l("Arrears ageing"), _l("Money owed past its due date, by how long, with the connections "
                                             "behind each band."),
                    lambda period, scope, today: figures.arrears_ageing(scope, today), monthly=False),
    "estimated": Kind(_l("Estimated bills"), _l("The share of bills estimated for want of a meter reading."),
                      lambda period, scope, today: figures.estimated_share(period, scope), summarised=True),
    "active-users": Kind(_l("Active customers"), _l("Customers who signed in each month, and on an average "
                                                    "day."),
                         lambda period, scope, today: figures.active_users(period, scope)),
    "push": Kind(_l("Push notifications"), _l("Customers who turned on push notifications, per region."),
                 lambda period, scope, today: figures.push_opt_in(scope if scope is not None else regions()),
                 monthly=False),
    "complaints": Kind(_l("Complaints"), _l("Complaints raised per category, how many were resolved within "
                                            "their time limit, and the average time to resolve."),
                       lambda period, scope, today: figures.complaints(period, scope)),
}
RANGE_ERRORS = {
    "from": _l("Give the first month as YYYY-MM, for example 2026-01."),
    "to": _l("Give the last month as YYYY-MM, for example 2026-12."),
    "order": _l("The first month must not be after the last."),
    "future": _l("The last month cannot be after this month."),
    "long": _l("Choose at most 36 months."),
}


@dataclass
class Filters:
    period: MonthRange
    region: str = ""
    error: str | None = None
    first_text: str = ""
    last_text: str = ""

    def args(self) -> dict:
        given = {"from": self.first_text, "to": self.last_text, "region": self.region}
        return {key: value for key, value in given.items() if value}


def _filters(today: date) -> Filters:
    """The month range and region asked for; a bad value is reported (the page keeps what was typed)."""
    first_text, last_text = request.args.get("from", "").strip()[:7], request.args.get("to", "").strip()[:7]
    region = request.args.get("region", "").strip()[:40] if current_user.office is None else ""
    filters = Filters(default_range(today), region, first_text=first_text, last_text=last_text)
    try:
        filters.period = month_range(first_text, last_text, today)
    except BadRange as bad:
        filters.error = str(RANGE_ERRORS[str(bad)])
    if region and region not in regions():
        filters.error, filters.region = _("There is no region %(region)s.", region=region), ""
    return filters


def _scope(filters: Filters) -> list[str] | None:
    """The regions the figures cover: the office's, the chosen region, or None (head office: all)."""
    if current_user.office is not None:
        return regions_of(current_user)
    return [filters.region] if filters.region else None


def _kind(slug: str) -> Kind:
    if slug not in REPORTS:
        abort(404)
    return REPORTS[slug]


def _shown(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "month":
        return month_label(value)
    if kind == "money":
        return inr(value)
    if kind == "percent":
        return f"{value}%"  # already rounded to one decimal
    if kind in ("units", "hours", "count"):
        return quantity(value)
    return str(value)


def _csv_cell(value):
    if isinstance(value, date):
        return f"{value:%Y-%m}"
    return value


def chart_json(report: Report) -> str:
    """What static/js/reports.js draws: numbers as text (Decimal stays exact; the chart reads them)."""
    chart = report.chart

    def text(value):
        return None if value is None else str(value)

    def label(value):
        return chart_month_label(value) if isinstance(value, date) else str(value)

    if chart["type"] == "pie":
        data = {"type": "pie", "labels": [label(row[chart["label"]]) for row in report.rows],
                "values": [text(row[chart["value"]]) for row in report.rows]}
    elif chart["type"] == "stack":
        months = sorted({row[0] for row in report.rows})
        groups = sorted({row[chart["group"]] for row in report.rows})
        values = {(row[0], row[chart["group"]]): row[chart["value"]] for row in report.rows}
        data = {"type": "stack", "x": [label(m) for m in months], "y_title": str(report.columns[chart["value"]].label),
                "series": [{"name": group, "y": [text(values.get((m, group), Decimal(0))) for m in months]}
                           for group in groups]}
    else:
        data = {"type": "bar", "x": [label(row[0]) for row in report.rows],
                "series": [{"name": str(s["name"]), "line": s.get("line", False),
                            "percent": report.columns[s["column"]].kind == "percent",
                            "y": [text(row[s["column"]]) for row in report.rows]} for s in chart["series"]]}
    return json.dumps(data, ensure_ascii=False)


@bp.route("/staff/reports")
@staff_only
def index():
    return render("staff/reports/index.html", reports=REPORTS)


def _built(slug: str):
    kind = _kind(slug)
    today = today_in_india()
    filters = _filters(today)
    report = kind.build(filters.period, _scope(filters), today)
    return kind, filters, report


@bp.route("/staff/reports/<slug>")
@staff_only
def report(slug: str):
    kind, filters, built = _built(slug)
    rows = [[_shown(value, column.kind) for value, column in zip(row, built.columns, strict=True)]
            for row in built.rows]
    bands = arrears.BAND_CODES if slug == "arrears" else None
    return render("staff/reports/report.html", slug=slug, kind=kind, filters=filters, report=built, rows=rows,
                  bands=bands, chart=chart_json(built), regions=regions() if current_user.office is None else [],
                  built_at=summaries.last_built() if kind.summarised else None, today=today_in_india(),
                  keep_sign_ins_days=current_app.config["KEEP"]["sign_ins"].days), \
        400 if filters.error else 200


@bp.route("/staff/reports/<slug>/csv")
@staff_only
def report_csv(slug: str):
    _kind_, filters, built = _built(slug)
    if filters.error:
        abort(400)
    name = f"{slug}-{filters.region or current_user.office or 'all'}"
    if _kind_.monthly:
        name += f"-{filters.period.first:%Y-%m}-to-{filters.period.last:%Y-%m}"
    return csv_response(f"{name}.csv", [str(column.label) for column in built.columns],
                        [[_csv_cell(value) for value in row] for row in built.rows])


def _debtors(band: str) -> tuple[list, Filters]:
    if band not in arrears.BAND_CODES:
        abort(404)
    filters = _filters(today_in_india())
    found = [d for d in arrears.debtors(_scope(filters), today_in_india()) if d.band == band]
    return found, filters


DEBTOR_COLUMNS = (_l("Consumer number"), _l("Holder"), _l("Region"), _l("Amount owed"),
                  _l("Oldest unpaid bill due on"), _l("Days overdue"))


@bp.route("/staff/reports/defaulters/<band>")
@staff_only
def defaulters(band: str):
    found, filters = _debtors(band)
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        abort(404)
    pages = max((len(found) + PER_PAGE - 1) // PER_PAGE, 1)
    if not 1 <= page <= pages:
        abort(404)
    label = next(str(label) for code, label, *_rest in arrears.BANDS if code == band)
    return render("staff/reports/defaulters.html", band=band, label=label, filters=filters,
                  debtors=found[(page - 1) * PER_PAGE:page * PER_PAGE], count=len(found),
                  owed=sum((d.owed for d in found), Decimal(0)), page=page, pages=pages, columns=DEBTOR_COLUMNS)


@bp.route("/staff/reports/defaulters/<band>/csv")
@staff_only
def defaulters_csv(band: str):
    found, filters = _debtors(band)
    return csv_response(f"defaulters-{band}-{filters.region or current_user.office or 'all'}.csv",
                        [str(column) for column in DEBTOR_COLUMNS],
                        [(d.consumer_number, d.holder_name, d.region, d.owed, d.oldest_due.isoformat(), d.days_overdue)
                         for d in found])

