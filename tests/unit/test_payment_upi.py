"""UPI deep links and QR codes: the fields NPCI's upi://pay needs, our reference as `tr`."""

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import segno

from app.payments.services import new_reference
from app.payments.upi import REFERENCE, upi_link, upi_reference


def fields(link: str) -> dict[str, str]:
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc) == ("upi", "pay")
    parsed = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in parsed.values())
    return {key: values[0] for key, values in parsed.items()}


def test_the_link_carries_payee_amount_reference_note_and_currency(app, monkeypatch):
    monkeypatch.setitem(app.config, "UPI_VPA", "dtechpower@upi")
    monkeypatch.setitem(app.config, "UPI_PAYEE_NAME", "D-Tech Power & Light")
    link = upi_link(Decimal("1234.5"), "DTAB12CD34EF56GH", "Electricity 170000000001")
    assert fields(link) == {"pa": "dtechpower@upi", "pn": "D-Tech Power & Light", "am": "1234.50",
                            "tr": "DTAB12CD34EF56GH", "tn": "Electricity 170000000001", "cu": "INR"}
    assert " " not in link and "&amp;" not in link  # spaces and & in the name are percent-encoded


def test_our_references_fit_the_upi_rules():
    references = {new_reference() for _ in range(500)}
    assert len(references) == 500
    assert all(REFERENCE.match(r) and len(r) <= 35 for r in references)


@pytest.mark.parametrize(("text", "expected"), [("bill mh-2026/11-0042", "BILLMH2026110042"),
                                                ("A" * 40, "A" * 35)])
def test_a_reference_is_made_of_capitals_and_digits(text, expected):
    assert upi_reference(text) == expected


def test_a_reference_from_nothing_is_refused():
    with pytest.raises(ValueError):
        upi_reference("--//")


def test_the_note_is_cut_to_fifty_characters(app):
    assert len(fields(upi_link(Decimal("10"), "DT1", "x" * 80))["tn"]) == 50


def test_the_qr_code_encodes_the_same_link_as_an_inline_svg_without_style_attributes(app):
    link = upi_link(Decimal("500.00"), "DTQRTEST0000001", "Electricity 1")
    svg = segno.make(link, error="m").svg_inline(scale=4, border=2, title="UPI QR code")
    assert svg.startswith("<svg") and "style=" not in svg and "<script" not in svg
    assert segno.make(link, error="m").designator.endswith("-M")
