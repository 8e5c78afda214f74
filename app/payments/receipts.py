"""The payment receipt as a one-page PDF, in English or Hindi, drawn with the PDF kit (app/pdf) that bills use too.

Pure: no Flask request, no database; it draws a `ReceiptView`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from babel.dates import format_date, format_datetime

from app.db import INDIA
from app.i18n import N_, amount_in_words, catalogue
from app.payments.queries import BillPaid, ReceiptView
from app.pdf.fonts import new_pdf
from app.pdf.formats import LOCALES, money
from app.pdf.page import BRAND, CONTENT_W, FOOTER_Y, GOOD, HEADER_H, HEADER_MUTED, MARGIN, MUTED, PAGE_W, STAMP
from app.pdf.text import draw_utility_name, draw_wrapped, put, rule, section_title, shrink_to_fit, use_font, write_lines

# Customer-facing words, in English; Hindi comes from the gettext catalogue (app/translations), as the bill's does,
# so the receipt PDF says what the receipt page says.
LABELS = {
    "title": N_("Payment receipt"),
    "receipt_number": N_("Receipt number"),
    "paid_on": N_("Paid on"),
    "received_from": N_("Received from"),
    "consumer_number": N_("Consumer number"),
    "holder": N_("Name"),
    "address": N_("Address"),
    "payment": N_("Payment"),
    "amount": N_("Amount received"),
    "in_words": N_("Amount in words"),
    "method": N_("Paid by"),
    "reference": N_("Our reference"),
    "cashier": N_("Received by"),
    "centre": N_("Collection centre"),
    "gateway_id": N_("Gateway payment ID"),
    "instrument": N_("Cheque / draft"),
    "utr": N_("Bank reference (UTR)"),
    "card": N_("Card"),
    "card_details": N_("ending %(digits)s, approval code %(code)s"),
    "applied_to": N_("Paid towards"),
    "bill_paid": N_("Bill %(number)s (%(start)s – %(end)s)"),
    "advance": N_("Advance: no bill was due"),
    "balance_after": N_("Balance after this payment"),
    # A returned cheque or draft: its receipt says so, and its balance is no longer the account's.
    "received_on": N_("Received on"),
    "returned_cheque": N_("Cheque returned unpaid"),
    "returned_draft": N_("Demand draft returned unpaid"),
    "balance_before_return": N_("Balance after this payment, before it was returned"),
    "still_due": N_("%(amount)s still due"),
    "in_credit": N_("%(amount)s in credit"),
    "nothing_due": N_("Nothing due"),
    "rebate": N_("Rebate on bill %(bill)s"),
    "refunded": N_("Refunded"),
    "refunded_stamp": N_("REFUNDED"),
    "bounced_stamp": N_("RETURNED UNPAID"),
    "credited": N_("Credited to your account. Thank you."),
    "clearing": N_("Received subject to clearing: it counts as paid once the bank clears it."),
    "footer": N_("A computer-generated receipt; it needs no signature. "
                 "We never ask you to pay via links in SMS/WhatsApp."),
}
METHODS = {"upi": N_("UPI"), "gateway": N_("Online"), "cash": N_("Cash"), "cheque": N_("Cheque"),
           "demand_draft": N_("Demand draft"), "card": N_("Card")}


def translate(text: str, language: str) -> str:
    return catalogue(LOCALES[language]).gettext(text)


def label(key: str, language: str, **values: object) -> str:
    text = translate(LABELS[key], language)
    return text % values if values else text


def when(moment: datetime | None, language: str) -> str:
    if moment is None:
        return "—"
    return format_datetime(moment, "d MMM yyyy, HH:mm 'IST'", tzinfo=INDIA, locale=LOCALES[language])


def bill_paid(bill: BillPaid, language: str) -> str:
    """Bill DT-2026-11-0012345 (25 Oct 2026 – 24 Nov 2026)."""
    def day(value):
        return format_date(value, "d MMM yyyy", locale=LOCALES[language])

    return label("bill_paid", language, number=bill.number, start=day(bill.period_start), end=day(bill.period_end))


def balance_words(balance: Decimal, language: str) -> str:
    """₹1,000.00 still due / ₹500.00 in credit / Nothing due."""
    if balance > 0:
        return label("still_due", language, amount=money(balance, language))
    if balance < 0:
        return label("in_credit", language, amount=money(-balance, language))
    return label("nothing_due", language)


def render_receipt_pdf(receipt: ReceiptView, language: str = "en") -> bytes:
    if language not in LOCALES:
        raise ValueError(f"unsupported language {language!r}: use one of {', '.join(LOCALES)}")
    created = receipt.paid_at or datetime(2000, 1, 1, tzinfo=UTC)  # the same receipt always gives the same bytes
    pdf = new_pdf(f"{receipt.utility_name}: {label('title', language)} {receipt.receipt_number}",
                  receipt.utility_name, created, language)
    _header(pdf, receipt, language)
    y = _received_from(pdf, receipt, language, HEADER_H + 8)
    _payment(pdf, receipt, language, y + 6)
    rule(pdf, MARGIN, FOOTER_Y, CONTENT_W)
    use_font(pdf, 7.5, colour=MUTED)
    write_lines(pdf, MARGIN, FOOTER_Y + 1.5, CONTENT_W, label("footer", language), 3.8, max_lines=3, align="C")
    return bytes(pdf.output())


def _header(pdf, receipt: ReceiptView, language: str) -> None:
    pdf.set_fill_color(*BRAND)
    pdf.rect(0, 0, PAGE_W, HEADER_H, style="F")
    draw_utility_name(pdf, receipt.utility_name, width=102)
    use_font(pdf, 10.5, colour=HEADER_MUTED)
    put(pdf, MARGIN, 15, 102, 6, label("title", language))
    key_x, value_x = MARGIN + 106, MARGIN + 136
    value_w = PAGE_W - MARGIN - value_x
    for row, (key, value) in enumerate(((label("receipt_number", language), receipt.receipt_number),
                                        (label(_paid_on_key(receipt), language),
                                         when(receipt.paid_at, language)))):
        use_font(pdf, 8, colour=HEADER_MUTED)
        put(pdf, key_x, 8 + row * 7, value_x - key_x, 6, key)
        pdf.set_text_color(255, 255, 255)
        shrink_to_fit(pdf, value, value_w, 9, bold=True)
        put(pdf, value_x, 8 + row * 7, value_w, 6, value, align="R")


def _paid_on_key(receipt: ReceiptView) -> str:
    return "received_on" if receipt.state == "bounced" else "paid_on"


def _payment_title_key(receipt: ReceiptView) -> str:
    if receipt.state != "bounced":
        return "payment"
    return "returned_draft" if receipt.method == "demand_draft" else "returned_cheque"


def _rows(pdf, rows: list[tuple[str, str]], y: float, key_w: float = 50) -> float:
    for key, value in rows:
        use_font(pdf, 9, colour=MUTED)
        shrink_to_fit(pdf, key, key_w - 2, 9)  # "Rebate on bill DT-2026-10-0000001" must not run into its value
        put(pdf, MARGIN, y, key_w, 5, key)
        lines = max(3, value.count("\n") + 1)  # a payment that cleared several bills names each on its line
        y = draw_wrapped(pdf, MARGIN + key_w, y, CONTENT_W - key_w, value, max_lines=lines, size=10) + 1
    return y


def _received_from(pdf, receipt: ReceiptView, language: str, y: float) -> float:
    y = section_title(pdf, MARGIN, y, CONTENT_W, label("received_from", language))
    return _rows(pdf, [(label("consumer_number", language), receipt.consumer_number),
                       (label("holder", language), receipt.holder_name),
                       (label("address", language), receipt.address)], y)


def _payment(pdf, receipt: ReceiptView, language: str, y: float) -> None:
    y = section_title(pdf, MARGIN, y, CONTENT_W, label(_payment_title_key(receipt), language))
    use_font(pdf, 9, colour=MUTED)
    put(pdf, MARGIN, y, 50, 9, label("amount", language))
    use_font(pdf, 20, bold=True, colour=BRAND)
    put(pdf, MARGIN + 50, y, CONTENT_W - 50, 9, money(receipt.amount, language))
    y += 11
    y = _rows(pdf, _payment_rows(receipt, language), y) + 4
    if receipt.state == "captured":
        use_font(pdf, 10, bold=True, colour=GOOD)
        put(pdf, MARGIN, y, CONTENT_W, 6, label("credited", language))
    elif receipt.state == "clearing":
        use_font(pdf, 10, bold=True)
        put(pdf, MARGIN, y, CONTENT_W, 6, label("clearing", language))
    stamp = {"refunded": "refunded_stamp", "bounced": "bounced_stamp"}.get(receipt.state)
    if stamp:
        use_font(pdf, 28, bold=True, colour=STAMP)
        put(pdf, MARGIN, y + 8, CONTENT_W, 14, label(stamp, language), align="C")


def _payment_rows(receipt: ReceiptView, language: str) -> list[tuple[str, str]]:
    rows = [(label("in_words", language), amount_in_words(receipt.amount, language)),
            (label("method", language), translate(METHODS[receipt.method], language) if receipt.method in METHODS
             else receipt.method),
            (label("reference", language), receipt.reference)]
    if receipt.cashier:
        rows.append((label("cashier", language), receipt.cashier))
    if receipt.centre:
        rows.append((label("centre", language), translate(receipt.centre, language)))
    if receipt.gateway_payment_id:
        rows.append((label("gateway_id", language), receipt.gateway_payment_id))
    if receipt.instrument_number and receipt.method in ("cheque", "demand_draft"):
        rows.append((label("instrument", language), f"{receipt.instrument_number}, {receipt.instrument_bank or ''}"))
    elif receipt.card_last4:
        rows.append((label("card", language), label("card_details", language, digits=receipt.card_last4,
                                                     code=receipt.instrument_number or "")))
    elif receipt.instrument_number:
        rows.append((label("utr", language), receipt.instrument_number))
    if receipt.balance_after is not None:  # on the ledger: where it went, and what is left
        paid = "\n".join(bill_paid(bill, language) for bill in receipt.bills_paid) or label("advance", language)
        rows.append((label("applied_to", language), paid))
    if receipt.rebate:
        rows.append((label("rebate", language, bill=receipt.rebate_bill or ""), money(receipt.rebate, language)))
    if receipt.balance_after is not None:
        key = "balance_before_return" if receipt.state == "bounced" else "balance_after"
        rows.append((label(key, language), balance_words(receipt.balance_after, language)))
    if receipt.refunded:
        rows.append((label("refunded", language), money(receipt.refunded, language)))
    return rows
