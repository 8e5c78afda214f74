"""The payment receipt as a one-page PDF, in English or Hindi, drawn with the PDF kit (app/pdf) that bills use too.

Pure: no Flask request, no database; it draws a `ReceiptView`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from babel.dates import format_datetime

from app.db import INDIA
from app.payments.queries import ReceiptView
from app.pdf.fonts import new_pdf
from app.pdf.formats import LOCALES, money
from app.pdf.page import BRAND, CONTENT_W, FOOTER_Y, GOOD, HEADER_H, HEADER_MUTED, MARGIN, MUTED, PAGE_W, STAMP
from app.pdf.text import draw_utility_name, draw_wrapped, put, rule, section_title, shrink_to_fit, use_font, write_lines

LABELS = {
    "en": {
        "title": "Payment receipt",
        "receipt_number": "Receipt number",
        "paid_on": "Paid on",
        "received_from": "Received from",
        "consumer_number": "Consumer number",
        "holder": "Name",
        "address": "Address",
        "payment": "Payment",
        "amount": "Amount received",
        "method": "Paid by",
        "reference": "Our reference",
        "gateway_id": "Gateway payment ID",
        "instrument": "Cheque / draft",
        "utr": "Bank reference (UTR)",
        "rebate": "Rebate credited on bill {bill}",
        "refunded": "Refunded",
        "refunded_stamp": "REFUNDED",
        "bounced_stamp": "RETURNED UNPAID",
        "credited": "Credited to your account. Thank you.",
        "clearing": "Received subject to clearing: it counts as paid once the bank clears it.",
        "footer": "A computer-generated receipt; it needs no signature. "
        "We never ask you to pay via links in SMS/WhatsApp.",
        "methods": {"upi": "UPI", "gateway": "Online (UPI, card or net banking)", "cash": "Cash",
                    "cheque": "Cheque", "demand_draft": "Demand draft"},
    },
    "hi": {
        "title": "भुगतान रसीद",
        "receipt_number": "रसीद संख्या",
        "paid_on": "भुगतान तिथि",
        "received_from": "भुगतानकर्ता",
        "consumer_number": "उपभोक्ता संख्या",
        "holder": "नाम",
        "address": "पता",
        "payment": "भुगतान",
        "amount": "प्राप्त राशि",
        "method": "भुगतान का तरीका",
        "reference": "हमारा संदर्भ",
        "gateway_id": "गेटवे भुगतान आईडी",
        "instrument": "चेक / ड्राफ्ट",
        "utr": "बैंक संदर्भ (UTR)",
        "rebate": "बिल {bill} पर छूट जमा की गई",
        "refunded": "वापस की गई राशि",
        "refunded_stamp": "वापस",
        "bounced_stamp": "अस्वीकृत",
        "credited": "आपके खाते में जमा कर दिया गया है। धन्यवाद।",
        "clearing": "क्लियरिंग की शर्त पर प्राप्त: बैंक द्वारा क्लियर होने पर ही भुगतान माना जाएगा।",
        "footer": "यह कंप्यूटर द्वारा बनाई गई रसीद है; इस पर हस्ताक्षर की आवश्यकता नहीं है। "
        "हम SMS/WhatsApp में भेजे गए लिंक से भुगतान करने के लिए कभी नहीं कहते।",
        "methods": {"upi": "UPI", "gateway": "ऑनलाइन (UPI, कार्ड या नेट बैंकिंग)", "cash": "नकद", "cheque": "चेक",
                    "demand_draft": "डिमांड ड्राफ्ट"},
    },
}


def label(key: str, language: str, **values: object) -> str:
    return LABELS[language][key].format(**values)


def when(moment: datetime | None, language: str) -> str:
    if moment is None:
        return "—"
    return format_datetime(moment, "d MMM yyyy, HH:mm 'IST'", tzinfo=INDIA, locale=LOCALES[language])


def render_receipt_pdf(receipt: ReceiptView, language: str = "en") -> bytes:
    if language not in LABELS:
        raise ValueError(f"unsupported language {language!r}: use one of {', '.join(LABELS)}")
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
                                        (label("paid_on", language), when(receipt.paid_at, language)))):
        use_font(pdf, 8, colour=HEADER_MUTED)
        put(pdf, key_x, 8 + row * 7, value_x - key_x, 6, key)
        pdf.set_text_color(255, 255, 255)
        shrink_to_fit(pdf, value, value_w, 9, bold=True)
        put(pdf, value_x, 8 + row * 7, value_w, 6, value, align="R")


def _rows(pdf, rows: list[tuple[str, str]], y: float, key_w: float = 50) -> float:
    for key, value in rows:
        use_font(pdf, 9, colour=MUTED)
        put(pdf, MARGIN, y, key_w, 5, key)
        y = draw_wrapped(pdf, MARGIN + key_w, y, CONTENT_W - key_w, value, max_lines=3, size=10) + 1
    return y


def _received_from(pdf, receipt: ReceiptView, language: str, y: float) -> float:
    y = section_title(pdf, MARGIN, y, CONTENT_W, label("received_from", language))
    return _rows(pdf, [(label("consumer_number", language), receipt.consumer_number),
                       (label("holder", language), receipt.holder_name),
                       (label("address", language), receipt.address)], y)


def _payment(pdf, receipt: ReceiptView, language: str, y: float) -> None:
    y = section_title(pdf, MARGIN, y, CONTENT_W, label("payment", language))
    use_font(pdf, 9, colour=MUTED)
    put(pdf, MARGIN, y, 50, 9, label("amount", language))
    use_font(pdf, 20, bold=True, colour=BRAND)
    put(pdf, MARGIN + 50, y, CONTENT_W - 50, 9, money(receipt.amount, language))
    y += 12
    rows = [(label("method", language), LABELS[language]["methods"].get(receipt.method, receipt.method)),
            (label("reference", language), receipt.reference)]
    if receipt.gateway_payment_id:
        rows.append((label("gateway_id", language), receipt.gateway_payment_id))
    if receipt.instrument_number and receipt.method in ("cheque", "demand_draft"):
        rows.append((label("instrument", language), f"{receipt.instrument_number}, {receipt.instrument_bank or ''}"))
    elif receipt.instrument_number:
        rows.append((label("utr", language), receipt.instrument_number))
    if receipt.rebate:
        rows.append((label("rebate", language, bill=receipt.rebate_bill or ""), money(receipt.rebate, language)))
    if receipt.refunded:
        rows.append((label("refunded", language), money(receipt.refunded, language)))
    y = _rows(pdf, rows, y) + 4
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
