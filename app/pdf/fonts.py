"""The shipped fonts (never the system's) and a new A4 page set up with them: Noto Sans for Latin text and ₹,
Noto Sans Devanagari as its fallback for Hindi, with HarfBuzz shaping so that matras and conjuncts sit where they
belong and the text stays extractable."""

from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from app.pdf.page import MARGIN

FONT_DIR = Path(__file__).resolve().parents[2] / "static" / "fonts"
LATIN = "NotoSans"
DEVANAGARI = "NotoSansDevanagari"
FONT_FILES = {
    (LATIN, ""): "NotoSans-Regular.ttf",
    (LATIN, "B"): "NotoSans-Bold.ttf",
    (DEVANAGARI, ""): "NotoSansDevanagari-Regular.ttf",
    (DEVANAGARI, "B"): "NotoSansDevanagari-Bold.ttf",
}


def new_pdf(title: str, author: str, created: datetime, language: str) -> FPDF:
    """An A4 page with the shipped fonts, Devanagari fallback and shaping set up (bills, receipts)."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(False)  # the layout fits one page by construction; never spill onto a second
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    for (family, style), filename in FONT_FILES.items():
        pdf.add_font(family, style, FONT_DIR / filename)
    pdf.set_fallback_fonts([DEVANAGARI])  # Latin and ₹ from Noto Sans, Devanagari from its own font
    pdf.set_text_shaping(True)
    pdf.set_lang(language)
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_creator("D-Tech")
    pdf.set_creation_date(created)
    pdf.add_page()
    return pdf
