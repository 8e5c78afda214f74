"""The one-page A4 PDF bill, in English or Hindi, drawn with fpdf2 from a `Statement`.

Pure: no Flask request, no database. Fonts, shaping and the layout helpers are the PDF kit's (app/pdf), which
receipts use too.
"""

import io
from datetime import UTC, date, datetime, time
from decimal import Decimal

import segno
from babel.dates import format_date
from babel.numbers import format_decimal
from fpdf import FPDF

from app.billing.statement import MeterRead, Statement, StatementLine, UsagePoint
from app.billing.wording import slab_range, translated_line_label
from app.i18n import N_, catalogue
from app.pdf.fonts import new_pdf
from app.pdf.formats import LOCALES, money, rate
from app.pdf.page import (
    BAR,
    BRAND,
    BRAND_LIGHT,
    CONTENT_W,
    FOOTER_Y,
    GOOD,
    HEADER_H,
    HEADER_MUTED,
    MARGIN,
    MUTED,
    PAGE_H,
    PAGE_W,
    RULE,
    SHADE,
    STAMP,
    TEXT,
    WARN,
)
from app.pdf.text import (
    draw_utility_name,
    draw_wrapped,
    put,
    rule,
    section_title,
    shrink_to_fit,
    use_font,
    wrap,
    write_lines,
)

# Customer-facing words, in English. Other languages come from the gettext catalogue (app/translations), the
# same one the pages use, so the Hindi of a bill is the Hindi of the bill page.
LABELS = {
    "bill_title": N_("Electricity bill"),
    "revised": N_("Revised bill (revision %(revision)s)"),
    "bill_number": N_("Bill number"),
    "issue_date": N_("Issue date"),
    "billing_period": N_("Billing period"),
    "due_date": N_("Due date"),
    "consumer_details": N_("Consumer details"),
    "consumer_number": N_("Consumer number"),
    "holder": N_("Name"),
    "address": N_("Address"),
    "category": N_("Category"),
    "tariff": N_("Tariff"),
    "sanctioned_load": N_("Sanctioned load"),
    "amount_due": N_("Amount due"),
    "bill_total": N_("Total of this bill"),
    "pay_by": N_("Pay by %(due_date)s"),
    "after_due": N_("Amount payable after the due date"),
    "rebate": N_("Pay by %(date)s to save %(amount)s"),
    "meter_readings": N_("Meter readings"),
    "meter": N_("Meter"),
    "previous_reading": N_("Previous reading"),
    "current_reading": N_("Current reading"),
    "date": N_("Date"),
    "reading": N_("Reading"),
    "multiplying_factor": N_("Multiplying factor"),
    "estimated_reading": N_("Estimated — no reading this period"),
    "consumption": N_("Consumption (units)"),
    "estimated": N_("estimated"),
    "settled": N_("The meter recorded %(recorded)s units; %(settled)s of them were billed before on estimate."),
    "charges": N_("Charges for this period"),
    "description": N_("Description"),
    "amount": N_("Amount"),
    "current_charges": N_("Current charges"),
    "account_summary": N_("Account summary"),
    "previous_balance": N_("Previous balance"),
    "payments_since": N_("Payments and adjustments"),
    "arrears": N_("Arrears"),
    "late_fee": N_("Late payment fee"),
    "pay_with_upi": N_("Pay with UPI"),
    "qr_caption": N_("Scan with any UPI app to pay %(amount)s"),
    "cancelled": N_("CANCELLED"),
    "cancelled_note": N_("This bill has been cancelled. Do not pay it."),
    "nothing_to_pay": N_("Nothing to pay this time."),
    "usage_history": N_("Units used in recent bills"),
    "footer": N_("This bill is computed from the tariff approved by the regulator. "
                 "We never ask you to pay via links in SMS/WhatsApp."),
}

# The bill's own grid, in millimetres (the page's is in app/pdf/page.py).
LEFT_W = 114
RIGHT_X = MARGIN + LEFT_W + 6
RIGHT_W = PAGE_W - MARGIN - RIGHT_X
UTILITY_NAME_W = 102  # the header's left part; bill number, dates and period sit right of it
BAND_H = 48  # the last band: usage chart (left) and UPI box (right), right below the charges
BAND_GAP = 8
LAST_BAND_TOP = FOOTER_Y - 4 - BAND_H  # as low as that band may start
QR_SIZE = 32


def translate(text: str, language: str) -> str:
    """`text` (English, as marked with N_) in `language`, from the compiled catalogue."""
    return catalogue(LOCALES[language]).gettext(text)


def label(key: str, language: str, **values: object) -> str:
    """A fixed customer-facing text in `language`, with %(placeholders)s filled in."""
    text = translate(LABELS[key], language)
    return text % values if values else text


def line_label(line: StatementLine, language: str) -> str:
    if language == "en":
        return line.label  # the tariff's own words
    return translated_line_label(line.code, line.label, lambda name: translate(name, language))


def number(value: Decimal, language: str) -> str:
    return format_decimal(value, locale=LOCALES[language])


def day(value: date | None, language: str) -> str:
    return format_date(value, "d MMM yyyy", locale=LOCALES[language]) if value else "—"


def month(point: UsagePoint, language: str) -> str:
    """Nov 26 / नव॰ 26, when the point says which month it is; its own label otherwise."""
    return format_date(point.period_end, "MMM yy", locale=LOCALES[language]) if point.period_end else point.label


def render_bill_pdf(statement: Statement, language: str = "en") -> bytes:
    """The bill as one A4 page of PDF, every fixed text in `language` ("en" or "hi")."""
    if language not in LOCALES:
        raise ValueError(f"unsupported language {language!r}: use one of {', '.join(LOCALES)}")
    pdf = new_document(statement, language)
    draw_header(pdf, statement, language)
    y = HEADER_H + 6
    y = max(draw_consumer(pdf, statement, language, y), draw_amount_due(pdf, statement, language, y)) + 6
    y = draw_meter_readings(pdf, statement, language, y) + 6
    charges_end = draw_charges(pdf, statement, language, y, bottom=LAST_BAND_TOP - BAND_GAP)
    y = max(charges_end, draw_account_summary(pdf, statement, language, y)) + BAND_GAP
    draw_usage_chart(pdf, statement, language, y)
    draw_payment_box(pdf, statement, language, y)
    draw_footer(pdf, language)
    if statement.cancelled:
        draw_cancelled_stamp(pdf, language)
    return bytes(pdf.output())


# --- document and text helpers ---


def new_document(statement: Statement, language: str) -> FPDF:
    # The same statement always gives the same bytes.
    return new_pdf(f"{statement.utility_name}: {label('bill_title', language)} {statement.bill_number}",
                   statement.utility_name, datetime.combine(statement.issued_on, time(), tzinfo=UTC), language)


# --- sections, top to bottom; each returns the y where it ends ---


def draw_header(pdf: FPDF, statement: Statement, language: str) -> None:
    pdf.set_fill_color(*BRAND)
    pdf.rect(0, 0, PAGE_W, HEADER_H, style="F")
    draw_utility_name(pdf, statement.utility_name, width=UTILITY_NAME_W)
    use_font(pdf, 10.5, colour=HEADER_MUTED)
    put(pdf, MARGIN, 15, UTILITY_NAME_W, 6, label("bill_title", language))
    if statement.revision > 0:
        draw_revision_badge(pdf, label("revised", language, revision=statement.revision))

    period = f"{day(statement.period_start, language)} – {day(statement.period_end, language)}"
    facts = (
        (label("bill_number", language), statement.bill_number),
        (label("issue_date", language), day(statement.issued_on, language)),
        (label("billing_period", language), period),
    )
    key_x, value_x = MARGIN + UTILITY_NAME_W + 4, MARGIN + UTILITY_NAME_W + 34
    value_w = PAGE_W - MARGIN - value_x
    for row, (key, value) in enumerate(facts):
        y = 6 + row * 6
        use_font(pdf, 8, colour=HEADER_MUTED)
        put(pdf, key_x, y, value_x - key_x, 6, key)
        pdf.set_text_color(255, 255, 255)
        shrink_to_fit(pdf, value, value_w, 9, bold=True)
        put(pdf, value_x, y, value_w, 6, value, align="R")


def draw_revision_badge(pdf: FPDF, text: str) -> None:
    use_font(pdf, 8, bold=True, colour=BRAND)
    width = pdf.get_string_width(text) + 6
    pdf.set_fill_color(255, 214, 102)
    pdf.rect(MARGIN, 21.5, width, 5.5, style="F", round_corners=True, corner_radius=1.5)
    put(pdf, MARGIN, 21.5, width, 5.5, text, align="C")


def draw_consumer(pdf: FPDF, statement: Statement, language: str, y: float) -> float:
    y = section_title(pdf, MARGIN, y, LEFT_W, label("consumer_details", language))
    key_w, value_w = 34, LEFT_W - 34
    rows = (  # key, value, lines it may take
        ("consumer_number", statement.consumer_number, 1),
        ("holder", statement.holder_name, 2),
        ("address", statement.address, 3),
        ("category", statement.category, 1),
        ("tariff", statement.tariff_name, 2),
        ("sanctioned_load", f"{number(statement.sanctioned_load_kw, language)} kW", 1),
    )
    for key, value, max_lines in rows:
        use_font(pdf, 8, colour=MUTED)
        put(pdf, MARGIN, y, key_w, 5, label(key, language))
        if key == "consumer_number":
            draw_wrapped(pdf, MARGIN + key_w, y, value_w, value, max_lines, size=10, bold=True)
            y += 5
        else:
            y = draw_wrapped(pdf, MARGIN + key_w, y, value_w, value, max_lines)
    return y


def draw_amount_due(pdf: FPDF, statement: Statement, language: str, y: float) -> float:
    x, w, pad = RIGHT_X, RIGHT_W, 4
    payable = is_payable(statement)
    offers_rebate = statement.prompt_rebate > 0 and statement.prompt_by is not None and payable
    after_due = statement.after_due_amount if payable else None
    height = 36 + (11 if after_due is not None else 0) + (10 if offers_rebate else 0)
    pdf.set_fill_color(*BRAND_LIGHT)
    pdf.rect(x, y, w, height, style="F", round_corners=True, corner_radius=2)

    use_font(pdf, 9, bold=True, colour=BRAND)
    # "Amount due" only where money is asked for: a paid or superseded bill states its total.
    put(pdf, x + pad, y + 3, w - 2 * pad, 5, label("amount_due" if payable else "bill_total", language))
    amount = money(statement.total_due, language)
    pdf.set_text_color(*TEXT)
    shrink_to_fit(pdf, amount, w - 2 * pad, 22, bold=True)
    put(pdf, x + pad, y + 9, w - 2 * pad, 11, amount)

    use_font(pdf, 8, colour=MUTED)
    put(pdf, x + pad, y + 21, w - 2 * pad, 5, label("due_date", language))
    use_font(pdf, 11, bold=True)
    put(pdf, x + pad, y + 25.5, w - 2 * pad, 6, day(statement.due_date, language))
    bottom = y + 33.5

    if after_due is not None:  # every Indian bill states it: the surcharge is no surprise
        use_font(pdf, 8, colour=MUTED)
        shrink_to_fit(pdf, label("after_due", language), w - 2 * pad, 8)
        put(pdf, x + pad, bottom, w - 2 * pad, 5, label("after_due", language))
        use_font(pdf, 11, bold=True)
        put(pdf, x + pad, bottom + 4.5, w - 2 * pad, 6, money(after_due, language))
        bottom += 11

    if offers_rebate:
        rule(pdf, x + pad, bottom, w - 2 * pad, RULE)
        text = label(
            "rebate", language, date=day(statement.prompt_by, language), amount=money(statement.prompt_rebate, language)
        )
        use_font(pdf, 8.5, bold=True, colour=GOOD)
        write_lines(pdf, x + pad, bottom + 1.5, w - 2 * pad, text, 4.2, max_lines=2)
    return y + height


def draw_meter_readings(pdf: FPDF, statement: Statement, language: str, y: float) -> float:
    y = section_title(pdf, MARGIN, y, CONTENT_W, label("meter_readings", language))
    columns = (40, 30, 30, 30, 30, CONTENT_W - 160)  # meter | prev date, value | curr date, value | MF
    xs = [MARGIN + sum(columns[:i]) for i in range(len(columns))]
    draw_meter_header(pdf, language, xs, columns, y)
    y += 10
    for read in statement.reads or (None,):
        draw_meter_row(pdf, statement, language, read, xs, columns, y)
        y += 5.5
        rule(pdf, MARGIN, y, CONTENT_W)

    y += 1.5
    units = number(statement.units, language)
    if statement.estimated:
        units = f"{units} ({label('estimated', language)})"
    use_font(pdf, 9, bold=True)
    put(pdf, MARGIN, y, 70, 6, label("consumption", language))
    use_font(pdf, 11, bold=True, colour=WARN if statement.estimated else BRAND)
    put(pdf, MARGIN + 70, y, CONTENT_W - 70, 6, units, align="R")
    if statement.recorded_units is not None and statement.recorded_units != statement.units:
        y += 6
        use_font(pdf, 8, colour=MUTED)
        settled = statement.recorded_units - statement.units
        put(pdf, MARGIN, y, CONTENT_W, 4.5, label("settled", language, recorded=number(statement.recorded_units,
                                                                                         language),
                                                 settled=number(settled, language)))
        return y + 4.5
    return y + 6


def draw_meter_header(pdf: FPDF, language: str, xs: list[float], columns: tuple[float, ...], y: float) -> None:
    pdf.set_fill_color(*SHADE)
    pdf.rect(MARGIN, y, CONTENT_W, 10, style="F")
    use_font(pdf, 8, bold=True, colour=MUTED)
    put(pdf, xs[0] + 1.5, y, columns[0], 10, label("meter", language))
    put(pdf, xs[1], y, columns[1] + columns[2], 5, label("previous_reading", language), align="C")
    put(pdf, xs[3], y, columns[3] + columns[4], 5, label("current_reading", language), align="C")
    draw_column_title(pdf, xs[5] + 1, y, columns[5] - 2.5, label("multiplying_factor", language))
    rule(pdf, xs[1] + 2, y + 5, columns[1] + columns[2] - 4)
    rule(pdf, xs[3] + 2, y + 5, columns[3] + columns[4] - 4)
    use_font(pdf, 7.5, colour=MUTED)
    for column in (1, 3):
        put(pdf, xs[column], y + 5, columns[column], 5, label("date", language), align="C")
        put(pdf, xs[column + 1], y + 5, columns[column + 1], 5, label("reading", language), align="C")


def draw_column_title(pdf: FPDF, x: float, y: float, w: float, text: str) -> None:
    """A title kept inside its column (right-aligned): one line if it fits, else two, never over its neighbour."""
    lines = wrap(pdf, text, w)
    if len(lines) == 1:
        put(pdf, x, y, w, 10, text, align="R")
    else:
        write_lines(pdf, x, y + 0.5, w, text, 4.5, max_lines=2, align="R")


def draw_meter_row(
    pdf: FPDF,
    statement: Statement,
    language: str,
    read: MeterRead | None,
    xs: list[float],
    columns: tuple[float, ...],
    y: float,
) -> None:
    use_font(pdf, 9)
    put(pdf, xs[0] + 1.5, y, columns[0] - 1.5, 5.5, read.meter_serial if read else "—")
    if read is None:
        use_font(pdf, 9, bold=True, colour=WARN)
        put(pdf, xs[1], y, sum(columns[1:5]), 5.5, label("estimated_reading", language), align="C")
    else:
        cells = [day(read.previous_date, language), reading(read.previous_value, language)]
        if not statement.estimated:
            cells += [day(read.current_date, language), reading(read.current_value, language)]
        for column, text in enumerate(cells, start=1):
            put(pdf, xs[column], y, columns[column], 5.5, text, align="C")
        if statement.estimated:  # the previous (actual) reading is known; the current one was estimated
            text = label("estimated_reading", language)
            shrink_to_fit(pdf, text, columns[3] + columns[4] - 2, 9, bold=True)
            pdf.set_text_color(*WARN)
            put(pdf, xs[3], y, columns[3] + columns[4], 5.5, text, align="C")
    use_font(pdf, 9)
    factor = number(read.multiplying_factor, language) if read else "—"
    put(pdf, xs[5], y, columns[5] - 1.5, 5.5, factor, align="R")


def reading(value: Decimal | None, language: str) -> str:
    return number(value, language) if value is not None else "—"


def draw_charges(pdf: FPDF, statement: Statement, language: str, y: float, bottom: float) -> float:
    x, w = MARGIN, LEFT_W
    y = section_title(pdf, x, y, w, label("charges", language))
    amount_w = 32
    line_h, row_h, show_rows = charge_row_heights(statement, available=bottom - y - 13)

    for line in statement.lines:
        use_font(pdf, 9)
        text = line_label(line, language)
        shrink_to_fit(pdf, text, w - amount_w - 2, 9)
        put(pdf, x, y, w - amount_w, line_h, text)
        use_font(pdf, 9)
        put(pdf, x + w - amount_w, y, amount_w, line_h, money(line.amount, language), align="R")
        y += line_h
        if show_rows:
            y = draw_slab_rows(pdf, line, language, x + 5, y, w - amount_w - 5, row_h)

    rule(pdf, x, y + 1, w, TEXT, 0.3)
    use_font(pdf, 10, bold=True)
    put(pdf, x, y + 2, w - amount_w, 7, label("current_charges", language))
    put(pdf, x + w - amount_w, y + 2, amount_w, 7, money(statement.current_charges, language), align="R")
    return y + 9


def charge_row_heights(statement: Statement, available: float) -> tuple[float, float, bool]:
    """Row heights that fit every line (and its slab rows, if there is room) into `available` mm."""
    lines = len(statement.lines)
    rows = sum(len(line.rows) for line in statement.lines)
    for line_h, row_h in ((5.2, 4.4), (4.6, 3.8), (4.2, 3.4)):
        if lines * line_h + rows * row_h <= available:
            return line_h, row_h, True
    # Too many slabs for one page: the line totals still add up, the slab detail is left out.
    return min(5.2, available / max(lines, 1)), 0, False


def draw_slab_rows(pdf: FPDF, line: StatementLine, language: str, x: float, y: float, w: float, h: float) -> float:
    for row in line.rows:
        text = f"{number(row.quantity, language)} × {rate(row.rate, language)} = {money(row.amount, language)}"
        span = slab_range(row, lambda value: number(value, language), lambda words: translate(words, language))
        if span:
            text = f"{span}: {text}"
        use_font(pdf, 7.5, colour=MUTED)
        shrink_to_fit(pdf, text, w, 7.5)
        put(pdf, x, y, w, h, text)
        y += h
    return y


def draw_account_summary(pdf: FPDF, statement: Statement, language: str, y: float) -> float:
    x, w = RIGHT_X, RIGHT_W
    y = section_title(pdf, x, y, w, label("account_summary", language))
    rows = [
        ("previous_balance", statement.previous_balance),
        ("payments_since", -statement.payments_since),  # shown as what it takes off the balance
        ("arrears", statement.arrears),
        ("current_charges", statement.current_charges),
    ]
    if statement.late_fee:
        rows.append(("late_fee", statement.late_fee))
    for key, amount in rows:
        use_font(pdf, 8.5, colour=TEXT if key != "payments_since" else GOOD)
        put(pdf, x, y, w - 28, 5.5, label(key, language))
        put(pdf, x + w - 28, y, 28, 5.5, money(amount, language), align="R")
        y += 5.5
    rule(pdf, x, y + 1, w, TEXT, 0.3)
    use_font(pdf, 10, bold=True, colour=BRAND)
    put(pdf, x, y + 2, w - 30, 7, label("amount_due" if is_payable(statement) else "bill_total", language))
    put(pdf, x + w - 30, y + 2, 30, 7, money(statement.total_due, language), align="R")
    use_font(pdf, 8, colour=MUTED)
    if is_payable(statement):
        put(pdf, x, y + 9, w, 5, label("pay_by", language, due_date=day(statement.due_date, language)), align="R")
    return y + 14


def draw_usage_chart(pdf: FPDF, statement: Statement, language: str, top: float) -> None:
    x, w = MARGIN, LEFT_W
    points = statement.history[-6:]
    if not points:
        return
    y = section_title(pdf, x, top, w, label("usage_history", language))
    plot_top, plot_bottom = y + 6, top + BAND_H - 6
    highest = max(float(point.units) for point in points)
    highest = highest if highest > 0 else 1.0  # all zero: flat bars, no division by zero
    slot = w / 6  # six slots whatever the count, so bars keep one width from bill to bill
    bar_w = slot * 0.55
    left = x + (w - slot * len(points)) / 2
    for index, point in enumerate(points):
        is_this_bill = index == len(points) - 1
        bar_h = max(0.0, (plot_bottom - plot_top) * float(point.units) / highest)
        bar_x = left + index * slot + (slot - bar_w) / 2
        pdf.set_fill_color(*(BRAND if is_this_bill else BAR))
        if bar_h > 0:
            pdf.rect(bar_x, plot_bottom - bar_h, bar_w, bar_h, style="F")
        use_font(pdf, 7.5, bold=is_this_bill, colour=TEXT if is_this_bill else MUTED)
        put(pdf, left + index * slot, plot_bottom - bar_h - 4.5, slot, 4, number(point.units, language), align="C")
        put(pdf, left + index * slot, plot_bottom + 0.8, slot, 4.5, month(point, language), align="C")
    rule(pdf, x, plot_bottom, w, MUTED, 0.3)


def draw_payment_box(pdf: FPDF, statement: Statement, language: str, top: float) -> None:
    x, w = RIGHT_X, RIGHT_W
    y = section_title(pdf, x, top, w, label("pay_with_upi", language))
    if statement.cancelled:  # never offer a way to pay a bill that no longer stands
        use_font(pdf, 9, bold=True, colour=STAMP)
        write_lines(pdf, x, y + 4, w, label("cancelled_note", language), 4.5)
        return
    if not is_payable(statement):
        use_font(pdf, 9, bold=True, colour=GOOD)
        write_lines(pdf, x, y + 4, w, label("nothing_to_pay", language), 4.5)
        return
    pdf.image(upi_qr_png(statement.upi_uri), x=x, y=y + 1, w=QR_SIZE, h=QR_SIZE)
    owed = statement.pay_amount if statement.pay_amount is not None else statement.total_due
    caption = label("qr_caption", language, amount=money(owed, language))
    use_font(pdf, 8.5)
    write_lines(pdf, x + QR_SIZE + 3, y + 3, w - QR_SIZE - 3, caption, 4.2, max_lines=6)


def is_payable(statement: Statement) -> bool:
    """Whether the bill asks for money: not when cancelled, paid, superseded or in credit."""
    return statement.payable and not statement.cancelled and statement.total_due > 0 and bool(statement.upi_uri)


def upi_qr_png(uri: str) -> io.BytesIO:
    buffer = io.BytesIO()
    # Medium error correction survives a crease or a smudge; a quiet zone of 2 modules is plenty on white.
    segno.make(uri, error="m").save(buffer, kind="png", scale=6, border=2)
    buffer.seek(0)
    return buffer


def draw_footer(pdf: FPDF, language: str) -> None:
    rule(pdf, MARGIN, FOOTER_Y, CONTENT_W)
    use_font(pdf, 7.5, colour=MUTED)
    write_lines(pdf, MARGIN, FOOTER_Y + 1.5, CONTENT_W, label("footer", language), 3.8, max_lines=3, align="C")


def draw_cancelled_stamp(pdf: FPDF, language: str) -> None:
    text = label("cancelled", language)
    centre_x, centre_y = PAGE_W / 2, PAGE_H / 2 - 10
    use_font(pdf, 54, bold=True, colour=STAMP)
    width, height = pdf.get_string_width(text) + 16, 28
    with pdf.local_context(fill_opacity=0.55, stroke_opacity=0.55), pdf.rotation(25, centre_x, centre_y):
        pdf.set_draw_color(*STAMP)
        pdf.set_line_width(1.5)
        pdf.rect(centre_x - width / 2, centre_y - height / 2, width, height, round_corners=True, corner_radius=3)
        put(pdf, centre_x - width / 2, centre_y - height / 2, width, height, text, align="C")
