"""UPI deep links (NPCI's upi://pay), for the pay button and the QR code on bills."""

import re
from decimal import Decimal
from urllib.parse import quote, urlencode

from flask import current_app

REFERENCE = re.compile(r"^[A-Z0-9]{1,35}$")


def upi_reference(text: str) -> str:
    """Our transaction reference `tr`: capital letters and digits only, at most 35."""
    reference = re.sub(r"[^A-Z0-9]", "", text.upper())[:35]
    if not REFERENCE.match(reference):
        raise ValueError(f"cannot make a UPI reference from {text!r}")
    return reference


def upi_link(amount: Decimal, reference: str, note: str) -> str:
    """upi://pay?pa=…&pn=…&am=…&tr=…&tn=…&cu=INR for the utility's collection account."""
    params = {
        "pa": current_app.config["UPI_VPA"],
        "pn": current_app.config["UPI_PAYEE_NAME"],
        "am": f"{amount:.2f}",
        "tr": upi_reference(reference),
        "tn": note[:50],
        "cu": "INR",
    }
    return "upi://pay?" + urlencode(params, quote_via=quote)
