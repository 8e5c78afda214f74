"""The one-page PDF bill: layout limits, extractable text in English and Hindi, special states, speed."""

import io
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from PIL import Image
from pypdf import PdfReader

from app.billing.pdf import line_label, render_bill_pdf, upi_qr_png
from app.billing.statement import MeterRead, SlabRow, Statement, StatementLine, UsagePoint
from tests.conftest import missing

D = Decimal


def sample_statement(**changes: object) -> Statement:
    """A Delhi domestic bill: five energy slabs, fixed charge per kW, surcharges, large arrears and a rebate."""
    energy_rows = (
        SlabRow(D("200"), D("3.00"), D("600.00")),
        SlabRow(D("200"), D("4.50"), D("900.00")),
        SlabRow(D("400"), D("6.50"), D("2600.00")),
        SlabRow(D("400"), D("7.00"), D("2800.00")),
        SlabRow(D("250"), D("8.00"), D("2000.00")),
    )
    lines = (
        StatementLine("energy", "Energy charges", D("8900.00"), energy_rows),
        StatementLine(
            "fixed", "Fixed charge (per kW of sanctioned load)", D("1750.00"), (SlabRow(D("7"), D("250"), D("1750")),)
        ),
        StatementLine("ppac", "PPAC", D("1139.55"), (SlabRow(D("10650"), D("0.107"), D("1139.55")),)),
        StatementLine("surcharge", "Surcharge 8%", D("852.00")),
        StatementLine("pension", "Pension trust surcharge", D("404.70")),
        StatementLine("duty", "Electricity tax 5%", D("652.31")),
        StatementLine("rounding", "Rounding off", D("0.44")),
    )
    statement = Statement(
        utility_name="Delhi Power Distribution Ltd",
        bill_number="DT-2026-11-0012345",
        issued_on=date(2026, 11, 24),
        due_date=date(2026, 12, 12),
        period_start=date(2026, 10, 25),
        period_end=date(2026, 11, 24),
        consumer_number="150012345678",
        holder_name="Anita Sharma",
        address="Flat 12B, Pocket C, Mayur Vihar Phase 2, New Delhi 110091",
        category="Domestic",
        tariff_name="DERC Domestic 2019",
        sanctioned_load_kw=D("7"),
        units=D("1450"),
        estimated=False,
        reads=(MeterRead("DL8834521", date(2026, 10, 24), D("48210"), date(2026, 11, 24), D("49660")),),
        lines=lines,
        current_charges=D("13699.00"),
        previous_balance=D("115257.78"),
        payments_since=D("5500.00"),
        arrears=D("109757.78"),
        late_fee=D("0"),
        total_due=D("123456.78"),
        prompt_rebate=D("136.99"),
        prompt_by=date(2026, 12, 5),
        upi_uri="upi://pay?pa=dpdl@hdfcbank&pn=Delhi%20Power&tr=DT2026110012345&am=123456.78&cu=INR",
        history=tuple(
            UsagePoint(label, D(units))
            for label, units in (
                ("Jun 26", "980"),
                ("Jul 26", "1210"),
                ("Aug 26", "1330"),
                ("Sept 26", "1105"),
                ("Oct 26", "890"),
                ("Nov 26", "1450"),
            )
        ),
    )
    return replace(statement, **changes)


def read_pdf(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def page_text(data: bytes) -> str:
    reader = read_pdf(data)
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def hindi_text(data: bytes) -> str:
    """The page's text as poppler's pdftotext reads it.

    Shaped Devanagari puts a reordered cluster's text (बि) on its first glyph (the ि matra) and none on
    the rest, as PDF writers do; pypdf then invents a character from the raw code of each such glyph, poppler
    keeps to the ToUnicode map. So Hindi wording is checked through poppler.
    """
    if shutil.which("pdftotext") is None:
        missing("pdftotext (apt-get install poppler-utils)")
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def squeezed(text: str) -> str:
    """Without whitespace: extractors put stray spaces inside Devanagari clusters (दे य for देय)."""
    return re.sub(r"\s+", "", text)


ESTIMATED = {
    "estimated": True,
    "reads": (MeterRead("DL8834521", date(2026, 10, 24), D("48210"), None, None),),
}
def ranged(statement: Statement) -> Statement:
    """The sample with its energy slabs' ranges, as bills issued now keep them."""
    energy = statement.lines[0]
    bounds = ((0, 200), (200, 400), (400, 800), (800, 1200), (1200, None))
    rows = tuple(replace(row, above=D(above), upto=None if upto is None else D(upto))
                 for row, (above, upto) in zip(energy.rows, bounds, strict=True))
    return replace(statement, lines=(replace(energy, rows=rows), *statement.lines[1:]))


AFTER_DUE = {"after_due_amount": D("125000.49")}


LATE = {"late_fee": D("150.00"), "total_due": D("123606.78"), "prompt_rebate": D("0"), "prompt_by": None}
LONG_TEXTS = {
    "utility_name": "Maharashtra State Electricity Distribution Company Limited (MSEDCL)",
    "holder_name": "अनीता शर्मा / Anita Sharma-Venkataraghavan Iyer",
    "address": "House No. 1234/56, Sector 21-B, Near Old Hanuman Mandir, Behind Government Senior Secondary School, "
    "Opposite Water Tank, Village Rampur Khurd, Tehsil Sadar, District Gautam Buddh Nagar, Uttar Pradesh 201301",
    "tariff_name": "LT-I(B) Residential — Single phase, above 100 units (with time-of-day option)",
    "reads": (
        MeterRead("MH12-OLD-99887766", date(2026, 10, 24), D("99990.5"), date(2026, 11, 3), D("100210.25")),
        MeterRead("MH12-NEW-11223344", date(2026, 11, 3), D("0"), date(2026, 11, 24), D("1230.75"), D("40")),
    ),
    "total_due": D("9876543.21"),
    "revision": 12,
}
MANY_SLABS = {
    "lines": tuple(
        StatementLine(
            "energy", f"Energy block {n}", D("100.00"), tuple(SlabRow(D("10"), D("1"), D("10")) for _ in range(10))
        )
        for n in range(8)
    )
}


CREDIT = {"arrears": D("-15000.00"), "previous_balance": D("-9500.00"), "total_due": D("-1301.00")}
ZERO_USAGE = {"units": D("0"), "history": (UsagePoint("Oct 26", D("0")), UsagePoint("Nov 26", D("0")))}
VARIANTS = {
    "normal": {},
    "estimated": ESTIMATED,
    "late-fee": LATE,
    "many-slabs": MANY_SLABS,
    "long-texts": LONG_TEXTS,
    "cancelled": {"cancelled": True},
    "revised": {"revision": 3},
    "in-credit": CREDIT,
    "zero-usage": ZERO_USAGE,
    "no-history": {"history": ()},
    "no-reads": {"reads": ()},
    "after-due-and-ranges": {**AFTER_DUE, "lines": ranged(sample_statement()).lines},
    "estimated-after-due": {**ESTIMATED, **AFTER_DUE},
}


@pytest.mark.parametrize("language", ["en", "hi"])
@pytest.mark.parametrize("changes", list(VARIANTS.values()), ids=list(VARIANTS))
def test_every_bill_is_one_small_a4_page(language, changes):
    data = render_bill_pdf(sample_statement(**changes), language)

    reader = read_pdf(data)
    assert len(reader.pages) == 1
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(float(width)), round(float(height))) == (595, 842)  # A4 in points
    assert len(data) < 150_000


def test_english_bill_has_the_facts_a_customer_looks_for():
    text = page_text(render_bill_pdf(sample_statement(), "en"))

    assert "150012345678" in text
    assert "DT-2026-11-0012345" in text
    assert "₹1,23,456.78" in text
    assert "12 Dec 2026" in text
    for words in ("Amount due", "Due date", "Meter readings", "Consumption (units)", "Current charges", "Arrears"):
        assert words in text
    assert "Pay by 5 Dec 2026 to save ₹136.99" in squeeze_lines(text)
    assert "Scan with any UPI app to pay ₹1,23,456.78" in squeeze_lines(text)
    assert "We never ask you to pay via links in SMS/WhatsApp." in squeeze_lines(text)


def squeeze_lines(text: str) -> str:
    """Wrapped sentences as one line."""
    return re.sub(r"\s+", " ", text)


def test_slab_rows_show_quantity_rate_and_amount():
    text = squeeze_lines(page_text(render_bill_pdf(sample_statement(), "en")))

    assert "400 × ₹6.50 = ₹2,600.00" in text
    assert "10,650 × ₹0.107 = ₹1,139.55" in text
    assert "₹8,900.00" in text
    assert "₹13,699.00" in text


def test_long_texts_still_show_the_essentials():
    text = squeeze_lines(page_text(render_bill_pdf(sample_statement(**LONG_TEXTS), "en")))

    assert "Maharashtra State Electricity Distribution Company Limited (MSEDCL)" in text
    assert "₹98,76,543.21" in text
    assert "1,00,210.25" in text  # a reading in lakh grouping
    assert "MH12-NEW-11223344" in text
    assert "Sharma-Venkataraghavan Iyer" in text


def test_meter_readings_show_dates_values_and_factor():
    text = page_text(render_bill_pdf(sample_statement(), "en"))

    assert "DL8834521" in text
    assert "24 Oct 2026" in text
    assert "48,210" in text
    assert "49,660" in text
    assert "Estimated" not in text


def test_estimated_bill_shows_its_meter_and_the_reading_it_estimated_from():
    """An estimated bill showed the meter as "—" and no previous reading, although both are known."""
    text = page_text(render_bill_pdf(sample_statement(**ESTIMATED), "en"))

    assert "Estimated — no reading this period" in text
    assert "DL8834521" in text
    assert "24 Oct 2026" in text and "48,210" in text  # the previous, actual reading
    assert "24 Nov 2026 49,660" not in text


def test_hindi_bill_has_hindi_labels_and_indian_amounts():
    text = hindi_text(render_bill_pdf(sample_statement(), "hi"))

    assert squeezed("देय तिथि") in squeezed(text)
    for words in (
        "बिल संख्या",
        "उपभोक्ता संख्या",
        "कुल देय राशि",
        "मीटर रीडिंग",
        "खपत (यूनिट)",
        "ऊर्जा शुल्क",
        "स्थायी शुल्क",
        "विद्युत शुल्क 5%",
        "बकाया",
        "पूर्णांकन",
    ):
        assert squeezed(words) in squeezed(text)
    assert "Amount due" not in text
    assert "150012345678" in text
    assert "₹1,23,456.78" in text
    assert squeezed("12 दिस॰ 2026") in squeezed(text)


def test_hindi_cancelled_stamp():
    text = hindi_text(render_bill_pdf(sample_statement(cancelled=True), "hi"))

    assert "रद्द" in text
    assert squeezed("इसका भुगतान न करें") in squeezed(text)


def test_hindi_estimated_wording():
    text = hindi_text(render_bill_pdf(sample_statement(**ESTIMATED), "hi"))

    assert squeezed("अनुमानित — इस अवधि में रीडिंग नहीं ली गई") in squeezed(text)
    assert "DL8834521" in text and "48,210" in text


def test_slab_rows_say_which_slab():
    """Slab rows showed units × rate but not the slab's range."""
    text = squeeze_lines(page_text(render_bill_pdf(ranged(sample_statement()), "en")))

    assert "up to 200 units: 200 × ₹3.00 = ₹600.00" in text
    assert "201–400 units: 200 × ₹4.50 = ₹900.00" in text
    assert "801–1,200 units: 400 × ₹7.00 = ₹2,800.00" in text
    assert "above 1,200 units: 250 × ₹8.00 = ₹2,000.00" in text
    assert "units: 10,650 × ₹0.107" not in text  # a flat charge has no range

    hindi = squeezed(hindi_text(render_bill_pdf(ranged(sample_statement()), "hi")))
    for words in ("200 यूनिट तक", "201–400 यूनिट", "1,200 यूनिट से ऊपर"):
        assert squeezed(words) in hindi, words


@pytest.mark.parametrize("language", ["en", "hi"])
def test_the_amount_payable_after_the_due_date_is_stated(language):
    data = render_bill_pdf(sample_statement(**AFTER_DUE), language)
    if language == "en":
        text = page_text(data)
        assert "Amount payable after the due date" in text and "₹1,25,000.49" in text
    else:
        text = squeezed(hindi_text(data))
        assert squeezed("देय तिथि के बाद देय राशि") in text and "₹1,25,000.49" in text


def test_no_after_due_amount_without_a_surcharge_or_anything_to_pay():
    assert "after the due date" not in page_text(render_bill_pdf(sample_statement(), "en"))
    paid = sample_statement(**AFTER_DUE, payable=False, pay_amount=D("0.00"), upi_uri="")
    assert "after the due date" not in page_text(render_bill_pdf(paid, "en"))


def word_boxes(data: bytes) -> list[tuple[str, float, float]]:
    """(word, left, right) in millimetres, as poppler lays the page out."""
    if shutil.which("pdftotext") is None:
        missing("pdftotext (apt-get install poppler-utils)")
    html = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=data, capture_output=True, check=True).stdout
    points_to_mm = 25.4 / 72
    return [(word, float(left) * points_to_mm, float(right) * points_to_mm) for left, right, word in
            re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>',
                       html.decode())]


@pytest.mark.parametrize("language", ["en", "hi"])
def test_the_multiplying_factor_title_keeps_clear_of_the_current_reading_rule(language):
    """The "Current reading" header's underline touched its neighbour, "Multiplying factor"."""
    from app.billing.pdf import LABELS, translate

    rule_end = 12 + 40 + 30 + 30 + 2 + 56  # the underline under "Current reading" ends at 170 mm
    title = translate(LABELS["multiplying_factor"], language).split()
    boxes = [box for box in word_boxes(render_bill_pdf(sample_statement(), language)) if box[0] in title]
    assert boxes
    assert all(left >= rule_end + 1 for _word, left, _right in boxes), boxes
    assert all(right <= 210 - 12 + 0.5 for _word, _left, right in boxes), boxes


def test_rebate_sentence_only_when_there_is_a_rebate():
    assert "to save" in page_text(render_bill_pdf(sample_statement(), "en"))
    text = page_text(render_bill_pdf(sample_statement(**LATE), "en"))
    assert "to save" not in text
    assert "Late payment fee" in text
    assert "₹150.00" in text


def test_late_fee_row_only_when_charged():
    assert "Late payment fee" not in page_text(render_bill_pdf(sample_statement(), "en"))


def test_cancelled_bill_is_stamped_and_offers_no_payment():
    data = render_bill_pdf(sample_statement(cancelled=True), "en")
    text = page_text(data)

    assert "CANCELLED" in text
    assert "This bill has been cancelled. Do not pay it." in squeeze_lines(text)
    assert "Scan with any UPI app" not in squeeze_lines(text)
    assert "Pay by" not in text  # neither the rebate nor the due-date prompt
    assert len(read_pdf(data).pages[0].images) == 0


def test_payable_bill_carries_the_upi_qr_code():
    statement = sample_statement()
    images = read_pdf(render_bill_pdf(statement, "en")).pages[0].images

    assert len(images) == 1
    expected = Image.open(upi_qr_png(statement.upi_uri))
    assert images[0].image.convert("L").tobytes() == expected.convert("L").tobytes()


def test_account_in_credit_asks_for_nothing():
    data = render_bill_pdf(sample_statement(**CREDIT), "en")
    text = page_text(data)

    assert "Nothing to pay this time." in text
    assert "-₹1,301.00" in text
    assert "Pay by" not in text
    assert len(read_pdf(data).pages[0].images) == 0


@pytest.mark.parametrize("language", ["en", "hi"])
def test_a_paid_bill_states_its_total_and_never_says_amount_due(language):
    """An old paid bill read "Amount due ₹4,069.05" beside "Nothing to pay this time"."""
    data = render_bill_pdf(sample_statement(payable=False, pay_amount=Decimal("0.00"), upi_uri=""), language)
    text = page_text(data) if language == "en" else squeezed(hindi_text(data))
    if language == "en":
        assert "Nothing to pay this time." in text and "Total of this bill" in text and "Amount due" not in text
    else:
        assert squeezed("इस बिल की कुल राशि") in text and squeezed("देय राशि") not in text
    assert len(read_pdf(data).pages[0].images) == 0


def test_revised_bill_says_which_revision():
    assert "Revised bill (revision 3)" in page_text(render_bill_pdf(sample_statement(revision=3), "en"))
    assert "Revised bill" not in page_text(render_bill_pdf(sample_statement(), "en"))


def test_history_labels_and_units_are_drawn():
    text = page_text(render_bill_pdf(sample_statement(), "en"))

    for label in ("Jun 26", "Sept 26", "Nov 26", "1,330"):
        assert label in text


def test_same_statement_gives_same_bytes():
    assert render_bill_pdf(sample_statement(), "hi") == render_bill_pdf(sample_statement(), "hi")


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="unsupported language"):
        render_bill_pdf(sample_statement(), "fr")


@pytest.mark.parametrize(
    ("code", "english", "hindi"),
    [
        ("energy", "Energy charges", "ऊर्जा शुल्क"),
        ("duty", "Electricity duty 16%", "विद्युत शुल्क 16%"),
        ("fac", "Fuel adjustment charge (FAC)", "ईंधन समायोजन शुल्क"),
        ("green_cess", "Green cess", "Green cess"),  # unknown code: the tariff's own words
    ],
)
def test_line_labels_in_hindi(code, english, hindi):
    line = StatementLine(code, english, D("1"))
    assert line_label(line, "hi") == hindi
    assert line_label(line, "en") == english
