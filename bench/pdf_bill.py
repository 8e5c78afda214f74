"""PDF bill benchmark: what does a bill cost beyond a plain one-page PDF made in the same run?

    python bench/pdf_bill.py [--rounds 20]

Renders the sample Delhi bill of tests/unit/test_bill_pdf.py in English and in Hindi (HarfBuzz shaping, the
bundled Noto fonts, a UPI QR code, the usage chart) and, as the baseline, a one-page PDF of the same size with
a paragraph of text in a core font. Prints milliseconds per document and the ratio bill/baseline.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fpdf import FPDF  # noqa: E402

from app.billing.pdf import render_bill_pdf  # noqa: E402
from tests.unit.test_bill_pdf import sample_statement  # noqa: E402

TEXT = "Electricity bill for the period 1 Oct to 31 Oct 2026. Amount due Rs 4,069.05 by 15 Nov 2026. " * 12


def plain_page() -> bytes:
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, TEXT)
    return bytes(pdf.output())


def median_ms(make, rounds: int) -> float:
    make()  # warm: fonts parsed, caches filled, as in a running server
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        make()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    statement = sample_statement()
    baseline = median_ms(plain_page, rounds)
    print(f"baseline (plain one-page PDF): {baseline:6.1f} ms")
    for language in ("en", "hi"):
        bill = median_ms(lambda language=language: render_bill_pdf(statement, language), rounds)
        print(f"bill ({language}):                    {bill:6.1f} ms   ratio bill/baseline {bill / baseline:5.1f}")


if __name__ == "__main__":
    main()
